"""cross_entropy and mse_loss against torch for every reduction, and bad input."""

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
reductions = st.sampled_from(["mean", "sum", "none"])


@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    n=st.integers(1, 5),
    c=st.integers(1, 6),
    spatial=st.sampled_from([(), (1, 1), (2, 3)]),
    reduction=reductions,
    scale=st.sampled_from([1.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_matches_torch(backend, n, c, spatial, reduction, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c) + spatial) * scale
    target = rng.integers(0, c, (n,) + spatial)
    out = check_op(
        F.cross_entropy_forward,
        F.cross_entropy_backward,
        TF.cross_entropy,
        [logits, target],
        {"reduction": reduction},
        backend=backend,
        op=F.cross_entropy,
        seed=seed,
    )
    assert out.shape == (() if reduction != "none" else (n,) + spatial)


@needs_torch
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    # min_size=1: helpers.to_backend's np.ascontiguousarray turns 0-d arrays into 1-d ones
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    reduction=reductions,
    seed=st.integers(0, 2**16),
)
def test_mse_loss_matches_torch(backend, shape, reduction, seed):
    rng = np.random.default_rng(seed)
    check_op(
        F.mse_loss_forward,
        F.mse_loss_backward,
        TF.mse_loss,
        [rng.standard_normal(shape), rng.standard_normal(shape)],
        {"reduction": reduction},
        backend=backend,
        op=F.mse_loss,
        grad_argnums=[0],
        seed=seed,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_of_0d_arrays(reduction):
    loss, cache = F.mse_loss_forward(np.array(3.0), np.array(1.0), reduction=reduction)
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss == 4.0
    dx = F.mse_loss_backward(2.0, cache)
    assert isinstance(dx, np.ndarray) and dx.shape == () and dx == 8.0


def test_losses_are_0d_arrays_of_the_input_library(backend):
    logits = to_backend(np.zeros((2, 3)), backend)
    target = to_backend(np.array([0, 2]), backend)
    ce = F.cross_entropy(logits, target)
    mse = F.mse_loss(logits, logits)
    for loss in (ce, mse):
        assert tuple(loss.shape) == ()
        assert type(loss) is type(logits)
    np.testing.assert_allclose(to_numpy(ce), np.log(3.0))  # uniform over 3 classes
    assert float(to_numpy(mse)) == 0.0


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = np.array([[2.0, 1.0, 0.1]])
    loss, cache = F.cross_entropy_forward(logits, np.array([0]))
    p = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(loss, -np.log(p[0, 0]))
    np.testing.assert_allclose(F.cross_entropy_backward(1.0, cache), p - [[1.0, 0.0, 0.0]])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [0.0, -1000.0]])
    with np.errstate(over="raise"):
        loss = F.cross_entropy(logits, np.array([1, 1]), reduction="none")
    np.testing.assert_allclose(loss, [1000.0, 1000.0])


# ------------------------------------------------------------------ bad input


def test_cross_entropy_bad_input():
    logits = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"class index 3, but input has C=3 classes"):
        F.cross_entropy(logits, np.array([0, 1, 3, 2]))
    with pytest.raises(ValueError, match=r"class index -1, but input has C=3"):
        F.cross_entropy(logits, np.array([0, -1, 1, 2]))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\).*got \(5,\)"):
        F.cross_entropy(logits, np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="target must hold integer class indices"):
        F.cross_entropy(logits, np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), reduction="average")
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, H, W\)"):
        F.cross_entropy(np.zeros(3), np.zeros((), dtype=int))


def test_mse_loss_bad_input():
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(3,\)"):
        F.mse_loss(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(np.zeros(3), np.zeros(3), reduction="mean ")
    _, cache = F.mse_loss_forward(np.zeros(3), np.ones(3), reduction="none")
    with pytest.raises(ValueError, match=r"dloss must be an array of shape \(3,\)"):
        F.mse_loss_backward(1.0, cache)
    _, cache = F.mse_loss_forward(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="dloss must be a number or a 0-d array"):
        F.mse_loss_backward(np.ones(3), cache)
