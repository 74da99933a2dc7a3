"""max_unpool2d and nn.MaxUnpool2d against torch: values back at max pooling's indices,
the output size rule, duplicate indices, the gather backward, and bad input."""

import math

import numpy as np
import pytest
from helpers import check_op, to_backend, torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.functional.pool import max_pool2d
from cnnlib.functional.unpool import (
    max_unpool2d,
    max_unpool2d_backward,
    max_unpool2d_forward,
    unpool_output_size,
)

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def unpool_configs(draw):
    """(input shape, kernel, stride, padding, give the input's size as output_size)."""
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape += (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    for n, kk, pp in zip(shape[2:], k, p):
        assume(n + 2 * pp >= kk)
    return shape, k, s, p, draw(st.booleans())


def pooled(shape, k, s, p, seed):
    """torch's max pooling of distinct values: (values, indices) as NumPy arrays."""
    x = np.random.default_rng(seed).permutation(math.prod(shape)).reshape(shape) / 5.0
    out, idx = TF.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    return out.numpy(), idx.numpy()


@needs_torch
@SETTINGS
@given(config=unpool_configs(), seed=st.integers(0, 2**16))
def test_unpool_matches_torch(backend, config, seed):
    shape, k, s, p, give_size = config
    values, indices = pooled(shape, k, s, p, seed)
    kwargs = {}
    default = unpool_output_size(values.shape[-2:], k, s or k, p, None)
    if give_size:  # the input's own size, when it is within one stride of the default
        assume(all(abs(n - d) < st_ for n, d, st_ in zip(shape[2:], default, s or k)))
        kwargs["output_size"] = shape[2:]
    else:  # the default size may be too small for the indices (torch raises then too)
        assume(indices.max() < default[0] * default[1])
    for dtype in ("float64", "float32"):
        out = check_op(
            max_unpool2d_forward,
            max_unpool2d_backward,
            TF.max_unpool2d,
            [values, indices, k, s, p],
            kwargs,
            backend=backend,
            op=max_unpool2d,
            dtype=dtype,
            seed=seed,
        )
    assert np.count_nonzero(out) <= values.size


@needs_torch
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.integers(1, 5))
def test_any_indices_and_duplicates_match_torch(seed, size):
    """Indices need not come from pooling: where two values land on one position the later
    one stays (torch's CPU kernel writes in order), and both get that position's dout."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((2, 3, size, 2))
    indices = rng.integers(0, 2 * size, values.shape)  # a (2 size) x 4 plane: repeats
    check_op(max_unpool2d_forward, max_unpool2d_backward, TF.max_unpool2d, [values, indices, 2])


@needs_torch
def test_unbatched_input(backend):
    values, indices = pooled((3, 6, 5), 2, None, 0, seed=0)
    out = check_op(
        max_unpool2d_forward,
        max_unpool2d_backward,
        TF.max_unpool2d,
        [values, indices, 2],
        {"output_size": (6, 5)},
        backend=backend,
    )
    assert out.shape == (3, 6, 5)


def test_pool_then_unpool_keeps_only_the_maxima(backend):
    """Unpooling puts every window's maximum back in its place and zeros elsewhere."""
    x = np.array([[[[1.0, 3.0, 0.0, 3.5], [2.0, 2.5, 4.0, 1.0], [4.5, 2.0, 0.0, 0.5]]]])
    out, idx = max_pool2d(to_backend(x, backend), 2, return_indices=True)
    np.testing.assert_array_equal(to_numpy(idx), [[[[1, 6]]]])  # flat r * 4 + c
    back = max_unpool2d(out, idx, 2, output_size=x.shape)
    want = np.where(np.isin(x, [3.0, 4.0]), x, 0)  # 4.5's row is in no window (floor)
    np.testing.assert_array_equal(to_numpy(back), want)
    assert max_unpool2d(out, idx, 2).shape == (1, 1, 2, 4)  # the default size drops that row


def test_default_output_size():
    assert unpool_output_size((3, 4), (2, 3), (2, 1), (0, 1), None) == (6, 4)  # (n-1)s - 2p + k
    assert unpool_output_size((3, 4), (2, 2), (2, 2), (0, 0), (1, 1, 7, 9)) == (7, 9)


# ------------------------------------------------------------------ nn.MaxUnpool2d


@needs_torch
@pytest.mark.parametrize("args", [(2,), (3, 2, 1), ((2, 3), (1, 2))])
def test_encoder_decoder_matches_torch(backend, args):
    """nn.MaxPool2d(return_indices=True) feeding nn.MaxUnpool2d, as in SegNet: forward,
    and the gradient through both layers, against torch.nn."""
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 8))
    pool, unpool = nn.MaxPool2d(*args, return_indices=True), nn.MaxUnpool2d(*args)
    tpool, tunpool = torch.nn.MaxPool2d(*args, return_indices=True), torch.nn.MaxUnpool2d(*args)
    out, idx = pool(to_backend(x, backend))
    y = unpool(out, idx, output_size=x.shape)
    tx = torch.tensor(x, requires_grad=True)
    tout, tidx = tpool(tx)
    ty = tunpool(tout, tidx, output_size=tx.shape)
    np.testing.assert_array_equal(to_numpy(idx), tidx.numpy())
    np.testing.assert_array_equal(to_numpy(y), ty.detach().numpy())
    g = np.random.default_rng(5).standard_normal(x.shape)
    ty.backward(torch.tensor(g))
    dx = pool.backward(unpool.backward(to_backend(g, backend)))
    np.testing.assert_allclose(to_numpy(dx), tx.grad.numpy(), rtol=1e-12)
    assert repr(unpool) == repr(tunpool)


# ------------------------------------------------------------------ bad input

V = np.ones((1, 1, 2, 2))
I = np.array([[[[0, 3], [8, 15]]]])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: max_unpool2d(V, I.astype(float), 2), TypeError, r"indices must be an integer"),
        (lambda: max_unpool2d(V, I[..., :1], 2), ValueError,
         r"indices must have the input's shape \(1, 1, 2, 2\), got \(1, 1, 2, 1\)"),
        (lambda: max_unpool2d(V, I + 1, 2), ValueError,
         r"indices must lie in \[0, 16\) \(output planes are 4x4\), found 16"),
        (lambda: max_unpool2d(V, I - 1, 2), ValueError, r"indices must lie in .* found -1"),
        (lambda: max_unpool2d(V, I, 2, output_size=(6, 6)), ValueError,
         r"invalid output_size \(6, 6\): dimension 0 must be strictly between 2 and 6"),
        (lambda: max_unpool2d(V, I, 2, output_size=(4, 4, 4)), ValueError,
         r"output_size must have 2 or 4"),
        (lambda: max_unpool2d(V, I, 0), ValueError, r"kernel_size must be at least 1"),
        (lambda: max_unpool2d(V, I, (2, 2, 2)), ValueError, r"kernel_size must be an int or a"),
        pytest.param(lambda: max_unpool2d(V, torch.tensor(I), 2), TypeError,
                     r"all arrays must come from one library", marks=needs_torch),
        (lambda: max_unpool2d(np.ones((2, 2)), I, 2), ValueError, r"input must be 4-D"),
    ],
)  # fmt: skip
def test_bad_input(call, error, match):
    with pytest.raises(error, match=f"max_unpool2d: {match}"):
        call()


def test_numpy_integer_arguments():
    out = max_unpool2d(V, I, np.int64(2), stride=np.int32(2), padding=np.int64(0))
    np.testing.assert_array_equal(out, max_unpool2d(V, I, 2))


def test_backward_checks_dout():
    out, cache = max_unpool2d_forward(V, I, 2)
    with pytest.raises(ValueError, match=r"max_unpool2d_backward: dout has shape \(4, 4\)"):
        max_unpool2d_backward(np.ones((4, 4)), cache)
    with pytest.raises(TypeError, match=r"max_unpool2d_backward: dout has dtype float32"):
        max_unpool2d_backward(np.ones((1, 1, 4, 4), dtype=np.float32), cache)
