"""cnnlib.init against torch.nn.init: gains, fans, bounds/stds and sample statistics."""

import math

import numpy as np
import pytest
from helpers import torch

from cnnlib import init
from cnnlib import random as cr
from cnnlib.nn import Parameter

tinit = pytest.importorskip("torch.nn.init")

SHAPES = [(64, 32), (32, 16, 3, 3), (8, 4, 5, 5), (200, 1, 1, 1)]


@pytest.mark.parametrize(
    "nl, param",
    [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
     ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)],
)  # fmt: skip
def test_calculate_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(tinit.calculate_gain(nl, param))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    got = init._calculate_fan_in_and_fan_out(np.zeros(shape))
    assert got == tinit._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init._calculate_fan_in_and_fan_out(np.zeros(5))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_uniform_bound_and_variance(shape, gain):
    cr.manual_seed(0)
    a = init.xavier_uniform_(np.zeros(shape), gain=gain)
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.zeros(shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))  # torch's formula
    assert np.abs(a).max() <= bound
    assert np.abs(a).max() > 0.9 * bound
    t = tinit.xavier_uniform_(torch.zeros(shape, dtype=torch.float64), gain=gain)
    assert t.abs().max().item() <= bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nl, a", [("relu", 0), ("leaky_relu", math.sqrt(5)), ("tanh", 0)])
def test_kaiming_uniform_bound(mode, nl, a):
    shape = (64, 32, 3, 3)
    cr.manual_seed(1)
    w = init.kaiming_uniform_(np.zeros(shape), a=a, mode=mode, nonlinearity=nl)
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.zeros(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * tinit.calculate_gain(nl, a) / math.sqrt(fan)
    assert bound * 0.98 < np.abs(w).max() <= bound
    # U(-b, b) has variance b^2 / 3
    assert np.var(w) == pytest.approx(bound**2 / 3, rel=0.03)
    t = tinit.kaiming_uniform_(torch.zeros(shape, dtype=torch.float64), a, mode, nl)
    assert t.abs().max().item() <= bound
    assert t.var().item() == pytest.approx(np.var(w), rel=0.05)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_and_xavier_normal_std(mode):
    shape = (128, 64, 3, 3)
    cr.manual_seed(2)
    w = init.kaiming_normal_(np.zeros(shape), mode=mode, nonlinearity="relu")
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.zeros(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    assert w.std() == pytest.approx(math.sqrt(2.0 / fan), rel=0.02)
    t = tinit.kaiming_normal_(torch.zeros(shape, dtype=torch.float64), mode=mode)
    assert t.std().item() == pytest.approx(w.std(), rel=0.03)
    x = init.xavier_normal_(np.zeros(shape), gain=0.5)
    assert x.std() == pytest.approx(0.5 * math.sqrt(2.0 / (fan_in + fan_out)), rel=0.02)
    assert abs(x.mean()) < 0.05 * x.std()


def test_kaiming_default_conv_init_is_one_over_sqrt_fan_in():
    w = init.kaiming_uniform_(np.zeros((16, 8, 3, 3)), a=math.sqrt(5))
    assert np.abs(w).max() <= 1 / math.sqrt(8 * 9)
    assert np.abs(w).max() > 0.95 / math.sqrt(8 * 9)


def test_simple_fills_in_place_on_parameters_and_arrays():
    p = Parameter(np.full((3, 4), 7.0, dtype=np.float32))
    data = p.data
    assert init.zeros_(p) is p
    assert p.data is data and (data == 0).all() and data.dtype == np.float32
    init.ones_(p)
    assert (p.data == 1).all()
    init.constant_(p, 0.25)
    assert (p.data == 0.25).all()
    a = init.uniform_(np.zeros(10000), -2.0, 3.0)
    assert a.min() >= -2 and a.max() < 3 and a.mean() == pytest.approx(0.5, abs=0.05)
    b = init.normal_(np.zeros(10000), 1.0, 0.5)
    assert b.mean() == pytest.approx(1.0, abs=0.02) and b.std() == pytest.approx(0.5, rel=0.03)


def test_generator_and_seed_make_fills_reproducible():
    a = init.kaiming_uniform_(np.zeros((8, 4)), generator=np.random.default_rng(3))
    b = init.kaiming_uniform_(np.zeros((8, 4)), generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    cr.manual_seed(5)
    c = init.normal_(np.zeros(6))
    cr.manual_seed(5)
    np.testing.assert_array_equal(c, init.normal_(np.zeros(6)))


def test_fills_torch_tensors_in_place():
    t = torch.zeros(32, 16, dtype=torch.float64)
    out = init.xavier_uniform_(t, generator=np.random.default_rng(0))
    assert out is t and t.abs().max().item() <= math.sqrt(6.0 / 48) and t.abs().sum() > 0


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(np.zeros((3, 3)), mode="fan_avg")
