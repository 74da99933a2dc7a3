"""The one comparison helper the op tests share (after tinygrad's ``helper_test_op``).

``check_op`` runs a cnnlib op forward and backward on a chosen backend and compares the
output and every gradient with torch autograd in float64, using a random upstream gradient.
"""

from __future__ import annotations

import numpy as np

from cnnlib.backend import to_numpy

try:
    import torch
except ImportError:  # numeric gradient checks still run without torch
    torch = None

BACKENDS = ["numpy", "torch-cpu", "array_api_strict", "torch-cuda"]


def cuda_available() -> bool:
    return torch is not None and torch.cuda.is_available()


def to_backend(a, backend: str):
    """A NumPy array (or None / non-array) as an array of `backend`."""
    if a is None or not isinstance(a, np.ndarray):
        return a
    if backend == "numpy":
        return a
    if backend == "torch-cpu":
        return torch.from_numpy(np.array(a, order="C", copy=True))
    if backend == "torch-cuda":
        return torch.from_numpy(np.array(a, order="C", copy=True)).cuda()
    if backend == "array_api_strict":
        import array_api_strict as xps

        return xps.asarray(a)
    raise ValueError(f"unknown backend {backend!r}")


def assert_same_library(result, backend: str):
    """cnnlib must hand back arrays of the library (and device) it was given."""
    if result is None:
        return
    if backend == "numpy":
        assert isinstance(result, np.ndarray), type(result)
    elif backend.startswith("torch"):
        assert isinstance(result, torch.Tensor), type(result)
        assert result.device.type == ("cuda" if backend == "torch-cuda" else "cpu")
    else:
        assert type(result).__module__.startswith("array_api_strict"), type(result)


def check_op(
    forward,
    backward,
    torch_fn,
    args,
    kwargs=None,
    *,
    backend="numpy",
    op=None,
    grad_argnums=None,
    torch_kwargs=None,
    rtol=1e-7,
    atol=1e-10,
    seed=0,
):
    """Compare ``forward``/``backward`` (and ``op``) with ``torch_fn`` under autograd.

    args: positional arguments as NumPy arrays (float64 for the differentiable ones), None
        or plain Python values; arrays are moved to `backend` for cnnlib and to float64
        torch tensors for the reference.
    grad_argnums: indices of the arguments `backward` returns gradients for, in order
        (default: every floating-point array argument that is not None).
    Returns the cnnlib output as a NumPy array.
    """
    kwargs = kwargs or {}
    torch_kwargs = kwargs if torch_kwargs is None else torch_kwargs
    if grad_argnums is None:
        grad_argnums = [
            i
            for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)
        ]

    bargs = [to_backend(a, backend) for a in args]
    out, cache = forward(*bargs, **kwargs)
    assert_same_library(out, backend)
    if op is not None:
        np.testing.assert_allclose(to_numpy(op(*bargs, **kwargs)), to_numpy(out), rtol, atol)

    targs = [
        torch.tensor(a, requires_grad=i in grad_argnums) if isinstance(a, np.ndarray) else a
        for i, a in enumerate(args)
    ]
    ref = torch_fn(*targs, **torch_kwargs)
    np.testing.assert_allclose(to_numpy(out), ref.detach().numpy(), rtol, atol, err_msg="forward")

    rng = np.random.default_rng(seed)
    if ref.ndim == 0:
        g = float(rng.uniform(0.5, 2.0))
        dout = g
        ref.backward(torch.tensor(g, dtype=ref.dtype))
    else:
        g = rng.standard_normal(ref.shape)
        dout = to_backend(g.astype(to_numpy(out).dtype), backend)
        ref.backward(torch.from_numpy(g).to(ref.dtype))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    expected = [targs[i].grad for i in grad_argnums]
    assert len(grads) >= len(expected), f"backward returned {len(grads)} gradients"
    for k, (got, want) in enumerate(zip(grads, expected)):
        if want is None:
            assert got is None, f"gradient {k} should be None"
            continue
        assert_same_library(got, backend)
        assert tuple(got.shape) == tuple(want.shape), f"gradient {k} shape"
        np.testing.assert_allclose(to_numpy(got), want.numpy(), rtol, atol, err_msg=f"gradient {k}")
    return to_numpy(out)
