"""linear against torch for any leading dimensions, and bad input."""

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
    lead=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
    in_features=st.integers(1, 6),
    out_features=st.integers(1, 6),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_matches_torch(backend, dtype, lead, in_features, out_features, with_bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + (in_features,))
    w = rng.standard_normal((out_features, in_features))
    b = rng.standard_normal(out_features) if with_bias else None
    out = check_op(
        F.linear_forward,
        F.linear_backward,
        TF.linear,
        [x, w, b],
        backend=backend,
        op=F.linear,
        grad_argnums=[0, 1, 2] if with_bias else [0, 1],
        dtype=dtype,
        seed=seed,
    )
    assert out.shape == lead + (out_features,)


def test_linear_without_bias_returns_none_for_dbias(backend):
    x, w = (to_backend(np.ones(s), backend) for s in [(2, 3), (4, 3)])
    out, cache = F.linear_forward(x, w)
    dx, dw, db = F.linear_backward(to_backend(np.ones((2, 4)), backend), cache)
    assert db is None
    np.testing.assert_allclose(to_numpy(dx), np.full((2, 3), 4.0))
    np.testing.assert_allclose(to_numpy(dw), np.full((4, 3), 2.0))


def test_a_worked_example():
    """x = [1, 2], W = [[1, 0], [1, 1], [0, -1]], b = [0, 1, 2] gives [1, 4, 0]."""
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    np.testing.assert_array_equal(F.linear(x, w, np.array([0.0, 1.0, 2.0])), [[1.0, 4.0, 0.0]])


def test_feature_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"input has shape \(2, 5\) and weight has shape \(3, 4\)"):
        F.linear(np.zeros((2, 5)), np.zeros((3, 4)))


def test_bias_length_is_checked():
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\).*got \(4,\)"):
        F.linear(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(4))


def test_weight_must_be_2d():
    with pytest.raises(ValueError, match=r"weight must be 2-D \(out_features, in_features\)"):
        F.linear(np.zeros((2, 4)), np.zeros(4))


def test_backward_checks_dout_shape():
    _, cache = F.linear_forward(np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"dout has shape \(2, 4\) but .* has shape \(2, 3\)"):
        F.linear_backward(np.zeros((2, 4)), cache)
