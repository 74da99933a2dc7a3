"""Compare a cnnlib.nn module with a torch.nn module: same weights, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_same_library, cuda_available, to_backend, torch

from cnnlib.backend import to_numpy

LAYER_BACKENDS = ["numpy", "torch-cpu", "torch-cuda"]


def layer_backend(name: str) -> str:
    if name == "torch-cuda" and not cuda_available():
        pytest.skip("no CUDA GPU")
    return name


def move(module, backend: str):
    """`module` in float64 on `backend` (its parameters and buffers)."""
    device = {"numpy": "numpy", "torch-cpu": "torch", "torch-cuda": "cuda"}[backend]
    return module.to(device, dtype="float64")


def copy_weights(ours, theirs, backend: str):
    """Load torch's (float64) parameters and buffers into `ours` on `backend`."""
    theirs.double()
    move(ours, backend)
    ours.load_state_dict(theirs.state_dict())


def compare(ours, theirs, x, backend, rtol=1e-7, atol=1e-10, seed=0, target=None):
    """Forward and backward of `ours` (on `backend`) and `theirs` (float64 CPU) on input `x`.

    Checks the output, the input gradient and every parameter gradient (matched by name),
    and the buffers after the forward pass. With `target`, the modules are losses.
    Returns our output as NumPy.
    """
    bx = to_backend(x, backend)
    tx = torch.tensor(x, requires_grad=True)
    if target is None:
        out, ref = ours(bx), theirs(tx)
    else:
        out = ours(bx, to_backend(target, backend))
        ref = theirs(tx, torch.from_numpy(target))
    assert_same_library(out, backend) if target is None else None
    np.testing.assert_allclose(to_numpy(out), ref.detach().numpy(), rtol, atol, err_msg="forward")
    for name, buf in theirs.named_buffers():
        got = dict(ours.named_buffers())[name]
        np.testing.assert_allclose(to_numpy(got), buf.numpy(), rtol, atol, err_msg=name)
    if target is None:
        g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
        dx = ours.backward(to_backend(g, backend))
        ref.backward(torch.from_numpy(g))
    else:
        dx = ours.backward()
        ref.backward()
    assert_same_library(dx, backend)
    np.testing.assert_allclose(to_numpy(dx), tx.grad.numpy(), rtol, atol, err_msg="dx")
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [n for n, _ in theirs.named_parameters()]
    for name, p in theirs.named_parameters():
        got = ours_params[name].grad
        assert got is not None, f"no gradient for {name}"
        assert_same_library(got, backend)
        np.testing.assert_allclose(to_numpy(got), p.grad.numpy(), rtol, atol, err_msg=name)
    return to_numpy(out)
