"""Data-parallel training of a small CNN on the 8x8 digits, one process or several.

    python -m cnnlib.examples.ddp_digits --steps 20 --out params.npz           # one process
    torchrun --nproc_per_node 2 -m cnnlib.examples.ddp_digits --steps 20 ...   # two processes
    torchrun --nproc_per_node 4 -m cnnlib.examples.ddp_digits --device cuda    # four GPUs (NCCL)

Every rank sees the same sequence of global batches (same seed) and trains on its equal
shard of each. Rank 0 prints the world size, the steps, the first and last loss, the time and
the time of one gradient all-reduce, and writes the final parameters (``--out``) and those
numbers (``--out`` + ``.json``). With the same seed, the parameters after N steps are the same
whatever the number of processes (up to rounding), because this model has no random layers
such as dropout: each rank would draw its own masks.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from cnnlib import distributed as dist
from cnnlib import nn, optim
from cnnlib.data import load_digits
from cnnlib.random import manual_seed


def make_model(width: int = 16):
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * 2 * 2, 10),
    )


def allreduce_seconds(model, repeats: int = 20) -> float:
    """Mean seconds of one gradient all-reduce (every parameter's gradient), 0 with one process.

    Timed after the training loop, on gradients of the model's real sizes, between barriers
    so that no rank is still computing.
    """
    if not dist.is_initialized():
        return 0.0
    sync = torch.cuda.synchronize if torch.cuda.is_initialized() else (lambda: None)
    sync()
    torch.distributed.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce_gradients(model)
    sync()  # NCCL returns before the GPU has finished
    torch.distributed.barrier()
    return (time.perf_counter() - start) / repeats


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cnnlib.examples.ddp_digits",
        description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
        formatter_class=_HelpFormatter,
    )
    # fmt: off
    p.add_argument("--steps", type=int, default=20, help="training steps (SGD updates)")
    p.add_argument("--batch-size", type=int, default=64,
                   help="global batch, split equally over the processes")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (SGD, momentum 0.9)")
    p.add_argument("--width", type=int, default=16, help="channels of the first convolution")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights and of the batch order")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                   help="floating-point type of the parameters and images")
    p.add_argument("--out", default=None,
                   help="rank 0 writes the final parameters to this .npz and the timings to "
                   "OUT.json (default: write nothing)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cpu: gloo; cuda: one GPU per process (LOCAL_RANK), NCCL")
    # fmt: on
    return p


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each option's help (none for options without one)."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def mean_over_ranks(values: list, device) -> list:
    """The mean of `values` over the processes: with equal shards, the global batch's loss."""
    if not dist.is_initialized():
        return values
    total = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(total)  # sum
    return (total / dist.world_size()).tolist()


def main(argv=None) -> int:
    args = _parser().parse_args(argv)

    torch.set_num_threads(1)
    distributed = "RANK" in os.environ
    if distributed:
        # with NCCL this also makes GPU number LOCAL_RANK the current device
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    dtype = getattr(torch, args.dtype)
    device = "cuda" if args.device == "cuda" else "torch"

    manual_seed(args.seed)
    model = make_model(args.width).to(device, dtype=dtype)
    # rank 0's weights are broadcast, so every rank starts from the same point
    ddp = dist.DataParallel(model)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    data = load_digits(size=8, seed=args.seed)
    n_train = len(data.y_train)
    if not 1 <= args.batch_size < n_train:
        _parser().error(
            f"argument --batch-size: must be at least 1 and smaller than the {n_train} "
            f"training images, got {args.batch_size}"
        )
    x_all = torch.from_numpy(np.asarray(data.x_train, dtype=np.float64)).to(dtype)
    y_all = torch.from_numpy(np.asarray(data.y_train)).long()
    if args.device == "cuda":
        x_all, y_all = x_all.cuda(), y_all.cuda()
    order = np.random.default_rng(args.seed).permutation(len(y_all))

    losses = []
    start = time.perf_counter()
    for step in range(args.steps):
        lo = (step * args.batch_size) % (len(order) - args.batch_size)
        idx = torch.from_numpy(order[lo : lo + args.batch_size]).to(x_all.device)
        xb, yb = dist.shard(x_all[idx], y_all[idx])
        opt.zero_grad()
        loss = loss_fn(ddp(xb), yb)
        ddp.backward(loss_fn.backward())
        opt.step()
        losses.append(float(loss))
    elapsed = time.perf_counter() - start
    losses = mean_over_ranks(losses, x_all.device)  # each rank's loss is its shard's mean
    comm = allreduce_seconds(model)

    meta = {
        "world_size": dist.world_size(),
        "seconds": elapsed,
        "steps": args.steps,
        "losses": losses,
        "parameters": sum(int(p.data.numel()) for p in model.parameters()),
        "allreduce_seconds": comm,
    }
    if dist.rank() == 0:
        files = []
        if args.out:
            params = {
                f"p{i}": np.asarray(p.data.detach().cpu()) for i, p in enumerate(model.parameters())
            }
            np.savez(args.out, **params)  # which adds .npz to a name without it
            with open(str(args.out) + ".json", "w") as f:
                json.dump(meta, f)
            npz = args.out if str(args.out).endswith(".npz") else f"{args.out}.npz"
            files = [os.path.abspath(npz), os.path.abspath(str(args.out) + ".json")]
        report(meta, args, files)
    dist.destroy_process_group()
    return 0


def report(meta: dict, args, files) -> None:
    """Rank 0's summary of the run, on standard output."""
    n, steps = meta["world_size"], meta["steps"]
    backend = torch.distributed.get_backend() if dist.is_initialized() else "no process group"
    print(f"world size: {n} ({backend}, {args.device})")
    print(f"steps: {steps} of {args.batch_size} examples ({args.batch_size // n} per process)")
    if steps:
        print(f"loss: first {meta['losses'][0]:.4f}, last {meta['losses'][-1]:.4f}")
    per_step = 1e3 * meta["seconds"] / max(steps, 1)
    print(f"time: {meta['seconds']:.3f} s ({per_step:.2f} ms per step)")
    comm = meta["allreduce_seconds"]
    print(f"all-reduce: {1e3 * comm:.3f} ms per call" if n > 1 else "all-reduce: none (1 process)")
    written = ", ".join(files) if files else "none (pass --out PATH to save the parameters)"
    print(f"files written: {written}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
