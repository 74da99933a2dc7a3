"""Data-parallel training of a small CNN on the 8x8 digits, one process or several.

    python -m cnnlib.examples.ddp_digits --steps 20 --out params.npz           # one process
    torchrun --nproc_per_node 2 -m cnnlib.examples.ddp_digits --steps 20 ...   # two processes
    torchrun --nproc_per_node 4 -m cnnlib.examples.ddp_digits --device cuda    # four GPUs (NCCL)

Every rank sees the same sequence of global batches (same seed) and trains on its equal
shard of each; rank 0 writes the final parameters (and timings) to ``--out``. With the same
seed, the parameters after N steps are the same whatever the number of processes.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64, help="global batch, split over ranks")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--out", default=None, help=".npz of final parameters (rank 0)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cpu: gloo; cuda: one GPU per process (LOCAL_RANK), NCCL")  # fmt: skip
    args = p.parse_args(argv)

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
    comm = allreduce_seconds(model)

    if dist.rank() == 0 and args.out:
        params = {
            f"p{i}": np.asarray(p.data.detach().cpu()) for i, p in enumerate(model.parameters())
        }
        np.savez(args.out, **params)
        meta = {
            "world_size": dist.world_size(),
            "seconds": elapsed,
            "steps": args.steps,
            "losses": losses,
            "parameters": sum(int(p.data.numel()) for p in model.parameters()),
            "allreduce_seconds": comm,
        }
        with open(str(args.out) + ".json", "w") as f:
            json.dump(meta, f)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
