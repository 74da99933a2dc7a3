import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnlib.widgets import BatchNormExplorer, SeededRandom
from cnnlib.widgets.batchnorm_explorer import (
    CHANNEL_MEANS,
    CHANNEL_STDS,
    plot_batch_norm_run,
    simulate_batch_norm,
)


@pytest.fixture(scope="module")
def explorer():
    return BatchNormExplorer(batch_size=8, steps=20)


def test_explorer_computes_with_cnnlib(explorer):
    run = explorer.compute()
    assert run.x.shape == run.out.shape == (8, 3, 4, 4)
    assert run.running_mean.shape == run.running_var.shape == (21, 3)
    np.testing.assert_array_equal(run.running_mean[0], 0.0)  # torch's initial buffers
    np.testing.assert_array_equal(run.running_var[0], 1.0)
    assert "channel 2: data mean +3.00 var 4" in explorer.summary()
    assert "0.90 in Keras" in explorer.summary()
    assert explorer.running_mean == []  # the browser fills it


def test_the_batches_come_from_the_seeded_generator():
    run = simulate_batch_norm(batch_size=2, steps=1, seed=3)
    z = SeededRandom(3).normal((2, 3, 4, 4))
    center = np.array(CHANNEL_MEANS).reshape(1, 3, 1, 1)
    spread = np.array(CHANNEL_STDS).reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(run.x, center + spread * z)


def test_training_mode_normalises_each_channel(explorer):
    explorer.set(gamma=2.0, beta=-1.0, shift=3.0, scale=4.0)
    run = explorer.compute()
    np.testing.assert_allclose(run.out.mean(axis=(0, 2, 3)), -1.0, atol=1e-12)
    np.testing.assert_allclose(run.out.std(axis=(0, 2, 3)), 2.0, rtol=1e-5)  # eps: a hair below
    assert np.all(run.out.std(axis=(0, 2, 3)) < 2.0)
    np.testing.assert_allclose(run.true_mean, 3.0 + np.array(CHANNEL_MEANS))
    np.testing.assert_allclose(run.true_var, (4.0 * np.array(CHANNEL_STDS)) ** 2)
    explorer.set(gamma=1.0, beta=0.0, shift=0.0, scale=1.0)


def test_settings_are_traits(explorer):
    explorer.steps = 30
    assert explorer.compute().running_mean.shape == (31, 3)
    explorer.set(batch_size=2, mode="eval")
    run = explorer.compute()
    assert run.x.shape == (2, 3, 4, 4) and not run.training
    explorer.set(momentum=0.1, mode="train", batch_size=8, steps=20)
    assert explorer.settings() == dict(
        batch_size=8, momentum=0.1, gamma=1.0, beta=0.0, mode="train", shift=0.0, scale=1.0,
        steps=20,
    )  # fmt: skip


def test_running_statistics_follow_the_torch_recurrence():
    torch = pytest.importorskip("torch")
    run = simulate_batch_norm(batch_size=3, momentum=0.3, gamma=1.5, beta=0.5, steps=6, seed=4)
    bn = torch.nn.BatchNorm2d(3, momentum=0.3).double()
    with torch.no_grad():
        bn.weight.fill_(1.5)
        bn.bias.fill_(0.5)
    for t in range(1, 7):
        # the same seed draws the same batches, so the t-step run ends with batch t
        batch = simulate_batch_norm(batch_size=3, momentum=0.3, steps=t, seed=4).x
        out = bn(torch.from_numpy(batch))
        np.testing.assert_allclose(bn.running_mean.numpy(), run.running_mean[t], rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.numpy(), run.running_var[t], rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), run.out, rtol=1e-10)


def test_eval_mode_uses_the_running_statistics():
    young = simulate_batch_norm(mode="eval", steps=3, batch_size=4)
    old = simulate_batch_norm(mode="eval", steps=200, batch_size=64)
    # after 3 steps 0.9^3 = 73% of the running mean is still the initial 0: not normalised
    assert abs(young.out[:, 2].mean()) > 1.0
    # after 200 steps the running statistics match the distribution, and so does the output
    np.testing.assert_allclose(old.running_mean[-1], old.true_mean, atol=0.1)
    np.testing.assert_allclose(old.running_var[-1], old.true_var, rtol=0.1)
    np.testing.assert_allclose(old.out.mean(axis=(0, 2, 3)), 0.0, atol=0.1)
    np.testing.assert_allclose(old.out.std(axis=(0, 2, 3)), 1.0, atol=0.1)
    # eval mode is an affine map per channel, with the running statistics
    mean, var = old.running_mean[-1], old.running_var[-1]
    expected = (old.x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(old.out, expected, rtol=1e-12)


def test_momentum_one_keeps_only_the_last_batch():
    run = simulate_batch_norm(momentum=1.0, steps=5, batch_size=2)
    m = run.x.shape[0] * 16
    np.testing.assert_allclose(run.running_mean[-1], run.x.mean(axis=(0, 2, 3)), rtol=1e-12)
    unbiased = run.x.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(run.running_var[-1], unbiased, rtol=1e-12)


def test_plot_panels():
    fig, axes = plt.subplots(1, 4)
    plot_batch_norm_run(axes, simulate_batch_norm(steps=4), title="a title")
    assert [ax.get_title() for ax in axes][2:] == ["running_mean", "running_var"]
    assert fig._suptitle.get_text() == "a title"
    plt.close(fig)


def test_bad_settings_raise(explorer):
    with pytest.raises(ValueError, match="batch_size must be an integer in \\[1, 256\\]"):
        explorer.set(batch_size=0)
    with pytest.raises(ValueError, match="momentum must be a number in \\[0.01, 1\\]"):
        explorer.set(momentum=1.5)
    with pytest.raises(ValueError, match="mode must be one of"):
        explorer.set(mode="inference")
    with pytest.raises(ValueError, match="scale must be"):
        explorer.set(scale=0)
    with pytest.raises(ValueError, match="unknown setting 'eps'"):
        explorer.set(eps=1e-3)
    with pytest.raises(ValueError, match="simulate_batch_norm: steps must be"):
        simulate_batch_norm(steps=0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        BatchNormExplorer(seed=1.5)
    with pytest.raises(ValueError, match="momentum must be a number"):
        explorer.momentum = 0.0
    assert explorer.settings()["batch_size"] == 8  # nothing changed by the failed calls
