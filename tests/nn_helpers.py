"""Compare a cnnlib.nn module with a torch.nn module: same weights, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TOLERANCES, assert_same_library, cuda_available, to_backend, torch

from cnnlib.backend import to_numpy

LAYER_BACKENDS = ["numpy", "torch-cpu", "torch-cuda"]


def layer_backend(name: str) -> str:
    if name == "torch-cuda" and not cuda_available():
        pytest.skip("no CUDA GPU")
    return name


def move(module, backend: str, dtype: str = "float64"):
    """`module` in `dtype` on `backend` (its parameters and buffers)."""
    device = {"numpy": "numpy", "torch-cpu": "torch", "torch-cuda": "cuda"}[backend]
    return module.to(device, dtype=dtype)


def copy_weights(ours, theirs, backend: str, dtype: str = "float64"):
    """Give `ours` (in `dtype` on `backend`) the parameters and buffers of `theirs`.

    `theirs` stays in float64; for float32 its values are first rounded to float32, so
    both compute from the same numbers and torch's float64 result is the reference.
    """
    theirs.double()
    if dtype == "float32":
        theirs.float().double()
    move(ours, backend, dtype)
    ours.load_state_dict(theirs.state_dict())


def compare(ours, theirs, x, backend, rtol=None, atol=None, seed=0, target=None,
            dtype="float64"):  # fmt: skip
    """Forward and backward of `ours` (on `backend`, in `dtype`) and `theirs` (float64 CPU)
    on input `x`.

    Checks the output, the input gradient and every parameter gradient (matched by name),
    all in `dtype`, within helpers.TOLERANCES[dtype] unless rtol/atol are given, and the
    buffers after the forward pass. With `target`, the modules are losses.
    Returns our output as NumPy.
    """
    default_rtol, default_atol = TOLERANCES[dtype]
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    x = np.asarray(x).astype(dtype)
    bx = to_backend(x, backend)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    if target is None:
        out, ref = ours(bx), theirs(tx)
    else:
        out = ours(bx, to_backend(target, backend))
        ref = theirs(tx, torch.from_numpy(target))
    assert_same_library(out, backend) if target is None else None
    assert to_numpy(out).dtype == dtype, f"forward returned {to_numpy(out).dtype}"
    np.testing.assert_allclose(to_numpy(out), ref.detach().numpy(), rtol, atol, err_msg="forward")
    for name, buf in theirs.named_buffers():
        got = dict(ours.named_buffers())[name]
        np.testing.assert_allclose(to_numpy(got), buf.numpy(), rtol, atol, err_msg=name)
    if target is None:
        g = np.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(dtype)
        dx = ours.backward(to_backend(g, backend))
        ref.backward(torch.from_numpy(g.astype(np.float64)))
    else:
        dx = ours.backward()
        ref.backward()
    assert_same_library(dx, backend)
    assert to_numpy(dx).dtype == dtype, f"dx is {to_numpy(dx).dtype}"
    np.testing.assert_allclose(to_numpy(dx), tx.grad.numpy(), rtol, atol, err_msg="dx")
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [n for n, _ in theirs.named_parameters()]
    for name, p in theirs.named_parameters():
        got = ours_params[name].grad
        if p.grad is None:  # frozen in torch: no gradient in cnnlib either
            assert got is None, f"{name} is frozen but got a gradient"
            continue
        assert got is not None, f"no gradient for {name}"
        assert_same_library(got, backend)
        assert to_numpy(got).dtype == dtype, f"{name}.grad is {to_numpy(got).dtype}"
        np.testing.assert_allclose(to_numpy(got), p.grad.numpy(), rtol, atol, err_msg=name)
    return to_numpy(out)
