"""cnnlib.init against torch.nn.init: gains, fans, bounds/stds and sample statistics."""

import inspect
import math

import numpy as np
import pytest
from helpers import torch

from cnnlib import init
from cnnlib import random as cr
from cnnlib.nn import Parameter

tinit = pytest.importorskip("torch.nn.init")

SHAPES = [(64, 32), (32, 16, 3, 3), (8, 4, 5, 5), (200, 1, 1, 1)]


NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]  # fmt: skip


@pytest.mark.parametrize("nl", NONLINEARITIES)
@pytest.mark.parametrize("param", [None, 0.2, math.sqrt(5), 0, 3])
def test_calculate_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == tinit.calculate_gain(nl, param)


def test_every_torch_nonlinearity_is_covered():
    names = inspect.signature(tinit.calculate_gain).parameters["nonlinearity"].annotation
    assert sorted(NONLINEARITIES) == sorted(names.__args__)


@pytest.mark.parametrize("nl, param", [("swish", None), ("ReLU", None), ("leaky_relu", "0.1"),
                                       ("leaky_relu", True)])  # fmt: skip
def test_calculate_gain_rejects_what_torch_rejects(nl, param):
    with pytest.raises(ValueError):
        tinit.calculate_gain(nl, param)
    with pytest.raises(
        ValueError, match="calculate_gain: (unsupported nonlinearity|negative_slope)"
    ):
        init.calculate_gain(nl, param)


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


@pytest.mark.parametrize("fill", [init.uniform_, init.normal_])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 3), (1, 40)])
def test_large_arrays_filled_in_blocks_get_the_numbers_of_one_draw(monkeypatch, fill, shape):
    # an array over _BLOCK elements is filled a few rows at a time (no float64 copy of a
    # big weight); the result must equal one draw of the whole shape, cast once
    monkeypatch.setattr(init, "_BLOCK", 8)
    a = fill(np.zeros(shape, np.float32), generator=np.random.default_rng(4))
    draw = getattr(np.random.default_rng(4), fill.__name__.rstrip("_"))
    np.testing.assert_array_equal(a, draw(size=shape).astype(np.float32))


def test_fills_torch_tensors_in_place():
    t = torch.zeros(32, 16, dtype=torch.float64)
    out = init.xavier_uniform_(t, generator=np.random.default_rng(0))
    assert out is t and t.abs().max().item() <= math.sqrt(6.0 / 48) and t.abs().sum() > 0


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(np.zeros((3, 3)), mode="fan_avg")
    # torch accepts the mode in any case
    w = init.kaiming_normal_(np.zeros((300, 4)), mode="FAN_OUT", generator=np.random.default_rng(0))
    assert w.std() == pytest.approx(math.sqrt(2 / 300), rel=0.1)


# ----- trunc_normal_ ----------------------------------------------------------------------
def _truncnorm_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) restricted to [a, b] (closed form)."""
    al, be = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(be) - cdf(al)
    m = (pdf(al) - pdf(be)) / z
    var = 1 + (al * pdf(al) - be * pdf(be)) / z - m * m
    return mean + std * m, std * math.sqrt(var)


@pytest.mark.parametrize(
    "mean, std, a, b",
    [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 1.5),
     (0.0, 1.0, 2.0, 3.0), (0.0, 1.0, -3.0, -1.5), (3.0, 0.5, -1.0, 10.0)],
)  # fmt: skip
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    """Both samplers (normal with redraws; uniform proposals when [a, b] holds <= 30% of
    the mass) give the truncated normal: values inside [a, b], its mean and std, torch's."""
    x = init.trunc_normal_(np.empty(200_000), mean, std, a, b, generator=np.random.default_rng(0))
    want_mean, want_std = _truncnorm_moments(mean, std, a, b)
    assert a <= x.min() and x.max() <= b
    assert x.mean() == pytest.approx(want_mean, abs=0.01 * want_std)
    assert x.std() == pytest.approx(want_std, rel=0.01)
    t = tinit.trunc_normal_(torch.empty(10_000, dtype=torch.float64), mean, std, a, b)
    assert t.std().item() == pytest.approx(want_std, rel=0.05)
    # the whole distribution, not only two moments: the deciles are the exact ones
    stats = pytest.importorskip("scipy.stats")
    q = np.linspace(0.1, 0.9, 9)
    exact = stats.truncnorm.ppf(q, (a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    np.testing.assert_allclose(np.quantile(x, q), exact, atol=0.005 * (b - a))


def test_trunc_normal_warns_like_torch_when_mean_is_far():
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(np.empty(10), mean=10.0)


# ----- orthogonal_ ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (8, 3, 3, 3), (2, 5, 1)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain):
    w = init.orthogonal_(np.empty(shape), gain=gain, generator=np.random.default_rng(1))
    m = w.reshape(shape[0], -1)
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-12)
    t = tinit.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain).reshape(shape[0], -1)
    ts = t @ t.T if m.shape[0] <= m.shape[1] else t.T @ t
    np.testing.assert_allclose(ts.numpy(), small, atol=1e-12)  # torch's rule for which side


def test_orthogonal_is_uniformly_random():
    """Haar distribution: every entry of a random n x n orthogonal matrix has mean 0 and
    variance 1/n (the sign fix makes the diagonal no different from the rest)."""
    g = np.random.default_rng(2)
    ws = np.stack([init.orthogonal_(np.empty((4, 4)), generator=g) for _ in range(4000)])
    np.testing.assert_allclose(ws.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(ws.var(axis=0), 1 / 4, rtol=0.1)


def test_orthogonal_needs_two_dims_and_skips_empty():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal_(np.zeros(5))
    assert init.orthogonal_(np.zeros((3, 0))).shape == (3, 0)


# ----- every initialiser on every kind of tensor ------------------------------------------
FILLS = {
    "uniform_": lambda t: init.uniform_(t, -0.5, 0.5),
    "normal_": lambda t: init.normal_(t, 0.0, 0.1),
    "trunc_normal_": lambda t: init.trunc_normal_(t, std=0.1, a=-0.2, b=0.2),
    "constant_": lambda t: init.constant_(t, 0.3),
    "zeros_": init.zeros_,
    "ones_": init.ones_,
    "xavier_uniform_": init.xavier_uniform_,
    "xavier_normal_": init.xavier_normal_,
    "kaiming_uniform_": init.kaiming_uniform_,
    "kaiming_normal_": lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
    "orthogonal_": init.orthogonal_,
}
KINDS = ["numpy", "Parameter", "torch", "torch-Parameter", "Parameter-of-torch"]


def _make(kind):
    if kind == "numpy":
        return np.full((6, 5), 7.0, dtype=np.float32)
    if kind == "Parameter":
        return Parameter(np.full((6, 5), 7.0, dtype=np.float32))
    if kind == "Parameter-of-torch":
        return Parameter(torch.full((6, 5), 7.0))
    t = torch.full((6, 5), 7.0)
    return torch.nn.Parameter(t) if kind == "torch-Parameter" else t


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(FILLS))
def test_every_initialiser_fills_every_kind_in_place(name, kind):
    obj = _make(kind)
    array = obj.data if isinstance(obj, Parameter) else obj
    out = FILLS[name](obj)
    assert out is obj
    assert (obj.data if isinstance(obj, Parameter) else obj) is array  # in place
    values = np.asarray(array.detach() if isinstance(array, torch.Tensor) else array)
    assert values.dtype == np.float32
    assert (values != 7.0).all()
    if kind == "torch-Parameter":
        assert obj.requires_grad and obj.grad_fn is None  # still a trainable leaf


@pytest.mark.parametrize(
    "name", [n for n in sorted(FILLS) if n not in ("constant_", "zeros_", "ones_")]
)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_random_initialisers_refuse_integer_arrays(name, dtype):
    """torch refuses to draw random numbers into integer tensors; cnnlib says so clearly."""
    with pytest.raises(TypeError, match=rf"{name}: tensor has dtype .*floating-point"):
        FILLS[name](np.zeros((6, 5), dtype=dtype))


def test_constant_fills_integer_arrays_like_torch():
    a = init.constant_(np.zeros(4, dtype=np.int64), 2.7)
    t = tinit.constant_(torch.zeros(4, dtype=torch.int64), 2.7)
    np.testing.assert_array_equal(a, t.numpy())


def test_init_rejects_non_arrays():
    with pytest.raises(TypeError, match="must be an array"):
        init.normal_([0.0, 1.0])


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_kaiming_on_zero_elements_is_a_no_op_like_torch(fn):
    """nn.Linear(0, 3) builds in torch: its (3, 0) weight is left alone, with a warning."""
    with pytest.warns(UserWarning, match="zero-element"):
        w = fn(np.empty((3, 0)))
    assert w.shape == (3, 0)


@pytest.mark.parametrize("name", sorted(FILLS) + ["calculate_gain"])
def test_signature_matches_torch(name):
    ours, theirs = getattr(init, name), getattr(tinit, name)
    got = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
    want = [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert got == want
