"""local_response_norm against torch (AlexNet's LRN), and a hand-computed example."""

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


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 7)).flatmap(
        lambda nc: st.lists(st.integers(1, 4), min_size=1, max_size=2).map(lambda r: nc + tuple(r))
    ),
    size=st.integers(1, 6),
    alpha=st.sampled_from([1e-4, 0.1, 1.0]),
    beta=st.sampled_from([0.75, 0.5, 2.0]),
    k=st.sampled_from([1.0, 2.0]),
    seed=st.integers(0, 2**16),
)
def test_lrn_matches_torch(backend, dtype, shape, size, alpha, beta, k, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 2
    check_op(
        F.local_response_norm_forward,
        F.local_response_norm_backward,
        TF.local_response_norm,
        [x, size, alpha, beta, k],
        backend=backend,
        op=F.local_response_norm,
        grad_argnums=[0],
        dtype=dtype,
        seed=seed,
    )


def test_hand_computed_example(backend):
    """Channels [1, 2, 3] at one pixel, size 2 (window c-1..c), alpha 1, beta 1, k 1:
    S = [1, 1 + 4, 4 + 9] / 2, so out = x / (1 + S) = [1/1.5, 2/3.5, 3/7.5]."""
    x = to_backend(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1), backend)
    out = to_numpy(F.local_response_norm(x, 2, alpha=1.0, beta=1.0, k=1.0))
    np.testing.assert_allclose(out.ravel(), [1 / 1.5, 2 / 3.5, 3 / 7.5])


def test_alexnet_defaults_barely_change_small_inputs():
    x = np.random.default_rng(0).standard_normal((2, 8, 3, 3))
    np.testing.assert_allclose(F.local_response_norm(x, 5), x, rtol=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match=r"at least 3-D \(N, C, \*\), got shape \(2, 3\)"):
        F.local_response_norm(np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="size must be at least 1, got 0"):
        F.local_response_norm(np.zeros((2, 3, 4)), 0)
    with pytest.raises(TypeError, match="size must be an int, got True"):
        F.local_response_norm(np.zeros((2, 3, 4)), True)
    with pytest.raises(TypeError, match="size must be an int, got 2.0"):
        F.local_response_norm(np.zeros((2, 3, 4)), 2.0)
    with pytest.raises(TypeError, match="beta must be a number"):
        F.local_response_norm(np.zeros((2, 3, 4)), 2, beta="0.75")
