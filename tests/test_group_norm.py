"""group_norm and nn.GroupNorm against torch (float64 and float32, every backend), its
relation to layer norm, and bad input."""

import inspect

import numpy as np
import pytest
from helpers import DTYPES, check_op, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend

from cnnlib import functional as F
from cnnlib import nn

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 4),
    per_group=st.integers(1, 3),
    spatial=st.sampled_from([(), (1,), (3,), (2, 3), (2, 1, 2)]),
    affine=st.sampled_from(["both", "weight", "none"]),
    eps=st.sampled_from([1e-5, 1e-2]),
    scale=st.sampled_from([1.0, 100.0]),
    seed=st.integers(0, 2**16),
)
def test_group_norm_matches_torch(
    backend, dtype, n, groups, per_group, spatial, affine, eps, scale, seed
):
    # (affine='bias' alone is not compared: torch's own group_norm backward fails there)
    if n * per_group * int(np.prod(spatial)) == 1:
        per_group = 2  # torch refuses one value per group in the whole batch (cnnlib allows)
    rng = np.random.default_rng(seed)
    c = groups * per_group
    x = rng.standard_normal((n, c) + spatial) * scale + rng.standard_normal()
    weight = rng.standard_normal(c) if affine != "none" else None
    bias = rng.standard_normal(c) if affine == "both" else None
    check_op(F.group_norm_forward, F.group_norm_backward, TF.group_norm,
             [x, groups, weight, bias, eps], backend=backend, op=F.group_norm, seed=seed,
             dtype=dtype)  # fmt: skip


def test_group_norm_with_bias_only():
    """torch fails on this case, so check it against layer norm over the grouped view."""
    rng = np.random.default_rng(0)
    x, bias, dout = (
        rng.standard_normal((2, 6, 3)),
        rng.standard_normal(6),
        rng.standard_normal((2, 6, 3)),
    )
    out, cache = F.group_norm_forward(x, 3, None, bias)
    ln_out, ln_cache = F.layer_norm_forward(x.reshape(2, 3, 6), (6,))
    np.testing.assert_allclose(out, ln_out.reshape(2, 6, 3) + bias[:, None], rtol=1e-12)
    dx, dweight, dbias = F.group_norm_backward(dout, cache)
    ln_dx = F.layer_norm_backward(dout.reshape(2, 3, 6), ln_cache)[0]
    np.testing.assert_allclose(dx, ln_dx.reshape(2, 6, 3), rtol=1e-10, atol=1e-12)
    assert dweight is None
    np.testing.assert_allclose(dbias, dout.sum(axis=(0, 2)), rtol=1e-12)


def test_one_group_is_layer_norm_over_channels_and_positions():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal(3), rng.standard_normal(3)
    out = F.group_norm(x, 1, w, b)
    x_hat = F.layer_norm(x, (3, 4, 5))
    np.testing.assert_allclose(out, x_hat * w[:, None, None] + b[:, None, None], rtol=1e-10)


@needs_torch
@pytest.mark.parametrize(
    "args, kwargs",
    [((2, 6), {}), ((3, 6), {"eps": 1e-3}), ((6, 6), {}), ((1, 6), {"affine": False}),
     ((2, 6), {"bias": False})],
)  # fmt: skip
def test_group_norm_layer_matches_torch(args, kwargs, lb):
    ours, theirs = nn.GroupNorm(*args, **kwargs), torch.nn.GroupNorm(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1.5, 1.5)
    copy_weights(ours, theirs, lb)
    x = np.random.default_rng(3).standard_normal((2, 6, 3, 4)) * 3 + 1
    for train in (True, False):  # no batch statistics: the same in both modes
        ours.zero_grad()
        theirs.zero_grad()
        compare(ours.train(train), theirs.train(train), x, lb)


@needs_torch
def test_group_norm_signatures_are_torchs():
    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(F.group_norm) == params(TF.group_norm)
    assert params(nn.GroupNorm) == params(torch.nn.GroupNorm)


def test_group_norm_bad_input():
    x = np.zeros((2, 6, 4))
    with pytest.raises(
        ValueError,
        match=r"num_groups=4 must divide the number of channels, but "
        r"the input has C=6 \(shape \(2, 6, 4\)\)",
    ):
        F.group_norm(x, 4)  # fmt: skip
    with pytest.raises(ValueError, match=r"input must be \(N, C, \*\), got shape \(6,\)"):
        F.group_norm(np.zeros(6), 3)
    with pytest.raises(ValueError, match="num_groups must be at least 1, got 0"):
        F.group_norm(x, 0)
    with pytest.raises(TypeError, match="num_groups must be an int"):
        F.group_norm(x, 2.0)
    with pytest.raises(ValueError, match=r"weight must have one entry per channel, shape \(6,\)"):
        F.group_norm(x, 3, np.ones(5))
    with pytest.raises(TypeError, match="input is float64, bias is float32"):
        F.group_norm(x, 3, None, np.ones(6, np.float32))
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups "
                                         r"\(4\)"):  # fmt: skip
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="num_groups must be at least 1"):
        nn.GroupNorm(0, 6)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 6, \*\), got \(2, 4\)"):
        nn.GroupNorm(2, 6)(np.zeros((2, 4), np.float32))
    _, cache = F.group_norm_forward(x, 3)
    with pytest.raises(ValueError, match=r"group_norm_backward: dout has shape \(2, 6\)"):
        F.group_norm_backward(np.zeros((2, 6)), cache)
