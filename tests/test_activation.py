"""Activations and softmax against torch, their stability, and bad input."""

import numpy as np
import pytest
from helpers import check_op, to_backend, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib import functional as F
from cnnlib.backend import to_numpy

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


def values(shape, seed, scale=3.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


ELEMENTWISE = {
    "relu": (F.relu_forward, F.relu_backward, F.relu, lambda: TF.relu),
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward, F.sigmoid, lambda: torch.sigmoid),
    "tanh": (F.tanh_forward, F.tanh_backward, F.tanh, lambda: torch.tanh),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_elementwise_matches_torch(backend, name, shape, seed):
    forward, backward, op, ref = ELEMENTWISE[name]
    x = values(shape, seed)
    check_op(forward, backward, ref(), [x], backend=backend, op=op, seed=seed)


@needs_torch
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(shape=shapes, slope=st.floats(-2, 2), seed=st.integers(0, 2**16))
def test_leaky_relu_matches_torch(backend, shape, slope, seed):
    x = values(shape, seed)
    check_op(
        F.leaky_relu_forward,
        F.leaky_relu_backward,
        TF.leaky_relu,
        [x, slope],
        backend=backend,
        op=F.leaky_relu,
        seed=seed,
    )


@needs_torch
@pytest.mark.parametrize("log", [False, True])
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2**16))
def test_softmax_matches_torch(backend, log, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = values(shape, seed)
    if log:
        fwd, bwd, op, ref = (
            F.log_softmax_forward,
            F.log_softmax_backward,
            F.log_softmax,
            TF.log_softmax,
        )
    else:
        fwd, bwd, op, ref = F.softmax_forward, F.softmax_backward, F.softmax, TF.softmax
    check_op(fwd, bwd, ref, [x, dim], backend=backend, op=op, seed=seed)


@needs_torch
def test_gradient_at_zero_follows_torch(backend):
    """At x = 0 torch gives relu gradient 0 and leaky_relu gradient negative_slope."""
    x = np.array([-1.0, 0.0, 2.0])
    check_op(F.relu_forward, F.relu_backward, TF.relu, [x], backend=backend)
    check_op(F.leaky_relu_forward, F.leaky_relu_backward, TF.leaky_relu, [x, 0.2], backend=backend)


def test_relu_passes_nan_like_torch(backend):
    out = to_numpy(F.relu(to_backend(np.array([np.nan, -1.0, 1.0]), backend)))
    assert np.isnan(out[0]) and out[1] == 0 and out[2] == 1


def test_sigmoid_does_not_overflow(backend):
    x = to_backend(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]), backend)
    with np.errstate(over="raise"):
        out = to_numpy(F.sigmoid(x))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(out[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-12)


def test_softmax_is_stable_for_huge_logits(backend):
    x = to_backend(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]]), backend)
    with np.errstate(over="raise"):
        y = to_numpy(F.softmax(x, dim=1))
        z = to_numpy(F.log_softmax(x, dim=1))
    e = np.exp([-2.0, -1.0, 0.0])
    np.testing.assert_allclose(y[0], e / e.sum())
    np.testing.assert_allclose(y[1], [1 / 3] * 3)
    np.testing.assert_allclose(z, np.log(y))
    np.testing.assert_allclose(y.sum(axis=1), [1.0, 1.0])


def test_float32_stays_float32(backend):
    x = to_backend(np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3), backend)
    for out in (F.relu(x), F.sigmoid(x), F.tanh(x), F.leaky_relu(x), F.softmax(x, 1)):
        assert to_numpy(out).dtype == np.float32


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
def test_softmax_dim_out_of_range(op):
    with pytest.raises(ValueError, match=r"dim=2 is out of range for a 2-D input"):
        op(np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match=r"-2 <= dim < 2"):
        op(np.zeros((2, 3)), -3)
    with pytest.raises(TypeError, match="dim must be an int"):
        op(np.zeros((2, 3)), 1.0)
    with pytest.raises(TypeError):
        op(np.zeros((2, 3)))  # dim is required, as in modern torch


@pytest.mark.parametrize("op", [F.relu, F.leaky_relu, F.sigmoid, F.tanh])
def test_integer_input_is_rejected(op):
    with pytest.raises(TypeError, match="input must be a floating-point array, got dtype int"):
        op(np.arange(3))


def test_backward_checks_dout_shape():
    _, cache = F.sigmoid_forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"sigmoid_backward: dout has shape \(3, 2\)"):
        F.sigmoid_backward(np.zeros((3, 2)), cache)


def test_leaky_relu_slope_must_be_a_number():
    with pytest.raises(TypeError, match="negative_slope must be a number"):
        F.leaky_relu(np.zeros(3), "0.1")
