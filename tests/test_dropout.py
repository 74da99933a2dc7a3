"""Inverted dropout: seeded masks, eval identity, the expected value, the gradient."""

import numpy as np
import pytest
from helpers import to_backend, torch

from cnnlib import functional as F
from cnnlib import random
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
