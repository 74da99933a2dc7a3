import matplotlib

matplotlib.use("Agg")

import math

import numpy as np
import pytest

from cnnlib import functional as F
from cnnlib import random as cr
from cnnlib.viz import init_stats
from cnnlib.viz.init_stats import init_std, mean_stats, signal_propagation
from cnnlib.widgets import InitExplorer, SeededRandom
from cnnlib.widgets.init_explorer import explorer_network


@pytest.fixture(scope="module")
def explorer():
    return InitExplorer(depth=6, channels=8, networks=2)


def test_explorer_computes_its_networks_with_cnnlib(explorer):
    runs = explorer.compute()
    assert len(runs) == 2 and runs[0].act_std.shape == runs[0].grad_std.shape == (7,)
    # network r is signal_propagation on the seeded generator with seed r
    again = explorer_network(6, "relu", "he", 1.0, 8, seed=1)
    np.testing.assert_array_equal(runs[1].act_std, again.act_std)
    assert not np.allclose(runs[0].act_std, runs[1].act_std)
    assert "fan_in = 8*3*3 = 72" in explorer.summary()
    assert explorer.act_std == [] and explorer.grad_std == []  # the browser fills these


def test_explorer_network_draws_input_weights_then_gradient():
    stats = explorer_network(2, "linear", "he", 1.0, 4, seed=5)
    rng = SeededRandom(5)
    a0 = rng.normal((1, 4, 8, 8))
    std = math.sqrt(2 / 36)
    w1, w2 = rng.normal((4, 4, 3, 3), std), rng.normal((4, 4, 3, 3), std)
    g = rng.normal((1, 4, 8, 8))
    assert stats.weight_std == std
    a1 = F.conv2d(init_stats._wrap_pad(a0, 1), w1)
    a2 = F.conv2d(init_stats._wrap_pad(a1, 1), w2)
    np.testing.assert_allclose(stats.act_std, [a0.std(), a1.std(), a2.std()], rtol=1e-12)
    assert stats.grad_std[-1] == g.std()


def test_settings_are_checked_and_set_together(explorer):
    explorer.set(scheme="xavier", gain=1.0, channels=16, activation="tanh")
    assert explorer.settings() == dict(
        depth=6, activation="tanh", scheme="xavier", gain=1.0, channels=16
    )
    assert "weight std 0.08333" in explorer.summary()  # sqrt(2 / (144 + 144))
    explorer.set(depth=6, activation="relu", scheme="he", channels=8)


def test_bad_settings_raise(explorer):
    with pytest.raises(ValueError, match="depth must be an integer in \\[2, 40\\]"):
        explorer.set(depth=1)
    with pytest.raises(ValueError, match="scheme must be one of"):
        explorer.set(scheme="lecun")
    with pytest.raises(ValueError, match="channels must be one of"):
        explorer.set(channels=12)
    with pytest.raises(ValueError, match="unknown setting 'width'"):
        explorer.set(width=3)
    with pytest.raises(ValueError, match="gain must be a number in"):
        explorer.gain = 9.0
    with pytest.raises(ValueError, match="networks must be"):
        InitExplorer(networks=0)
    assert explorer.settings()["depth"] == 6  # nothing changed by the failed calls


def test_init_std_uses_the_conv_fan_in():
    c_out, c_in, k = 8, 5, 3
    fan_in, fan_out = c_in * k * k, c_out * k * k
    assert init_std("he", (c_out, c_in, k, k)) == pytest.approx(math.sqrt(2 / fan_in))
    assert init_std("xavier", (c_out, c_in, k, k), gain=2.0) == pytest.approx(
        2 * math.sqrt(2 / (fan_in + fan_out))
    )
    assert init_std("too large", (c_out, c_in, k, k)) == 1.0
    with pytest.raises(ValueError, match="scheme must be one of"):
        init_std("kaiming", (3, 3, 3, 3))
    with pytest.raises(ValueError, match="gain must be a positive number"):
        init_std("he", (3, 3, 3, 3), gain=0)


@pytest.mark.parametrize("p", [1, 2])
def test_wrap_pad_backward_is_the_adjoint(p):
    rng = np.random.default_rng(p)
    x = rng.normal(size=(2, 3, 5, 6))
    g = rng.normal(size=(2, 3, 5 + 2 * p, 6 + 2 * p))
    lhs = np.vdot(init_stats._wrap_pad(x, p), g)
    assert lhs == pytest.approx(np.vdot(x, init_stats._wrap_pad_backward(g, p)), rel=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear", "leaky_relu"])
def test_signal_propagation_matches_torch_autograd(activation):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    depth, c, n, size = 4, 3, 2, 6
    stats = signal_propagation(depth, activation, "he", channels=c, batch=n, size=size, seed=7)
    # the same numbers in the same order: input, the weights layer by layer, the upstream gradient
    gen = cr.make_generator(seed=7)
    std = math.sqrt(2 / (c * 9))
    a0 = torch.tensor(cr.normal((n, c, size, size), generator=gen), requires_grad=True)
    acts, a = [a0], a0
    for _ in range(depth):
        w = torch.tensor(cr.normal((c, c, 3, 3), 0.0, std, generator=gen))
        z = tf.conv2d(tf.pad(a, (1, 1, 1, 1), mode="circular"), w)
        a = {
            "relu": torch.relu,
            "tanh": torch.tanh,
            "linear": lambda t: t,
            "leaky_relu": lambda t: tf.leaky_relu(t, 0.01),
        }[activation](z)
        a.retain_grad()
        acts.append(a)
    a.backward(torch.tensor(cr.normal(tuple(a.shape), generator=gen)))
    expected_act = [t.detach().std(unbiased=False).item() for t in acts]
    expected_grad = [t.grad.std(unbiased=False).item() for t in acts]
    np.testing.assert_allclose(stats.act_std, expected_act, rtol=1e-10)
    np.testing.assert_allclose(stats.grad_std, expected_grad, rtol=1e-10)


def test_measured_numbers_are_sane():
    runs = {s: signal_propagation(20, "relu", s, seed=1) for s in init_stats.SCHEMES}
    he = mean_stats(signal_propagation(20, "relu", "he", seed=s) for s in range(3))
    # layer 1: Var(z) = fan_in * (2 / fan_in) * Var(input) = 2
    assert he.pre_std[1] == pytest.approx(math.sqrt(2), rel=0.05)
    assert 0.2 < he.act_std[-1] < 5 and 0.2 < he.grad_std[0] < 5
    assert runs["too small"].act_std[-1] < 1e-15 and runs["too small"].grad_std[0] < 1e-15
    assert runs["too large"].act_std[-1] > 1e15 and runs["too large"].grad_std[0] > 1e15
    assert runs["xavier"].act_std[-1] < 1e-2  # half the variance lost per ReLU layer
    linear = mean_stats(signal_propagation(20, "linear", "xavier", seed=s) for s in range(3))
    assert np.all((linear.act_std > 0.5) & (linear.act_std < 2))
    assert linear.grad_std[-1] == pytest.approx(1.0, rel=0.05)


def test_zero_padding_loses_variance_at_the_border():
    circular = mean_stats(signal_propagation(15, "linear", "xavier", seed=s) for s in range(3))
    zeros = mean_stats(
        signal_propagation(15, "linear", "xavier", padding_mode="zeros", seed=s) for s in range(3)
    )
    assert zeros.act_std[-1] < 0.8 * circular.act_std[-1]


def test_bad_input_raises():
    with pytest.raises(ValueError, match="signal_propagation: depth must be an integer >= 1"):
        signal_propagation(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        signal_propagation(3, "sigmoid")
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        signal_propagation(3, kernel_size=4)
    with pytest.raises(ValueError, match="padding_mode must be"):
        signal_propagation(3, padding_mode="reflect")
    with pytest.raises(ValueError, match="size must be an integer >= kernel_size 3"):
        signal_propagation(3, size=2)
    with pytest.raises(ValueError, match="at least one"):
        mean_stats([])
    with pytest.raises(ValueError, match="different depths"):
        mean_stats([signal_propagation(2, channels=4), signal_propagation(3, channels=4)])
