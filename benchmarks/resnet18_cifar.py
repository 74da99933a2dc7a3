"""Training throughput of ResNet-18 on CIFAR-10-sized images: cnnlib against torch.

    python benchmarks/resnet18_cifar.py                 # on CUDA when torch sees a GPU
    python benchmarks/resnet18_cifar.py --quick         # a tiny CPU run (CI)

The script writes a CIFAR-10 dataset in the real format (the six pickled python batches,
random images) into a temporary folder, then trains for the same number of steps:

- ``cnnlib``: ResNet-18 (the 3x3 stem for 32x32 inputs) through the training command line's
  own code path (``cnnlib.cli.run``), on torch tensors on the device. The first epoch is the
  warm-up; the second is timed (``--steps`` steps of ``--batch-size`` images).
- ``torch``: the same architecture written with ``torch.nn`` here (torchvision is not
  needed), with the same optimizer (SGD, momentum 0.9), batches from the same loader, and the
  same per-step work (the loss and the accuracy read back to the host).

It reports images per second for both and their ratio, and writes a JSON record
(``--out``). It is a benchmark: nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnlib import cli
from cnnlib.data import DataLoader
from cnnlib.models._common import scaled

ROOT = Path(__file__).resolve().parents[1]


def write_cifar10(folder: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    """The six CIFAR-10 python batches (b"data" (N, 3072) uint8, b"labels") in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_batch = -(-n_train // 5)
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        labels = rng.integers(0, 10, size=n)
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            batch = {b"batch_label": name.encode(), b"labels": labels.tolist(), b"data": data}
            pickle.dump(batch, f, protocol=2)  # the protocol of the original files


# ----- ResNet-18 in torch.nn, block for block the same as cnnlib.models.resnet18(small=True)
class BasicBlock(nn.Module):
    def __init__(self, c_in, planes, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, planes, 3, stride, 1, bias=False),
            nn.BatchNorm2d(planes),
            nn.ReLU(),
            nn.Conv2d(planes, planes, 3, 1, 1, bias=False),
            nn.BatchNorm2d(planes),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def torch_resnet18(num_classes=10, in_channels=3, width=1.0) -> nn.Module:
    c0 = scaled(64, width)
    layers = [nn.Conv2d(in_channels, c0, 3, 1, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU()]
    c = c0
    for i in range(4):
        planes = scaled(64 * 2**i, width)
        for j in range(2):
            layers.append(BasicBlock(c, planes, 2 if (i > 0 and j == 0) else 1))
            c = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)


def time_torch(args, data_dir: Path, device: str) -> dict:
    """Images/s of the torch.nn ResNet-18 over --steps steps after --warmup steps."""
    x, y, _, _ = cli.load_data("cifar10", data_dir, args.steps * args.batch_size)
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True)
    x = ((x - mean) / std).astype(np.float32)
    torch.manual_seed(args.seed)
    model = torch_resnet18(width=args.width).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(x, y, args.batch_size, shuffle=True, seed=args.seed,
                        device="torch" if device == "cpu" else device)  # fmt: skip

    def epoch() -> float:
        model.train()
        start = time.perf_counter()
        for xb, yb in loader:
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            loss.item()  # the host reads the loss and the accuracy, as cnnlib.train.fit does
            (logits.argmax(1) == yb).float().mean().item()
        return time.perf_counter() - start

    epoch()  # warm-up: cuDNN picks its algorithms, the allocator fills its pools
    seconds = epoch()
    n_params = sum(p.numel() for p in model.parameters())
    return {"images_per_s": len(x) / seconds, "seconds": seconds, "parameters": n_params}


def time_cnnlib(args, data_dir: Path, device: str) -> dict:
    """Images/s of cnnlib's ResNet-18 trained by the command line's code (epoch 2 of 2)."""
    argv = ["--dataset", "cifar10", "--data-dir", str(data_dir), "--model", "resnet18",
            "--width", str(args.width), "--device", device, "--epochs", "2",
            "--batch-size", str(args.batch_size), "--limit", str(args.steps * args.batch_size),
            "--seed", str(args.seed), "--no-progress"]  # fmt: skip
    metrics = cli.run(cli.parse_args(argv))
    h = metrics["history"]
    n_params = sum(int(np.prod(p.data.shape)) for p in metrics["model"].parameters())
    return {"images_per_s": h["images_per_s"][-1], "seconds": h["seconds"][-1],
            "parameters": n_params}  # fmt: skip


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny width, 2 steps, CPU, 1 thread (CI)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="default: cuda when available, else cpu")  # fmt: skip
    p.add_argument("--steps", type=int, default=20, help="timed steps (after as many warm-up)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (1 = ResNet-18)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/resnet18_cifar.json")
    args = p.parse_args(argv)
    if args.quick:
        args.device, args.steps, args.batch_size, args.width = "cpu", 2, 8, 0.125
        args.threads = args.threads or 1  # tiny ops drown in thread start-up costs
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    # float32 on both sides: cuDNN's convolutions would use TF32 tensor cores by default,
    # while the matrix products cnnlib's convolutions run on do not
    torch.backends.cudnn.allow_tf32 = False

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "cifar-10-batches-py"
        write_cifar10(data_dir, args.steps * args.batch_size, args.batch_size, args.seed)
        results = {
            "cnnlib": time_cnnlib(args, data_dir, args.device),
            "torch": time_torch(args, data_dir, args.device),
        }
    if results["cnnlib"]["parameters"] != results["torch"]["parameters"]:
        raise RuntimeError(f"the two ResNet-18s differ in size: {results}")
    ratio = results["torch"]["images_per_s"] / results["cnnlib"]["images_per_s"]
    for name, r in results.items():
        print(f"{name:7s} {r['images_per_s']:10.1f} images/s  ({r['seconds']:.2f} s timed)")
    print(f"torch is {ratio:.2f}x faster than cnnlib on {args.device}")
    record = {
        "benchmark": "resnet18_cifar",
        "device": args.device,
        "dtype": "float32",
        "batch_size": args.batch_size,
        "timed_steps": args.steps,
        "warmup_steps": args.steps,
        "width": args.width,
        "image_shape": [3, 32, 32],
        "cudnn_benchmark": True,
        "tf32": False,
        "quick": args.quick,
        "results": results,
        "ratio_torch_over_cnnlib": ratio,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
