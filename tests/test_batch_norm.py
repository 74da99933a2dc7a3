"""batch_norm against torch: outputs, gradients, and running statistics updated in place."""

import numpy as np
import pytest
from helpers import DTYPES, check_op, to_backend, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib import functional as F
from cnnlib.backend import to_numpy

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@st.composite
def bn_configs(draw):
    """An input shape (N, C), (N, C, L) or (N, C, H, W) with at least 2 values per channel."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rest = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    shape = (n, c) + rest
    if np.prod(shape) // c < 2:
        shape = (n + 1, c) + rest
    return shape


def present_grads(dout, cache):
    """batch_norm_backward without the None entries, to line up with check_op's argnums."""
    return tuple(g for g in F.batch_norm_backward(dout, cache) if g is not None)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    shape=bn_configs(),
    training=st.booleans(),
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    with_running=st.booleans(),
    momentum=st.floats(0.0, 1.0),
    eps=st.sampled_from([1e-5, 1e-3, 0.5]),
    offset=st.sampled_from([1.0, 1000.0]),  # far from 0, var = E[x^2] - E[x]^2 cancels
    seed=st.integers(0, 2**16),
)
def test_batch_norm_matches_torch(
    backend, dtype, shape, training, affine, with_running, momentum, eps, offset, seed
):
    with_running = with_running or not training  # eval mode needs running statistics
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + offset
    rm = rng.standard_normal(c) if with_running else None
    rv = rng.uniform(0.5, 2.0, c) if with_running else None
    w = rng.standard_normal(c) if affine in ("both", "weight") else None
    b = rng.standard_normal(c) if affine in ("both", "bias") else None
    argnums = [0] + [i for i, a in ((3, w), (4, b)) if a is not None]
    check_op(
        F.batch_norm_forward,
        present_grads,
        TF.batch_norm,
        [x, rm, rv, w, b],
        {"training": training, "momentum": momentum, "eps": eps},
        backend=backend,
        op=F.batch_norm,
        grad_argnums=argnums,
        dtype=dtype,
        seed=seed,
    )


@needs_torch
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_running_statistics_follow_torch_over_several_batches(
    backend, shape, momentum, dtype, rtol
):
    rng = np.random.default_rng(0)
    rm, rv = (to_backend(np.full(3, v, dtype), backend) for v in (0.0, 1.0))
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        F.batch_norm(to_backend(x, backend), rm, rv, training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x, dtype=torch.float64), trm, trv, None, None, True, momentum)
        assert to_numpy(rm).dtype == dtype and to_numpy(rv).dtype == dtype
        np.testing.assert_allclose(to_numpy(rm), trm.numpy(), rtol=rtol)
        np.testing.assert_allclose(to_numpy(rv), trv.numpy(), rtol=rtol)


def test_running_variance_is_unbiased_and_normalisation_biased():
    """Batch [1, 3] in one channel: mean 2, biased var 1 (used), unbiased var 2 (stored)."""
    x = np.array([[1.0], [3.0]])
    rm, rv = np.zeros(1), np.ones(1)
    out = F.batch_norm(x, rm, rv, training=True, momentum=1.0, eps=0.0)
    np.testing.assert_allclose(out, [[-1.0], [1.0]])
    np.testing.assert_allclose(rm, [2.0])
    np.testing.assert_allclose(rv, [2.0])


def test_eval_mode_uses_running_statistics_and_changes_nothing(backend):
    x = to_backend(np.array([[0.0, 10.0], [4.0, 20.0]]), backend)
    rm, rv = to_backend(np.array([2.0, 10.0]), backend), to_backend(np.array([4.0, 25.0]), backend)
    out = F.batch_norm(x, rm, rv, training=False, eps=0.0)
    np.testing.assert_allclose(to_numpy(out), [[-1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(to_numpy(rm), [2.0, 10.0])
    np.testing.assert_array_equal(to_numpy(rv), [4.0, 25.0])


@needs_torch
def test_cumulative_average_is_momentum_one_over_k():
    """torch's BatchNorm(momentum=None) averages all batches; the functional op gets there
    with momentum = 1 / k on the k-th batch (torch's F.batch_norm rejects None, and so do we)."""
    layer = torch.nn.BatchNorm1d(3, momentum=None).double()
    rm, rv = np.zeros(3), np.ones(3)
    rng = np.random.default_rng(1)
    for k in range(1, 5):
        x = rng.standard_normal((5, 3)) * k
        layer(torch.tensor(x))
        F.batch_norm(x, rm, rv, training=True, momentum=1.0 / k)
    np.testing.assert_allclose(rm, layer.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, layer.running_var.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="momentum = 1 / number_of_batches_seen"):
        F.batch_norm(np.ones((2, 3)), rm, rv, training=True, momentum=None)


@needs_torch
def test_float64_input_with_float32_running_stats_is_rejected_as_torch_does():
    """It used to normalise in float64 and cast the new statistics back silently."""
    x = np.random.default_rng(0).standard_normal((4, 2))
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    with pytest.raises(TypeError, match="input is float64, running_mean is float32"):
        F.batch_norm(x, rm, rv, training=True)
    assert not rm.any()  # nothing was updated
    with pytest.raises(RuntimeError):
        TF.batch_norm(torch.from_numpy(x), *(torch.from_numpy(a) for a in (rm, rv)), training=True)


# ------------------------------------------------------------------ bad input


def test_bad_input():
    x = np.zeros((4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\).*got \(2,\)"):
        F.batch_norm(x, np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(x, None, None, weight=np.ones(4), training=True)
    with pytest.raises(ValueError, match="at least 2-D"):
        F.batch_norm(np.zeros(3), None, None, training=True)
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(np.zeros((1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match="needs running_mean/running_var"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        F.batch_norm(x, np.zeros(3), None, training=True)
    with pytest.raises(TypeError, match="training must be True or False"):
        F.batch_norm(x, np.zeros(3), np.ones(3), training=1)
