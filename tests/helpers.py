"""The one comparison helper the op tests share (after tinygrad's ``helper_test_op``).

``check_op`` runs a cnnlib op forward and backward on a chosen backend and compares the
output and every gradient with torch autograd, using a random upstream gradient, in float64
(rtol 1e-7) or float32 (rtol 1e-4: float32 keeps about 7 significant digits, and a sum of
many products loses a few of them).
"""

from __future__ import annotations

import numpy as np

from cnnlib.backend import to_numpy

try:
    import torch
except ImportError:  # numeric gradient checks still run without torch
    torch = None

BACKENDS = ["numpy", "torch-cpu", "array_api_strict", "torch-cuda"]

# the precisions every op is checked in, with the tolerances check_op uses for each
TOLERANCES = {"float64": (1e-7, 1e-10), "float32": (1e-4, 1e-5)}
DTYPES = list(TOLERANCES)


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


def _is_float_array(a) -> bool:
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


# in float32 a result may differ from float64's by up to this many times torch's own float32
# error on the same array: where the problem is ill-conditioned (batch_norm's input gradient
# over two values per channel cancels almost exactly) both libraries lose the same digits
TORCH_ERROR_SLACK = 8


def _torch_run(torch_fn, args, grad_argnums, torch_kwargs, dtype, seed):
    """torch_fn forward and backward in `dtype` with a seeded random upstream gradient g,
    rounded to the dtype of the checked arrays. Returns (out, grads, g) as NumPy."""
    checked = next((a.dtype for a in args if _is_float_array(a)), np.float64)
    targs = [
        torch.tensor(a.astype(dtype) if _is_float_array(a) else a, requires_grad=i in grad_argnums)
        if isinstance(a, np.ndarray)
        else a
        for i, a in enumerate(args)
    ]
    out = torch_fn(*targs, **torch_kwargs)
    rng = np.random.default_rng(seed)
    if out.ndim == 0:
        g = float(np.asarray(rng.uniform(0.5, 2.0), dtype=checked))
        out.backward(torch.tensor(g, dtype=out.dtype))
    else:
        g = rng.standard_normal(tuple(out.shape)).astype(checked)
        out.backward(torch.from_numpy(g).to(out.dtype))
    grads = [None if targs[i].grad is None else targs[i].grad.numpy() for i in grad_argnums]
    return out.detach().numpy(), grads, g


def _torch_error(torch_fn, args, grad_argnums, torch_kwargs, dtype, seed, ref):
    """Largest |torch in `dtype` - torch in float64| of the output and of each gradient
    (zeros when torch cannot run in `dtype`, e.g. with float64 tensors in torch_kwargs)."""
    zeros = [0.0] * (1 + len(grad_argnums))
    if dtype == "float64":
        return zeros
    try:
        low = _torch_run(torch_fn, args, grad_argnums, torch_kwargs, dtype, seed)
    except (RuntimeError, TypeError):
        return zeros
    pairs = zip([low[0]] + low[1], [ref[0]] + ref[1])
    return [0.0 if b is None else float(np.max(np.abs(a - b), initial=0.0)) for a, b in pairs]


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
    dtype="float64",
    rtol=None,
    atol=None,
    seed=0,
):
    """Compare ``forward``/``backward`` (and ``op``) with ``torch_fn`` under autograd.

    args: positional arguments as NumPy arrays, None or plain Python values. Floating-point
        arrays are cast to `dtype` ("float64" or "float32") and moved to `backend` for
        cnnlib; torch computes the reference in float64 from the same (rounded) values.
        The output and every gradient must come back in `dtype`, within TOLERANCES[dtype]
        (or the given rtol/atol) of torch's; in float32 the absolute tolerance also grows
        by TORCH_ERROR_SLACK times torch's own float32 error on that array.
    grad_argnums: indices of the arguments `backward` returns gradients for, in order
        (default: every floating-point array argument that is not None).
    Returns the cnnlib output as a NumPy array.
    """
    kwargs = kwargs or {}
    torch_kwargs = kwargs if torch_kwargs is None else torch_kwargs
    default_rtol, default_atol = TOLERANCES[dtype]
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    args = [a.astype(dtype) if _is_float_array(a) else a for a in args]
    if grad_argnums is None:
        grad_argnums = [i for i, a in enumerate(args) if _is_float_array(a)]

    bargs = [to_backend(a, backend) for a in args]
    out, cache = forward(*bargs, **kwargs)
    assert_same_library(out, backend)
    assert to_numpy(out).dtype == dtype, f"forward returned {to_numpy(out).dtype}, not {dtype}"
    if op is not None:
        np.testing.assert_allclose(to_numpy(op(*bargs, **kwargs)), to_numpy(out), rtol, atol)

    ref = _torch_run(torch_fn, args, grad_argnums, torch_kwargs, "float64", seed)
    ref_out, ref_grads, g = ref
    errors = _torch_error(torch_fn, args, grad_argnums, torch_kwargs, dtype, seed, ref)
    slack = [atol + TORCH_ERROR_SLACK * e for e in errors]
    np.testing.assert_allclose(to_numpy(out), ref_out, rtol, slack[0], err_msg="forward")

    dout = g if np.ndim(g) == 0 else to_backend(g.astype(dtype), backend)
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    assert len(grads) >= len(ref_grads), f"backward returned {len(grads)} gradients"
    for k, (got, want) in enumerate(zip(grads, ref_grads)):
        if want is None:
            assert got is None, f"gradient {k} should be None"
            continue
        assert_same_library(got, backend)
        assert tuple(got.shape) == want.shape, f"gradient {k} shape"
        assert to_numpy(got).dtype == dtype, f"gradient {k} is {to_numpy(got).dtype}, not {dtype}"
        np.testing.assert_allclose(to_numpy(got), want, rtol, slack[k + 1], err_msg=f"gradient {k}")
    return to_numpy(out)
