"""Inverted dropout and channel dropout (dropout2d): seeded masks, eval identity, the
expected value, the gradient, the layers."""

import numpy as np
import pytest
from helpers import DTYPES, check_op, to_backend, torch

from cnnlib import functional as F
from cnnlib import nn, random
from cnnlib.backend import to_numpy


def test_eval_mode_and_p_zero_are_the_identity(backend):
    x = to_backend(np.arange(12.0).reshape(3, 4), backend)
    for kwargs in ({"training": False}, {"p": 0.0}, {"p": 0.9, "training": False}):
        out, cache = F.dropout_forward(x, **kwargs)
        np.testing.assert_array_equal(to_numpy(out), to_numpy(x))
        dout = to_backend(np.full((3, 4), 2.0), backend)
        np.testing.assert_array_equal(
            to_numpy(F.dropout_backward(dout, cache)), np.full((3, 4), 2.0)
        )


def test_p_one_gives_zeros_and_no_gradient(backend):
    x = to_backend(np.ones((4, 5)), backend)
    out, cache = F.dropout_forward(x, p=1.0, seed=0)
    np.testing.assert_array_equal(to_numpy(out), np.zeros((4, 5)))
    dx = F.dropout_backward(to_backend(np.ones((4, 5)), backend), cache)
    np.testing.assert_array_equal(to_numpy(dx), np.zeros((4, 5)))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_kept_entries_are_scaled_and_gradient_is_mask_over_keep(backend, p):
    x = to_backend(np.random.default_rng(1).uniform(1, 2, (6, 7)), backend)
    out, cache = F.dropout_forward(x, p=p, seed=3)
    out_np, x_np = to_numpy(out), to_numpy(x)
    mask = out_np != 0
    np.testing.assert_allclose(out_np[mask], x_np[mask] / (1 - p))
    dout = np.random.default_rng(2).standard_normal((6, 7))
    dx = to_numpy(F.dropout_backward(to_backend(dout, backend), cache))
    np.testing.assert_allclose(dx, dout * mask / (1 - p))


def test_same_seed_same_mask_on_every_backend(backend):
    x = np.ones((5, 8))
    reference = F.dropout(x, p=0.5, seed=42)
    np.testing.assert_array_equal(
        to_numpy(F.dropout(to_backend(x, backend), 0.5, seed=42)), reference
    )
    random.manual_seed(7)
    first = to_numpy(F.dropout(to_backend(x, backend), 0.5))
    random.manual_seed(7)
    np.testing.assert_array_equal(to_numpy(F.dropout(to_backend(x, backend), 0.5)), first)
    g = np.random.default_rng(42)
    np.testing.assert_array_equal(
        to_numpy(F.dropout(to_backend(x, backend), 0.5, generator=g)), reference
    )


def test_masks_differ_between_calls():
    x = np.ones((10, 10))
    g = np.random.default_rng(0)
    assert not np.array_equal(F.dropout(x, generator=g), F.dropout(x, generator=g))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mean_is_preserved(p):
    """E[out] = x: over 200 000 entries the sample mean is within 5 standard errors."""
    x = np.full(200_000, 3.0)
    out = F.dropout(x, p=p, seed=0)
    std_error = 3.0 * np.sqrt(p / (1 - p)) / np.sqrt(x.size)
    assert abs(out.mean() - 3.0) < 5 * std_error
    assert abs((out == 0).mean() - p) < 0.01


def test_float32_stays_float32(backend):
    x = to_backend(np.ones((3, 3), dtype=np.float32), backend)
    assert to_numpy(F.dropout(x, seed=0)).dtype == np.float32


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_torch_tensor_keeps_its_device():
    x = torch.ones(3, 3, dtype=torch.float64)
    out = F.dropout(x, seed=0)
    assert isinstance(out, torch.Tensor) and out.device == x.device


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_outside_0_1_is_rejected(p):
    with pytest.raises(ValueError, match=r"dropout: p must be between 0 and 1"):
        F.dropout(np.ones(3), p=p)


def test_bad_arguments():
    with pytest.raises(TypeError, match="p must be a number"):
        F.dropout(np.ones(3), p="0.5")
    with pytest.raises(TypeError, match="training must be True or False"):
        F.dropout(np.ones(3), training="yes")
    with pytest.raises(ValueError, match="either generator or seed"):
        F.dropout(np.ones(3), generator=np.random.default_rng(0), seed=1)


def test_inplace_overwrites_and_returns_the_input(backend):
    """torch's F.dropout(x, inplace=True) writes the output into x and returns x itself."""
    x_np = np.random.default_rng(4).uniform(1, 2, (5, 6))
    x = to_backend(x_np.copy(), backend)
    want = to_numpy(F.dropout(to_backend(x_np.copy(), backend), 0.4, seed=9))
    out, cache = F.dropout_forward(x, 0.4, True, True, seed=9)
    assert out is x
    np.testing.assert_array_equal(to_numpy(x), want)  # the same mask as out of place
    dx = F.dropout_backward(to_backend(np.ones((5, 6)), backend), cache)
    np.testing.assert_allclose(to_numpy(dx), (want != 0) / 0.6)
    evaluated = to_backend(x_np.copy(), backend)
    assert F.dropout(evaluated, 0.4, training=False, inplace=True) is evaluated
    np.testing.assert_array_equal(to_numpy(evaluated), x_np)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_inplace_is_what_torch_does():
    x = torch.ones(4, 4, dtype=torch.float64)
    assert torch.nn.functional.dropout(x, 0.5, True, True) is x
    y = torch.ones(4, 4, dtype=torch.float64)
    assert F.dropout(y, 0.5, True, True, seed=0) is y
    assert set(torch.unique(y).tolist()) <= {0.0, 2.0}


def test_inplace_must_be_a_bool():
    with pytest.raises(TypeError, match="inplace must be True or False"):
        F.dropout(np.ones(3), 0.5, True, "yes")


# ------------------------------------------------------------------ dropout2d


def test_dropout2d_zeroes_whole_channels(backend):
    x = to_backend(np.random.default_rng(5).uniform(1, 2, (4, 6, 3, 5)), backend)
    out = to_numpy(F.dropout2d(x, 0.5, seed=2))
    kept = out != 0
    # each (n, c) feature map is dropped or kept as a whole
    per_map = kept.reshape(4, 6, -1)
    assert np.all(per_map.all(axis=2) | ~per_map.any(axis=2))
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(out[kept], to_numpy(x)[kept] / 0.5)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout2d_statistics_match_torch(p):
    """The fraction of dropped maps is p and E[out] = x, for cnnlib and torch alike
    (each within 5 standard errors over 100 000 maps)."""
    shape = (1000, 100, 2, 2)
    ours = F.dropout2d(np.ones(shape), p, seed=0)
    samples = {"cnnlib": ours}
    if torch is not None:
        torch.manual_seed(0)
        samples["torch"] = torch.nn.functional.dropout2d(torch.ones(shape), p).numpy()
    maps = shape[0] * shape[1]
    for name, out in samples.items():
        dropped = (out[:, :, 0, 0] == 0).mean()
        assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / maps), name
        assert abs(out.mean() - 1) < 5 * np.sqrt(p / (1 - p) / maps), name


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.3, 0.7, 1.0])
def test_dropout2d_gradient_given_the_mask_matches_torch(backend, dtype, p):
    """With cnnlib's (seeded) mask handed to torch, forward and backward agree."""
    x = np.random.default_rng(1).standard_normal((3, 4, 5, 2))
    mask = random.bernoulli((3, 4, 1, 1), 1 - p, seed=6)
    scaled = mask * 0.0 if p == 1 else mask / (1 - p)
    check_op(
        lambda a: F.dropout2d_forward(a, p, seed=6),
        F.dropout2d_backward,
        lambda t: t * torch.from_numpy(scaled),
        [x],
        backend=backend,
        dtype=dtype,
        op=lambda a: F.dropout2d(a, p, seed=6),
    )


def test_dropout2d_same_seed_same_mask_on_every_backend(backend):
    x = np.ones((2, 8, 3, 3))
    reference = F.dropout2d(x, seed=42)
    np.testing.assert_array_equal(to_numpy(F.dropout2d(to_backend(x, backend), seed=42)), reference)
    g = np.random.default_rng(42)
    got = F.dropout2d(to_backend(x, backend), generator=g)
    np.testing.assert_array_equal(to_numpy(got), reference)


def test_dropout2d_identity_zeros_and_inplace(backend):
    x_np = np.random.default_rng(4).uniform(1, 2, (2, 3, 4, 4))
    x = to_backend(x_np.copy(), backend)
    for kwargs in ({"training": False}, {"p": 0.0}):
        out, cache = F.dropout2d_forward(x, **kwargs)
        assert out is x
        g = to_backend(np.full(x_np.shape, 2.0), backend)
        np.testing.assert_array_equal(to_numpy(F.dropout2d_backward(g, cache)), 2.0)
    np.testing.assert_array_equal(to_numpy(F.dropout2d(x, p=1.0)), 0.0)
    want = to_numpy(F.dropout2d(to_backend(x_np.copy(), backend), 0.4, seed=9))
    out, cache = F.dropout2d_forward(x, 0.4, True, True, seed=9)
    assert out is x  # overwritten and handed back, as torch does
    np.testing.assert_array_equal(to_numpy(x), want)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_dropout2d_reads_a_3d_input_as_n_c_l_like_torch():
    """torch 2.13 drops rows of an (N, C, L) input (one mask entry per (n, c)), with a
    warning that (C, H, W) is not supported yet; cnnlib does the same."""
    with pytest.warns(UserWarning, match=r"3-D input is read as \(N, C, L\)"):
        out = F.dropout2d(np.ones((40, 30, 7)), 0.5, seed=0)
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        theirs = torch.nn.functional.dropout2d(torch.ones(40, 30, 7), 0.5).numpy()
    for rows in (out, theirs):
        assert np.all(rows == rows[:, :, :1])  # constant along L
        assert 0.35 < (rows[:, :, 0] == 0).mean() < 0.65  # 1200 rows: 0.15 is 10 standard errors


@pytest.mark.parametrize("shape", [(3,), (2, 3), (1, 2, 3, 4, 5)])
def test_dropout2d_needs_3d_or_4d_input(shape):
    """torch warns that other shapes are deprecated and will be errors; cnnlib raises now."""
    with pytest.raises(ValueError, match=r"dropout2d: input must be 4-D \(N, C, H, W\).*got sha"):
        F.dropout2d(np.ones(shape))


def test_dropout2d_bad_arguments():
    x = np.ones((1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"dropout2d: p must be between 0 and 1, got 1.5"):
        F.dropout2d(x, 1.5)
    with pytest.raises(TypeError, match="dropout2d: p must be a number"):
        F.dropout2d(x, "0.5")
    with pytest.raises(TypeError, match="dropout2d: training must be True or False"):
        F.dropout2d(x, 0.5, 1)
    with pytest.raises(TypeError, match="dropout2d: inplace must be True or False"):
        F.dropout2d(x, 0.5, True, None)
    with pytest.raises(TypeError, match="dropout2d: input must be a floating-point array"):
        F.dropout2d(np.ones((1, 2, 3, 3), dtype=np.int64))
    out, cache = F.dropout2d_forward(x, seed=0)
    with pytest.raises(ValueError, match=r"dropout2d_backward: dout has shape \(1, 2, 1, 1\)"):
        F.dropout2d_backward(np.ones((1, 2, 1, 1)), cache)


# ------------------------------------------------------------------ layers


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
def test_layers_follow_torch(name):
    """repr, train/eval, in place (the layer now hands back its input, as torch's does),
    and a backward that uses the forward's mask."""
    for args in ((), (0.3,), (0.3, True)):
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    op = {"Dropout": F.dropout, "Dropout2d": F.dropout2d}[name]
    x_np = np.random.default_rng(0).uniform(1, 2, (2, 3, 4, 4))
    layer = getattr(nn, name)(0.4, generator=np.random.default_rng(3))
    out = layer(x_np)
    np.testing.assert_array_equal(out, op(x_np, 0.4, seed=3))
    np.testing.assert_array_equal(layer.backward(np.ones_like(x_np)), (out != 0) / 0.6)
    layer.eval()
    assert layer(x_np) is x_np
    theirs = torch.tensor(x_np)
    assert getattr(torch.nn, name)(0.4, inplace=True)(theirs) is theirs
    x = x_np.copy()
    assert getattr(nn, name)(0.4, inplace=True, generator=np.random.default_rng(3))(x) is x
    np.testing.assert_array_equal(x, out)


@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
def test_layer_arguments_are_checked(name):
    cls = getattr(nn, name)
    with pytest.raises(ValueError, match=rf"{name}: p must be between 0 and 1, got 2"):
        cls(2)
    with pytest.raises(TypeError, match=rf"{name}: p must be a number"):
        cls("0.5")
    with pytest.raises(TypeError, match=rf"{name}: inplace must be True or False"):
        cls(0.5, "yes")
