"""interpolate (nearest, nearest-exact, bilinear, bicubic, area) against torch, its backward
as the adjoint of the resizing map, nn.Upsample, and bad input."""

import numpy as np
import pytest
from helpers import check_op, to_backend, torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.functional.interpolate import (
    interpolate,
    interpolate_backward,
    interpolate_forward,
)

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MODES = ["nearest", "nearest-exact", "bilinear", "bicubic", "area"]
LINEAR = ("bilinear", "bicubic")


@st.composite
def resize_configs(draw, modes=MODES):
    """(input shape, kwargs): a size or a scale factor (with or without recomputing the
    scale), align_corners both ways for the interpolating modes."""
    mode = draw(st.sampled_from(modes))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape += (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    kwargs = {"mode": mode}
    if draw(st.booleans()):
        size = st.integers(1, 14)
        kwargs["size"] = draw(st.one_of(size, st.tuples(size, size)))
    else:
        factor = st.floats(0.25, 4.0).map(lambda f: round(f, 2))
        kwargs["scale_factor"] = draw(
            st.one_of(factor, st.tuples(factor, factor), st.integers(1, 3))
        )
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
        factors = kwargs["scale_factor"]
        factors = factors if isinstance(factors, tuple) else (factors, factors)
        out = [int(n * f) for n, f in zip(shape[2:], factors)]
        assume(min(out) >= 1)
        # torch's bicubic backward copies dout when the size stays, even where its forward
        # does not: see test_bicubic_backward_is_the_true_gradient
        same = out == list(shape[2:]) and not kwargs["recompute_scale_factor"]
        assume(not (mode == "bicubic" and same))
    if mode in LINEAR:
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    return shape, kwargs


@needs_torch
@SETTINGS
@given(config=resize_configs(), seed=st.integers(0, 2**16))
def test_interpolate_matches_torch(backend, config, seed):
    shape, kwargs = config
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        interpolate_forward,
        interpolate_backward,
        TF.interpolate,
        [x],
        kwargs,
        backend=backend,
        op=interpolate,
        seed=seed,
    )


@needs_torch
@SETTINGS
@given(config=resize_configs(), seed=st.integers(0, 2**16))
def test_interpolate_float32_matches_torch(backend, config, seed):
    shape, kwargs = config
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        interpolate_forward,
        interpolate_backward,
        TF.interpolate,
        [x],
        kwargs,
        backend=backend,
        dtype="float32",
        seed=seed,
    )


@needs_torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("factor", [2, 2.0000001, 1.9999999, 0.5, 3, 1.0, 1.05, 1.19, 1.3])
def test_nearest_index_rules_match_torch(mode, factor):
    """torch computes nearest's source index in float32 and copies when the size stays
    or doubles (nearest-exact does not); factors near those must round the same way."""
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 11))  # 4 * 1.19 -> 4 rows
    got = interpolate(x, scale_factor=factor, mode=mode)
    want = TF.interpolate(torch.tensor(x), scale_factor=factor, mode=mode).numpy()
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ the backward pass


@settings(max_examples=60, deadline=None)
@given(config=resize_configs(), seed=st.integers(0, 2**16))
def test_backward_is_the_adjoint(config, seed):
    """<interpolate(x), y> = <x, interpolate_backward(y)> for every x and y: the backward
    pass is the transposed resizing map, whatever the mode."""
    shape, kwargs = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    out, cache = interpolate_forward(x, **kwargs)
    y = rng.standard_normal(out.shape)
    lhs, rhs = np.sum(out * y), np.sum(x * interpolate_backward(y, cache))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


@needs_torch
def test_bicubic_backward_is_the_true_gradient():
    """A scale factor of 1.25 keeps a 3x2 image 3x2 but still resamples it (at 0.8-pixel
    steps); torch's bicubic backward then copies dout as if nothing had moved, and
    torch.autograd.gradcheck fails on it. cnnlib's backward is the transposed map: it
    matches the Jacobian of torch's own forward, taken by finite differences."""
    x = np.random.default_rng(0).standard_normal((1, 1, 3, 2))
    kwargs = {"scale_factor": 1.25, "mode": "bicubic"}
    out, cache = interpolate_forward(x, **kwargs)
    assert out.shape == x.shape

    def forward(a):
        return TF.interpolate(torch.tensor(a), **kwargs).numpy().reshape(-1)

    eps, eye = 1e-6, np.eye(x.size).reshape((x.size,) + x.shape)
    jacobian = np.stack([(forward(x + eps * e) - forward(x - eps * e)) / (2 * eps) for e in eye], 1)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    dx = interpolate_backward(dout, cache)
    np.testing.assert_allclose(dx.reshape(-1), jacobian.T @ dout.reshape(-1), atol=1e-8)
    tx = torch.tensor(x, requires_grad=True)
    TF.interpolate(tx, **kwargs).backward(torch.tensor(dout))
    assert not np.allclose(tx.grad.numpy(), dx)  # torch's copy of dout


@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_is_a_matrix_on_each_side(align_corners):
    """out = A_h x A_w^T per plane and dx = A_h^T dout A_w, with A_h, A_w the matrices
    whose columns are resized unit vectors."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, 4, 5))
    kwargs = {"size": (7, 3), "mode": "bilinear", "align_corners": align_corners}
    # column j of A_h: a one-column image e_j resized (the width 1 -> 3 copies it)
    a_h = np.stack([interpolate(e.reshape(1, 1, 4, 1), **kwargs)[0, 0, :, 0] for e in np.eye(4)], 1)
    a_w = np.stack([interpolate(e.reshape(1, 1, 1, 5), **kwargs)[0, 0, 0] for e in np.eye(5)], 1)
    out, cache = interpolate_forward(x, **kwargs)
    np.testing.assert_allclose(out[0, 0], a_h @ x[0, 0] @ a_w.T, rtol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx = interpolate_backward(dout, cache)
    np.testing.assert_allclose(dx[0, 0], a_h.T @ dout[0, 0] @ a_w, rtol=1e-12, atol=1e-15)
    assert np.allclose(a_h.sum(axis=1), 1)  # each output is an average of inputs


def test_worked_examples(backend):
    row = to_backend(np.array([[[[0.0, 1.0]]]]), backend)
    # pixel centres line up: the new centres sit at -1/4, 1/4, 3/4, 5/4 of the old grid
    got = interpolate(row, size=(1, 4), mode="bilinear")
    np.testing.assert_allclose(to_numpy(got)[0, 0, 0], [0, 0.25, 0.75, 1])
    # corners line up: 0, 1/3, 2/3, 1
    got = interpolate(row, size=(1, 4), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(to_numpy(got)[0, 0, 0], [0, 1 / 3, 2 / 3, 1])
    got = interpolate(row, scale_factor=2)
    np.testing.assert_array_equal(to_numpy(got)[0, 0], [[0, 0, 1, 1], [0, 0, 1, 1]])
    # nearest upsampling by 2: each input pixel collects its 2x2 block of dout
    x = to_backend(np.zeros((1, 1, 2, 2)), backend)
    out, cache = interpolate_forward(x, scale_factor=2)
    dout = np.arange(16.0).reshape(1, 1, 4, 4)
    dx = to_numpy(interpolate_backward(to_backend(dout, backend), cache))
    np.testing.assert_array_equal(
        dx[0, 0], [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]
    )


# ------------------------------------------------------------------ nn.Upsample


UPSAMPLE = [
    ("Upsample", {"scale_factor": 2}),
    ("Upsample", {"size": (5, 7), "mode": "bilinear"}),
    ("Upsample", {"scale_factor": (1.5, 0.5), "mode": "bilinear", "align_corners": True}),
    ("Upsample", {"scale_factor": 1.7, "mode": "bicubic", "recompute_scale_factor": True}),
    ("Upsample", {"size": 3, "mode": "area"}),
    ("UpsamplingNearest2d", {"scale_factor": 3}),
    ("UpsamplingBilinear2d", {"size": (6, 9)}),
]


@needs_torch
@pytest.mark.parametrize(("name", "kwargs"), UPSAMPLE)
def test_upsample_modules_match_torch(backend, name, kwargs):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    layer, ref = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    out = layer(to_backend(x, backend))
    tx = torch.tensor(x, requires_grad=True)
    tout = ref(tx)
    np.testing.assert_allclose(to_numpy(out), tout.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(2).standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(to_numpy(layer.backward(to_backend(g, backend))), tx.grad.numpy())
    assert repr(layer) == repr(ref)
    assert layer.scale_factor == ref.scale_factor


# ------------------------------------------------------------------ bad input

X = np.zeros((1, 2, 4, 5))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: interpolate([[1.0]], size=2), TypeError, r"interpolate: input must be an array"),
        (lambda: interpolate(X), ValueError, r"exactly one of size and scale_factor"),
        (lambda: interpolate(X, size=2, scale_factor=2), ValueError, r"exactly one"),
        (lambda: interpolate(X, size=2, mode="nearest", align_corners=True), ValueError,
         r"align_corners can only be set with the interpolating modes"),
        (lambda: interpolate(X, size=2, mode="area", align_corners=False), ValueError,
         r"align_corners"),
        (lambda: interpolate(X, size=2, mode="cubic"), ValueError, r"mode must be one of"),
        (lambda: interpolate(X, size=2, mode="trilinear"), NotImplementedError,
         r"4-D \(N, C, H, W\) input"),
        (lambda: interpolate(np.zeros((1, 2, 5)), size=2), NotImplementedError, r"3-D input"),
        (lambda: interpolate(np.zeros((2, 5)), size=2), ValueError, r"must be 4-D"),
        (lambda: interpolate(X, size=2, mode="bilinear", antialias=True), NotImplementedError,
         r"antialias=True is not implemented"),
        (lambda: interpolate(X, size=2, antialias=True), ValueError, r"antialias=True needs"),
        (lambda: interpolate(X, size=3, recompute_scale_factor=True), ValueError,
         r"not meaningful with an explicit size"),
        (lambda: interpolate(X, size=(3, 0)), ValueError, r"at least 1x1, got 3x0"),
        (lambda: interpolate(X, scale_factor=0.1), ValueError, r"got 0x0 for an input of 4x5"),
        (lambda: interpolate(X, size=2.5), TypeError, r"size must be an int or a pair"),
        (lambda: interpolate(X, size=(2, True)), TypeError, r"size must be an int or a pair"),
        (lambda: interpolate(X, size=(2, 3, 4)), TypeError, r"size must be an int or a pair"),
        (lambda: interpolate(X, scale_factor=-2), ValueError, r"scale_factor must be positive"),
        (lambda: interpolate(X, scale_factor="2"), TypeError, r"scale_factor must be a number"),
        (lambda: interpolate(np.zeros((1, 1, 2, 2), dtype=np.int64), size=4), TypeError,
         r"floating-point"),
    ],
)  # fmt: skip
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_numpy_integer_sizes_are_ints():
    assert interpolate(X, size=(np.int64(3), np.int32(2))).shape == (1, 2, 3, 2)
    assert interpolate(X, size=np.int64(6), mode="bilinear").shape == (1, 2, 6, 6)


def test_backward_checks_dout():
    out, cache = interpolate_forward(X, scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match=r"dout has shape \(1, 2, 8, 8\).*\(1, 2, 8, 10\)"):
        interpolate_backward(np.zeros((1, 2, 8, 8)), cache)
    with pytest.raises(ValueError, match=r"dout has shape \(8, 10\)"):
        interpolate_backward(np.zeros((8, 10)), cache)  # would broadcast
    with pytest.raises(TypeError, match=r"dout has dtype float32"):
        interpolate_backward(np.zeros((1, 2, 8, 10), dtype=np.float32), cache)
