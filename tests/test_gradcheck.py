"""Numeric gradient checks of every functional op, in NumPy only (no torch needed).

Each case is (forward, backward, args, kwargs, argnums); `gradcheck` compares the
analytic backward with central differences for every differentiable argument.
"""

import numpy as np
import pytest

from cnnlib import functional as F
from cnnlib.utils import gradcheck, numeric_gradient, rel_error

rng = np.random.default_rng(2024)  # not gradcheck's dout seed: dout = x makes dx vanish in BN


def randn(*shape):
    return rng.standard_normal(shape)


x4 = randn(2, 3, 5, 5)
CASES = {
    "relu": (F.relu_forward, F.relu_backward, [randn(3, 4)], {}, None),
    "leaky_relu": (F.leaky_relu_forward, F.leaky_relu_backward, [randn(3, 4), 0.1], {}, None),
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward, [randn(3, 4) * 3], {}, None),
    "tanh": (F.tanh_forward, F.tanh_backward, [randn(3, 4)], {}, None),
    "softmax": (F.softmax_forward, F.softmax_backward, [randn(3, 4, 2), 1], {}, None),
    "log_softmax": (F.log_softmax_forward, F.log_softmax_backward, [randn(3, 4), -1], {}, None),
    "linear": (
        F.linear_forward,
        F.linear_backward,
        [randn(2, 3, 4), randn(5, 4), randn(5)],
        {},
        None,
    ),
    "dropout": (F.dropout_forward, F.dropout_backward, [randn(4, 5), 0.3], {"seed": 1}, [0]),
    "dropout2d": (
        F.dropout2d_forward,
        F.dropout2d_backward,
        [randn(2, 5, 3, 3), 0.3],
        {"seed": 1},
        [0],
    ),
    "batch_norm_train": (
        F.batch_norm_forward,
        F.batch_norm_backward,
        [x4, None, None, randn(3), randn(3)],
        {"training": True},
        None,
    ),
    "batch_norm_eval": (
        F.batch_norm_forward,
        F.batch_norm_backward,
        [randn(4, 3), randn(3), rng.uniform(0.5, 2, 3), randn(3), randn(3)],
        {"training": False},
        [0, 3, 4],
    ),
    "local_response_norm": (
        F.local_response_norm_forward,
        F.local_response_norm_backward,
        [x4 * 2, 4, 0.5, 0.75, 1.0],
        {},
        [0],
    ),
    "cross_entropy": (
        F.cross_entropy_forward,
        F.cross_entropy_backward,
        [randn(4, 5), rng.integers(0, 5, 4)],
        {},
        [0],
    ),
    "cross_entropy_2d_sum": (
        F.cross_entropy_forward,
        F.cross_entropy_backward,
        [x4, rng.integers(0, 3, (2, 5, 5))],
        {"reduction": "sum"},
        [0],
    ),
    "mse_loss": (F.mse_loss_forward, F.mse_loss_backward, [randn(3, 4), randn(3, 4)], {}, [0]),
    "mse_loss_none": (
        F.mse_loss_forward,
        F.mse_loss_backward,
        [randn(3, 4), randn(3, 4)],
        {"reduction": "none"},
        [0],
    ),
    "conv2d": (
        F.conv2d_forward,
        F.conv2d_backward,
        [x4, randn(4, 3, 3, 3), randn(4)],
        {"stride": 2, "padding": 1},
        None,
    ),
    "conv2d_groups_dilation": (
        F.conv2d_forward,
        F.conv2d_backward,
        [randn(1, 4, 6, 6), randn(2, 2, 2, 2), None],
        {"dilation": 2, "groups": 2},
        [0, 1],
    ),
    "true_conv2d": (
        F.true_conv2d_forward,
        F.true_conv2d_backward,
        [x4, randn(2, 3, 2, 3), randn(2)],
        {"padding": (1, 0)},
        None,
    ),
    "conv_transpose2d": (
        F.conv_transpose2d_forward,
        F.conv_transpose2d_backward,
        [randn(2, 3, 3, 3), randn(3, 2, 3, 3), randn(2)],
        {"stride": 2, "padding": 1, "output_padding": 1},
        None,
    ),
    "max_pool2d": (F.max_pool2d_forward, F.max_pool2d_backward, [x4, 2], {"stride": 2}, [0]),
    "max_pool2d_overlap": (
        F.max_pool2d_forward,
        F.max_pool2d_backward,
        [x4, 3],
        {"stride": 1, "padding": 1},
        [0],
    ),
    "avg_pool2d": (
        F.avg_pool2d_forward,
        F.avg_pool2d_backward,
        [x4, 3],
        {"stride": 2, "padding": 1, "count_include_pad": False},
        [0],
    ),
    "adaptive_avg_pool2d": (
        F.adaptive_avg_pool2d_forward,
        F.adaptive_avg_pool2d_backward,
        [x4, (2, 3)],
        {},
        [0],
    ),
    "adaptive_max_pool2d": (
        F.adaptive_max_pool2d_forward,
        F.adaptive_max_pool2d_backward,
        [x4, 3],
        {},
        [0],
    ),
    "relu6": (F.relu6_forward, F.relu6_backward, [randn(3, 4) * 4 + 3], {}, None),
    "hardsigmoid": (F.hardsigmoid_forward, F.hardsigmoid_backward, [randn(3, 4) * 3], {}, None),
    "hardswish": (F.hardswish_forward, F.hardswish_backward, [randn(3, 4) * 3], {}, None),
    "silu": (F.silu_forward, F.silu_backward, [randn(3, 4) * 3], {}, None),
    "gelu": (F.gelu_forward, F.gelu_backward, [randn(3, 4) * 3], {}, None),
    "gelu_tanh": (
        F.gelu_forward,
        F.gelu_backward,
        [randn(3, 4) * 3],
        {"approximate": "tanh"},
        None,
    ),
    "layer_norm": (
        F.layer_norm_forward,
        F.layer_norm_backward,
        [randn(2, 3, 4), (3, 4), randn(3, 4), randn(3, 4)],
        {},
        [0, 2, 3],
    ),
    "group_norm": (
        F.group_norm_forward,
        F.group_norm_backward,
        [x4, 3, randn(3), randn(3)],
        {},
        [0, 2, 3],
    ),
    "cross_entropy_smoothed_weighted": (
        F.cross_entropy_forward,
        F.cross_entropy_backward,
        [x4, rng.integers(0, 3, (2, 5, 5)), rng.uniform(0.5, 2, 3)],
        {"label_smoothing": 0.2, "ignore_index": 1},
        [0],
    ),
    "cross_entropy_probabilities": (
        F.cross_entropy_forward,
        F.cross_entropy_backward,
        [randn(4, 5), rng.dirichlet(np.ones(5), 4)],
        {},
        [0],
    ),
    "nll_loss": (
        F.nll_loss_forward,
        F.nll_loss_backward,
        [randn(4, 5), rng.integers(0, 5, 4), rng.uniform(0.5, 2, 5)],
        {},
        [0],
    ),
    "binary_cross_entropy": (
        F.binary_cross_entropy_forward,
        F.binary_cross_entropy_backward,
        [rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))],
        {},
        [0],
    ),
    "binary_cross_entropy_with_logits": (
        F.binary_cross_entropy_with_logits_forward,
        F.binary_cross_entropy_with_logits_backward,
        [randn(3, 4) * 3, rng.uniform(0, 1, (3, 4))],
        {"pos_weight": rng.uniform(0.5, 2, 4)},
        [0],
    ),
    "pad_reflect": (F.pad_forward, F.pad_backward, [x4, (1, 2, 2, 1)], {"mode": "reflect"}, [0]),
    "pad_circular": (F.pad_forward, F.pad_backward, [x4, (2, 1, 0, 3)], {"mode": "circular"}, [0]),
    "interpolate_bilinear": (
        F.interpolate_forward,
        F.interpolate_backward,
        [x4],
        {"size": (7, 4), "mode": "bilinear", "align_corners": False},
        [0],
    ),
    "interpolate_nearest": (
        F.interpolate_forward,
        F.interpolate_backward,
        [x4],
        {"scale_factor": 2, "mode": "nearest"},
        [0],
    ),
    "max_unpool2d": (
        F.max_unpool2d_forward,
        F.max_unpool2d_backward,
        [randn(2, 3, 2, 2), np.tile(np.array([[0, 3], [9, 15]]), (2, 3, 1, 1)), 2],
        {},
        [0],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_numeric_gradient(name):
    forward, backward, args, kwargs, argnums = CASES[name]
    report = gradcheck(forward, backward, args, argnums=argnums, kwargs=kwargs, rtol=1e-6)
    expected = argnums or [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    assert sorted(report) == sorted(expected)


def test_every_differentiable_op_is_checked():
    ops = {n[: -len("_backward")] for n in F.__all__ if n.endswith("_backward")}
    checked = {forward.__name__[: -len("_forward")] for forward, *_ in CASES.values()}
    assert ops <= checked, ops - checked


def test_a_wrong_backward_is_caught_with_a_report():
    x, w = randn(3, 4), randn(2, 4)

    def bad_backward(dout, cache):
        dx, dw, db = F.linear_backward(dout, cache)
        return dx, dw * 1.01, db

    with pytest.raises(AssertionError, match=r"gradcheck failed[\s\S]*argument 1: relative"):
        gradcheck(F.linear_forward, bad_backward, [x, w])


def test_gradcheck_reports_each_argument(capsys):
    report = gradcheck(
        F.linear_forward, F.linear_backward, [randn(2, 3), randn(4, 3)], verbose=True
    )
    assert set(report) == {0, 1} and max(report.values()) < 1e-7
    printed = capsys.readouterr().out
    assert "argument 0: relative error" in printed and "argument 1" in printed


def test_gradcheck_catches_a_missing_gradient():
    with pytest.raises(AssertionError, match="shape None"):
        gradcheck(
            F.linear_forward, lambda d, c: (None, None), [randn(2, 3), randn(4, 3)], argnums=[0]
        )


def test_numeric_gradient_of_known_functions():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(numeric_gradient(lambda a: a**2, x), 2 * x, rtol=1e-8)
    dout = np.array([1.0, 0.5, -1.0])
    np.testing.assert_allclose(numeric_gradient(np.sin, x, dout), np.cos(x) * dout, rtol=1e-8)
    np.testing.assert_allclose(numeric_gradient(lambda a: np.sum(a**3), x), 3 * x**2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # the input is not modified


def test_rel_error():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    assert rel_error(np.array([100.0, 1.0]), np.array([100.0, 1.2])) == pytest.approx(0.2 / 200)
