"""Data-parallel training of any cnnlib model on ``torch.distributed``.

The idea fits in four lines. Every process (rank) holds a full copy of the model; at start
the copies are made equal by broadcasting rank 0's parameters; each step, every rank runs
cnnlib's forward and backward on its own shard of the batch; then the gradients are
averaged across ranks with one ``all_reduce`` so every rank applies the same update.

Because the loss is a mean over the batch, the average of the shard gradients (equal
shards) is exactly the gradient of the full batch: R processes on shards of B/R examples
take the same step as one process on B examples. The communication is torch's (gloo on
CPU, NCCL on GPUs); cnnlib only decides what to send. Launch with ``torchrun``::

    torchrun --nproc_per_node 2 my_script.py

Parameters must be torch tensors (``model.to("torch")`` or ``model.to("cuda")``), since the
collectives work on tensors. BatchNorm keeps per-rank batch statistics (as torch's DDP does
without SyncBatchNorm), so its running averages differ between ranks.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = [
    "init_process_group",
    "destroy_process_group",
    "is_initialized",
    "rank",
    "world_size",
    "broadcast_parameters",
    "all_reduce_gradients",
    "shard",
    "DataParallel",
]


def init_process_group(backend: str | None = None) -> None:
    """Join the process group that ``torchrun`` describes in the environment.

    backend: 'gloo' (CPU) or 'nccl' (GPUs); by default NCCL when CUDA is available, else gloo.
    """
    missing = [
        k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f"init_process_group: environment variables {missing} are not set; "
            "launch the script with `torchrun --nproc_per_node N script.py`"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"init_process_group: backend must be 'gloo' or 'nccl', got {backend!r}")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend=backend)


def destroy_process_group() -> None:
    """Leave the process group, if this process is in one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def is_initialized() -> bool:
    """Whether torch.distributed is available and this process has joined a group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank in the group (0 when not distributed)."""
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    """How many processes take part (1 when not distributed)."""
    return dist.get_world_size() if is_initialized() else 1


def _tensor_params(model, what: str):
    params = list(model.parameters())
    for i, p in enumerate(params):
        if not isinstance(p.data, torch.Tensor):
            raise TypeError(
                f"{what}: parameter {i} is a {type(p.data).__name__}, but collectives need torch "
                "tensors; call model.to('torch') (CPU, gloo) or model.to('cuda') (NCCL) first"
            )
    return params


def broadcast_parameters(model, src: int = 0) -> None:
    """Overwrite every rank's parameters with rank `src`'s, in place."""
    if not is_initialized():
        return
    for p in _tensor_params(model, "broadcast_parameters"):
        dist.broadcast(p.data, src=src)


def all_reduce_gradients(model) -> None:
    """Replace every parameter's gradient by its mean over all ranks (one all-reduce each)."""
    if not is_initialized():
        return
    n = world_size()
    for p in _tensor_params(model, "all_reduce_gradients"):
        if p.grad is None:
            p.grad = torch.zeros_like(p.data)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= n


def shard(x, y, rank_: int | None = None, world_size_: int | None = None):
    """This rank's equal slice of a batch: examples [r*B/R, (r+1)*B/R).

    The batch size must be divisible by the number of ranks, so that the mean of the shard
    gradients equals the full-batch gradient exactly.
    """
    r = rank() if rank_ is None else rank_
    n = world_size() if world_size_ is None else world_size_
    b = x.shape[0]
    if b % n:
        raise ValueError(
            f"shard: batch size {b} is not divisible by the world size {n}; "
            "equal shards are needed for the averaged gradient to equal the full-batch gradient"
        )
    if y is not None and y.shape[0] != b:
        raise ValueError(f"shard: x has {b} examples but y has {y.shape[0]}")
    size = b // n
    sl = slice(r * size, (r + 1) * size)
    return x[sl], (None if y is None else y[sl])


class DataParallel:
    """Wrap a cnnlib model for data-parallel training.

    ``DataParallel(model)`` broadcasts rank 0's parameters; ``forward`` runs the local model
    on this rank's shard; ``backward`` runs the local backward and then averages gradients.
    Use it exactly like the model::

        ddp = DataParallel(model)
        loss = loss_fn(ddp(xb_shard), yb_shard)
        ddp.backward(loss_fn.backward())
        optimizer.step()
    """

    def __init__(self, model):
        self.module = model
        broadcast_parameters(model)

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        return self.module.forward(x)

    def backward(self, dout):
        dx = self.module.backward(dout)
        all_reduce_gradients(self.module)
        return dx

    def parameters(self):
        return self.module.parameters()

    def train(self, mode: bool = True):
        self.module.train(mode)
        return self

    def eval(self):
        return self.train(False)
