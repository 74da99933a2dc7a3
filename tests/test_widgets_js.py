"""The explorers' JavaScript arithmetic against cnnlib, run in node (no browser needed).

Each explorer's ES module (js/common.js + its own file, exactly what the widget ships) is
imported by a small node script that prints its results as JSON; cnnlib computes the same
settings here. The browser tests (tests/book/test_explorers_site.py) then check that the page
shows these numbers when its controls are moved. Skipped where node is not installed.
"""

import json
import shutil
import subprocess

import numpy as np
import pytest

from cnnlib import functional as F
from cnnlib import viz
from cnnlib.widgets import simulate_batch_norm
from cnnlib.widgets._base import module_source
from cnnlib.widgets.conv_stepper import tile
from cnnlib.widgets.init_explorer import explorer_network
from cnnlib.widgets.kernel_explorer import formula_text
from cnnlib.widgets.seeded import SeededRandom, mulberry32

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(tmp_path, explorer, body, **data):
    """Import explorer's module in node, run `body` (which sets `result`), return the result."""
    (tmp_path / "module.mjs").write_text(module_source(explorer), encoding="utf8")
    script = (
        'import * as m from "./module.mjs";\n'
        f"const data = {json.dumps(data)};\n"
        "let result;\n"
        f"{body}\n"
        "console.log(JSON.stringify(result));\n"
    )
    (tmp_path / "main.mjs").write_text(script, encoding="utf8")
    done = subprocess.run(
        [NODE, "main.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_generators_agree(tmp_path):
    result = run_js(
        tmp_path,
        "init",
        """const u = m.mulberry32(data.seed), z = m.normals(data.seed);
        result = {u: Array.from({length: 5000}, u), z: Array.from({length: 2000}, z)};""",
        seed=2024,
    )
    assert result["u"] == mulberry32(2024, 5000).tolist()
    np.testing.assert_allclose(result["z"], SeededRandom(2024).normal((2000,)), rtol=1e-14)


KERNEL_SETTINGS = [
    # kernel, stride, padding, dilation, mode, convolution
    ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 1, 0, 1, "zeros", False),
    ([[1, 2, 0], [0, -1, 3], [-2, 0, 1]], 2, 3, 2, "reflect", True),
    ([[1, 2, 0], [0, -1, 3], [-2, 0, 1]], 3, 5, 1, "replicate", False),
    ([[0, 1, 0], [2, -7, 1], [0, 3, 0]], 1, 9, 2, "circular", True),
    ([[5]], 2, 1, 1, "reflect", False),
    (np.arange(25).reshape(5, 5) - 12, 2, 4, 3, "circular", False),
    (np.full((3, 3), 1 / 9), 1, 2, 1, "reflect", False),
    ([[0.25, -1.5, 0.5], [0, 1e-3, 2], [-0.75, 0.125, 3.5]], 1, 1, 2, "replicate", True),
]


def test_the_kernel_explorer_filters_like_filter_image(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(11, 13), dtype=np.uint8)
    body = """result = data.settings.map(([kernel, stride, padding, dilation, mode, convolution]) =>
      Array.from(m.filterImage(Uint8Array.from(data.image.flat()), 11, 13, kernel,
        {stride, padding, dilation, mode, convolution}).values));
    result.push(m.formulaText(96, 7, 2, 3, 2));"""
    settings = [[np.asarray(k, float).tolist(), *rest] for k, *rest in KERNEL_SETTINGS]
    result = run_js(tmp_path, "kernel", body, image=image.tolist(), settings=settings)
    assert result.pop() == formula_text(96, 7, 2, 3, 2)
    for values, (kernel, stride, padding, dilation, mode, convolution) in zip(
        result, KERNEL_SETTINGS
    ):
        kernel = np.asarray(kernel, float)
        expected = viz.filter_image(
            image.astype(float), kernel, stride, padding, dilation, mode, convolution
        )
        if np.all(kernel == np.round(kernel)):
            assert values == expected.ravel().tolist()  # integers: exact
        else:
            np.testing.assert_allclose(values, expected.ravel(), rtol=1e-12, atol=1e-12)


STEPPER_SETTINGS = [
    # size, kernel size, stride, padding, dilation, transposed
    (5, 3, 2, 1, 1, False),
    (7, 3, 1, 0, 2, False),
    (6, 2, 3, 2, 1, False),
    (4, 3, 2, 1, 1, True),
    (4, 2, 3, 1, 2, True),
    (3, 3, 2, 3, 1, True),  # padding > d(k - 1): the view skips a row and a column
]


def test_the_stepper_steps_through_conv2d_and_conv_transpose2d(tmp_path):
    x = [[1, 3, 0, 2, 4], [4, 7, 4, 1, 0], [4, 6, 0, 0, 6], [3, 2, 8, 1, 2], [3, 5, 0, 7, 3]]
    k = [[1, 0, 1], [-1, 1, 0], [0, 1, -1]]
    body = """result = data.settings.map(([n, ks, stride, padding, dilation, transposed]) => {
      const plan = m.layout(m.tile(data.x, n), m.tile(data.k, ks),
                            {stride, padding, dilation, transposed});
      return Array.from({length: plan.out * plan.out}, (_, t) => m.stepAt(plan, t, dilation));
    });"""
    result = run_js(tmp_path, "stepper", body, x=x, k=k, settings=STEPPER_SETTINGS)
    for steps, (n, ks, stride, padding, dilation, transposed) in zip(result, STEPPER_SETTINGS):
        xs, ws = tile(x, n)[None, None], tile(k, ks)[None, None]
        op = F.conv_transpose2d if transposed else F.conv2d
        expected = op(xs, ws, None, stride, padding, dilation=dilation)[0, 0]
        side = expected.shape[0]
        assert len(steps) == side * side
        for t, step in enumerate(steps):
            assert step["index"] == list(divmod(t, side))
            assert step["value"] == expected[divmod(t, side)]


INIT_SETTINGS = [
    ("relu", "he", 1.0, 8),
    ("tanh", "xavier", 2**0.75, 4),
    ("leaky_relu", "too large", 0.5, 8),
    ("linear", "too small", 8.0, 4),
]


def test_the_init_explorer_propagates_like_signal_propagation(tmp_path):
    body = """result = data.settings.map(([activation, scheme, gain, channels]) =>
      m.propagate({depth: 12, activation, scheme, gain, channels, size: 8, seed: 3}));"""
    result = run_js(tmp_path, "init", body, settings=INIT_SETTINGS)
    for run, (activation, scheme, gain, channels) in zip(result, INIT_SETTINGS):
        stats = explorer_network(12, activation, scheme, gain, channels, seed=3)
        assert run["weightStd"] == stats.weight_std
        np.testing.assert_allclose(run["act"], stats.act_std, rtol=1e-10)
        np.testing.assert_allclose(run["grad"], stats.grad_std, rtol=1e-10)


BN_SETTINGS = [
    dict(batch_size=3, momentum=0.3, gamma=1.5, beta=0.5, mode="train", shift=0, scale=1, steps=6),
    dict(batch_size=1, momentum=1.0, gamma=-2, beta=0, mode="eval", shift=4, scale=0.25, steps=3),
    dict(batch_size=16, momentum=0.05, gamma=1, beta=0, mode="eval", shift=0, scale=2, steps=40),
]


def test_the_batchnorm_explorer_simulates_like_cnnlib(tmp_path):
    body = "result = data.settings.map((s) => m.simulate({...s, seed: 11}));"
    result = run_js(tmp_path, "batchnorm", body, settings=BN_SETTINGS)
    for run, settings in zip(result, BN_SETTINGS):
        expected = simulate_batch_norm(**settings, seed=11)
        for name in ("x", "out", "running_mean", "running_var", "true_mean", "true_var"):
            np.testing.assert_allclose(
                np.reshape(run[name], np.shape(getattr(expected, name))),
                getattr(expected, name),
                rtol=1e-10,
                atol=1e-12,
                err_msg=name,
            )
