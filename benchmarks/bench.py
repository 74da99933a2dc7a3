"""Benchmark cnnlib against torch on the layer shapes of the book's backbones.

Run ``make bench`` (or ``python benchmarks/bench.py``). For each case it times, in one run and
on the same inputs, forward+backward of:

- ``cnnlib-numpy``: cnnlib on NumPy arrays,
- ``cnnlib-torch``: the same cnnlib code on torch CPU tensors,
- ``torch``: torch's own ops under autograd,
- ``cnnlib-cuda`` and ``torch-cuda`` when a GPU is present,

all in float32. It prints each time, the ratio to torch on the same device, the GFLOP/s
reached, the machine's float32 matmul GFLOP/s (the ceiling any conv can hope for), and
memory: the peak of NumPy's allocations during one forward+backward of cnnlib-numpy
(tracemalloc), the peak CUDA memory of the GPU implementations, and the process's peak
RSS after each case. Everything goes to a JSON record (``--out``, default
``benchmarks/results/latest.json``) with the machine (CPU model, cores, threads, BLAS,
library versions, git commit, date) and a summary: the geometric-mean time ratio to
torch per kind (conv2d, pool, train_step) and device, next to the goals of issue 8
(conv <= 1.5, pool <= 2, train step <= 2 on the CPU). With several CPU threads the CPU
cases run a second time with one thread in torch and in NumPy's BLAS: NumPy's copies
and element-wise passes use one core whatever the setting, so the one-thread ratios
compare the two libraries core for core.

Every contestant of a case runs once before any is timed: the first big arrays of a new
shape cost the process fresh memory (page faults, the allocator growing), and without this
whichever contestant is timed first pays it, up to a third of its time on the ResNet cases.
Then each contestant's runs are timed in one block (after its own warm-up run), not
interleaved with the others': OpenBLAS's and torch's worker threads keep spinning on a core
for a moment after a call, and in turns each library would be timed while the other's threads
still occupy the CPU.

``--quick`` runs tiny shapes with one repeat: CI uses it to see that the script works.
It is a benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnnlib import functional as F

# (name, N, C_in, H, W, C_out, k, stride, padding): layers of the book's backbones
CONV_CASES = [
    ("lenet_c1", 32, 1, 32, 32, 6, 5, 1, 0),
    ("lenet_c3", 32, 6, 14, 14, 16, 5, 1, 0),
    ("resnet_stem_7x7s2", 2, 3, 224, 224, 64, 7, 2, 3),
    ("resnet_3x3_64", 4, 64, 56, 56, 64, 3, 1, 1),
    ("resnet_3x3_128", 8, 128, 28, 28, 128, 3, 1, 1),
    ("bottleneck_1x1_256to64", 4, 256, 56, 56, 64, 1, 1, 0),
]
# (name, kind, N, C, H, W, k, stride, padding)
POOL_CASES = [
    ("resnet_maxpool_3x3s2", "max", 4, 64, 112, 112, 3, 2, 1),
    ("lenet_avgpool_2x2", "avg", 32, 6, 28, 28, 2, 2, 0),
    ("vgg_maxpool_2x2", "max", 8, 128, 56, 56, 2, 2, 0),
]
QUICK_CONV = [("tiny_conv", 2, 3, 12, 12, 4, 3, 1, 1)]
GOALS = {"conv2d": 1.5, "pool": 2.0, "train_step": 2.0}  # issue 8, cnnlib-numpy / torch on the CPU
ROOT = Path(__file__).resolve().parents[1]
QUICK_POOL = [("tiny_maxpool", "max", 2, 3, 12, 12, 2, 2, 0)]


@dataclass
class Result:
    case: str
    kind: str
    device: str
    impl: str
    threads: int  # torch's (and NumPy's BLAS) CPU threads during the run
    seconds: float
    gflop: float
    ratio_to_torch: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def gflops(self) -> float:
        return self.gflop / self.seconds if self.seconds > 0 else float("nan")


def best_time(fn, repeats: int, warmup: int = 1, sync=None) -> float:
    """The minimum wall time of `fn()` over `repeats` runs (after `warmup` runs)."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_gflops(n: int = 1024, repeats: int = 5) -> float:
    """float32 matmul GFLOP/s of NumPy's BLAS on this machine: the ceiling for a conv."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    t = best_time(lambda: a @ b, repeats)
    return 2 * n**3 / t / 1e9


def cuda_matmul_tflops(n: int = 4096, repeats: int = 5) -> float:
    """float32 matmul TFLOP/s of torch on the GPU (TF32 off, as torch's default)."""
    a = torch.randn(n, n, device="cuda")
    t = best_time(lambda: a @ a, repeats, sync=torch.cuda.synchronize)
    return 2 * n**3 / t / 1e12


def conv_gflop(n, c_in, h, w, c_out, k, stride, padding) -> float:
    """FLOPs of forward + backward (dx and dw) of a conv: 3 x 2 x MACs, in GFLOP."""
    oh = (h + 2 * padding - k) // stride + 1
    ow = (w + 2 * padding - k) // stride + 1
    macs = n * c_out * oh * ow * c_in * k * k
    return 3 * 2 * macs / 1e9


def conv_runners(case, device: str):
    """Closures doing forward+backward of one conv case with cnnlib and with torch."""
    _, n, c_in, h, w, c_out, k, s, p = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, h, w), dtype=np.float32)
    wt = rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(c_out, dtype=np.float32)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    g = rng.standard_normal((n, c_out, oh, ow), dtype=np.float32)

    def cnnlib_run(xa, wa, ba, ga):
        def run():
            out, cache = F.conv2d_forward(xa, wa, ba, stride=s, padding=p)
            F.conv2d_backward(ga, cache)

        return run

    runners = {}
    if device == "cpu":
        runners["cnnlib-numpy"] = cnnlib_run(x, wt, b, g)
    tx, tw, tb, tg = (torch.from_numpy(a).to(device) for a in (x, wt, b, g))
    runners["cnnlib-" + ("torch" if device == "cpu" else "cuda")] = cnnlib_run(tx, tw, tb, tg)
    tx_, tw_, tb_ = (t.clone().requires_grad_(True) for t in (tx, tw, tb))

    def torch_run():
        out = torch.nn.functional.conv2d(tx_, tw_, tb_, stride=s, padding=p)
        out.backward(tg)
        tx_.grad = tw_.grad = tb_.grad = None

    runners["torch" if device == "cpu" else "torch-cuda"] = torch_run
    return runners, conv_gflop(n, c_in, h, w, c_out, k, s, p)


def pool_runners(case, device: str):
    _, kind, n, c, h, w, k, s, p = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    g = rng.standard_normal((n, c, oh, ow), dtype=np.float32)
    fwd = F.max_pool2d_forward if kind == "max" else F.avg_pool2d_forward
    bwd = F.max_pool2d_backward if kind == "max" else F.avg_pool2d_backward
    tfn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d

    def cnnlib_run(xa, ga):
        def run():
            out, cache = fwd(xa, k, stride=s, padding=p)
            bwd(ga, cache)

        return run

    runners = {}
    if device == "cpu":
        runners["cnnlib-numpy"] = cnnlib_run(x, g)
    tx, tg = (torch.from_numpy(a).to(device) for a in (x, g))
    runners["cnnlib-" + ("torch" if device == "cpu" else "cuda")] = cnnlib_run(tx, tg)
    tx_ = tx.clone().requires_grad_(True)

    def torch_run():
        tfn(tx_, k, stride=s, padding=p).backward(tg)
        tx_.grad = None

    runners["torch" if device == "cpu" else "torch-cuda"] = torch_run
    # one compare-or-add per window element forward, one scatter backward
    gflop = 2 * n * c * oh * ow * k * k / 1e9
    return runners, gflop


def training_step_runners(quick: bool, device: str = "cpu"):
    """One SGD step (forward, loss, backward, update) of a small CNN on a digits batch.

    On "cpu" cnnlib runs on NumPy arrays; on "cuda" the same model is moved to the GPU.
    """
    from cnnlib import nn, optim
    from cnnlib.data import load_digits
    from cnnlib.random import manual_seed

    data = load_digits(size=8)
    batch = 16 if quick else 64
    xb = np.ascontiguousarray(data.x_train[:batch], dtype=np.float32)
    yb = np.asarray(data.y_train[:batch])

    manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )
    tmodel = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 2 * 2, 10),
    )
    with torch.no_grad():
        for tp, p in zip(tmodel.parameters(), model.parameters()):
            tp.copy_(torch.from_numpy(np.asarray(p.data)))
    txb, tyb = torch.from_numpy(xb).to(device), torch.from_numpy(yb).long().to(device)
    tmodel.to(device)
    if device == "cuda":
        model.to("cuda")
        xb, yb = txb, tyb
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def cnnlib_step():
        opt.zero_grad()
        loss_fn(model(xb), yb)
        model.backward(loss_fn.backward())
        opt.step()

    topt = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9)

    def torch_step():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(txb), tyb).backward()
        topt.step()

    macs = batch * (16 * 8 * 8 * 9 + 32 * 16 * 4 * 4 * 9 + 10 * 128)
    names = ("cnnlib-numpy", "torch") if device == "cpu" else ("cnnlib-cuda", "torch-cuda")
    return dict(zip(names, (cnnlib_step, torch_step))), 3 * 2 * macs / 1e9


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory_mib(impl: str, fn) -> float | None:
    """Peak memory of one call of `fn`, in MiB, where it can be measured.

    cnnlib-numpy: the peak of NumPy's allocations (tracemalloc sees them); CUDA
    implementations: torch's peak allocated GPU memory. torch on the CPU: None.
    """
    if impl == "cnnlib-numpy":
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    if impl.endswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    return None


def run_suite(quick: bool, device: str, repeats: int) -> list[Result]:
    """Every case on one device, with the CPU threads as they are set now."""
    results: list[Result] = []
    suites = [
        ("conv2d", QUICK_CONV if quick else CONV_CASES, conv_runners),
        ("pool", QUICK_POOL if quick else POOL_CASES, pool_runners),
        ("train_step", [("digits_cnn_sgd_step",)], lambda c, d: training_step_runners(quick, d)),
    ]
    sync = torch.cuda.synchronize if device == "cuda" else None
    ref_name = "torch" if device == "cpu" else "torch-cuda"
    threads = torch.get_num_threads()
    for kind, cases, make in suites:
        for case in cases:
            runners, gflop = make(case, device)
            for fn in runners.values():  # warm the process for all: see the module docstring
                fn()
            times = {impl: best_time(fn, repeats, sync=sync) for impl, fn in runners.items()}
            for impl, t in times.items():
                r = Result(case[0], kind, device, impl, threads, t, gflop, t / times[ref_name])
                r.extra["peak_mib"] = peak_memory_mib(impl, runners[impl])
                r.extra["peak_rss_mb"] = peak_rss_mb()
                results.append(r)
                report(r)
    return results


def report(r: Result) -> None:
    mem = r.extra.get("peak_mib")
    print(
        f"{r.kind:10s} {r.case:24s} {r.impl:13s} {r.threads:2d}T {r.seconds * 1e3:9.2f} ms "
        f"{r.gflops:7.2f} GFLOP/s  x{r.ratio_to_torch:5.2f} vs torch"
        + (f"  peak {mem:7.1f} MiB" if mem is not None else ""),
        flush=True,
    )


def geomean(values) -> float:
    values = list(values)
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def summarise(results: list[Result]) -> dict:
    """Geometric-mean ratio to torch per (kind, implementation)."""
    out = {}
    for kind in sorted({r.kind for r in results}):
        for impl in sorted({r.impl for r in results if r.kind == kind}):
            if impl.startswith("torch"):
                continue
            ratios = [r.ratio_to_torch for r in results if r.kind == kind and r.impl == impl]
            out[f"{kind}/{impl}"] = geomean(ratios)
    return out


def summary_block(geomeans: dict, geomeans_1_thread: dict | None) -> dict:
    """Per device (and for the CPU per thread count), the three geometric means of
    issue 8; the CPU ones next to their goals."""
    block = {}
    rows = [
        ("cpu", "cnnlib-numpy", geomeans),
        ("cpu_1_thread", "cnnlib-numpy", geomeans_1_thread or {}),
        ("cpu_torch_tensors", "cnnlib-torch", geomeans),
        ("cuda", "cnnlib-cuda", geomeans),
    ]
    for name, impl, source in rows:
        means = {kind: source.get(f"{kind}/{impl}") for kind in GOALS}
        if all(v is None for v in means.values()):
            continue
        block[name] = {"implementation": impl, "geomean_ratio_to_torch": means}
        if impl == "cnnlib-numpy":
            block[name]["goal"] = dict(GOALS)
            block[name]["meets_goal"] = {
                k: v is not None and v <= GOALS[k] for k, v in means.items()
            }
    return block


def _git(*args) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict]:
    """NumPy's BLAS (library, version, threads, kernel architecture), via threadpoolctl
    when it is installed (scikit-learn brings it), else from NumPy's build config."""
    try:
        from threadpoolctl import threadpool_info

        keys = ("internal_api", "prefix", "version", "num_threads", "architecture")
        return [{k: i.get(k) for k in keys} for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
        blas = deps.get("blas", {})
        return [{"internal_api": blas.get("name"), "version": blas.get("version")}]


def machine_info() -> dict:
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    cuda = torch.cuda.is_available()
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_mkldnn": torch.backends.mkldnn.is_available(),
        "torch_mkl": torch.backends.mkl.is_available(),
        "blas": blas_info(),
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "cuda_version": torch.version.cuda if cuda else None,
        "cuda_tf32": {
            "cudnn": torch.backends.cudnn.allow_tf32,
            "matmul": torch.backends.cuda.matmul.allow_tf32,
        },
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def set_threads(n: int) -> None:
    """Use n threads in torch and in NumPy's BLAS (when threadpoolctl is installed)."""
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n, user_api="blas")
    except ImportError:
        print("threadpoolctl not installed: NumPy's BLAS keeps its own thread count")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat (CI)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results" / "latest.json",
        help="JSON record to write (default: benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch and BLAS threads (default: theirs)"
    )
    parser.add_argument(
        "--devices",
        default="all",
        choices=["all", "cpu", "cuda"],
        help="all: the CPU, and the GPU when CUDA is present",
    )
    parser.add_argument(
        "--no-single-thread",
        action="store_true",
        help="skip the second CPU pass with one thread (it runs when there are several)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 20)
    cuda = torch.cuda.is_available()
    devices = {"all": ["cpu"] + (["cuda"] if cuda else []), "cpu": ["cpu"], "cuda": ["cuda"]}
    devices = devices[args.devices]
    if "cuda" in devices and not cuda:
        parser.error("--devices cuda: no CUDA GPU here")

    # float32 on both sides: cuDNN's convolutions would use TF32 tensor cores by default,
    # while the matrix products cnnlib's convolutions run on do not
    torch.backends.cudnn.allow_tf32 = False
    ceiling = matmul_gflops(256 if args.quick else 1024)
    gpu_ceiling = cuda_matmul_tflops(1024 if args.quick else 4096) if "cuda" in devices else None
    threads = torch.get_num_threads()
    print(
        f"float32 matmul ceiling (NumPy BLAS): {ceiling:.1f} GFLOP/s; torch threads: "
        f"{threads}; devices: {devices}"
    )
    if gpu_ceiling is not None:
        print(f"float32 matmul ceiling on the GPU (torch): {gpu_ceiling:.1f} TFLOP/s")
    results = [r for device in devices for r in run_suite(args.quick, device, repeats)]
    geomeans = summarise(results)
    results_1 = []
    if "cpu" in devices and threads > 1 and not args.quick and not args.no_single_thread:
        print("\nthe CPU again with one thread (per-core speed):")
        set_threads(1)
        results_1 = run_suite(args.quick, "cpu", repeats)
        set_threads(threads)
    geomeans_1 = summarise(results_1) if results_1 else None
    print("\ngeometric-mean time ratio to torch on the same device (lower is better):")
    for key, value in geomeans.items():
        print(f"  {key:28s} {value:6.2f}")
    for key, value in (geomeans_1 or {}).items():
        print(f"  {key + ' (1 thread)':28s} {value:6.2f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MiB")

    record = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/bench.py " + " ".join(argv or sys.argv[1:]),
        "quick": args.quick,
        "repeats": repeats,
        "devices": devices,
        "machine": machine_info(),
        "matmul_gflops_ceiling": ceiling,
        "cuda_matmul_tflops": gpu_ceiling,
        "peak_rss_mb": peak_rss_mb(),
        "results": [asdict(r) | {"gflops": r.gflops} for r in results + results_1],
        "geomean_ratio_to_torch": geomeans,
        "geomean_ratio_to_torch_1_thread": geomeans_1,
        "summary": summary_block(geomeans, geomeans_1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
