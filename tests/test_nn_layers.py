"""Each cnnlib.nn layer against the torch.nn layer with the same weights (float64):
output, input gradient and every parameter gradient, on NumPy and torch."""

import inspect

import numpy as np
import pytest
from helpers import to_backend, torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend, move

from cnnlib import nn
from cnnlib.backend import to_numpy

tnn = pytest.importorskip("torch.nn")


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _check(make, x, backend, **kw):
    """Build the pair with the same arguments, copy the weights, compare."""
    ours, theirs = make(nn), make(tnn)
    copy_weights(ours, theirs, backend)
    return compare(ours, theirs, x, backend, **kw)


@settings(max_examples=15, deadline=None)
@given(
    c_in=st.sampled_from([1, 2, 4]),
    mult=st.sampled_from([1, 2]),
    k=st.sampled_from([1, 2, 3]),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    dilation=st.integers(1, 2),
    grouped=st.booleans(),
    bias=st.booleans(),
)
def test_conv2d(c_in, mult, k, stride, padding, dilation, grouped, bias):
    groups = c_in if grouped else 1
    args = (c_in, c_in * mult, k)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    for backend in ["numpy", "torch-cpu"]:
        _check(lambda m: m.Conv2d(*args, **kw), _x(2, c_in, 7, 6), backend)


def test_conv2d_same_padding(lb):
    _check(lambda m: m.Conv2d(3, 4, (3, 5), padding="same"), _x(2, 3, 6, 5), lb)


@pytest.mark.parametrize(
    "kw",
    [dict(stride=2, padding=1, output_padding=1), dict(stride=1), dict(groups=2, dilation=2),
     dict(stride=3, bias=False)],
)  # fmt: skip
def test_conv_transpose2d(kw, lb):
    _check(lambda m: m.ConvTranspose2d(4, 6, 3, **kw), _x(2, 4, 5, 4), lb)


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias, lb):
    _check(lambda m: m.Linear(7, 5, bias=bias), _x(4, 7), lb)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.MaxPool2d(2), lambda m: m.MaxPool2d(3, 2, padding=1),
     lambda m: m.MaxPool2d(2, 1, dilation=2, ceil_mode=True), lambda m: m.AvgPool2d(2),
     lambda m: m.AvgPool2d(3, 2, padding=1, count_include_pad=False),
     lambda m: m.AdaptiveAvgPool2d((3, 2)), lambda m: m.AdaptiveAvgPool2d(1),
     lambda m: m.AdaptiveMaxPool2d(3)],
)  # fmt: skip
def test_pooling(make, lb):
    _check(make, _x(2, 3, 7, 6), lb)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.ReLU(), lambda m: m.LeakyReLU(0.2), lambda m: m.Sigmoid(), lambda m: m.Tanh(),
     lambda m: m.Softmax(dim=1), lambda m: m.Softmax(dim=-1), lambda m: m.Flatten(),
     lambda m: m.Flatten(2, 3), lambda m: m.Identity(),
     lambda m: m.LocalResponseNorm(3, alpha=0.1, beta=0.75, k=2.0)],
)  # fmt: skip
def test_elementwise_and_shape_layers(make, lb):
    _check(make, _x(2, 5, 3, 4), lb)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize(
    "kw",
    [dict(), dict(momentum=None), dict(affine=False), dict(track_running_stats=False),
     dict(eps=1e-3, momentum=0.3), dict(bias=False)],
)  # fmt: skip
@pytest.mark.parametrize("dims", [(6, 3), (4, 3, 5), (3, 3, 4, 5)])
def test_batch_norm(kw, train, dims, lb):
    """Several training steps (running statistics updated in place, like torch), then eval."""
    layer = "BatchNorm2d" if len(dims) == 4 else "BatchNorm1d"
    if "bias" in kw and "bias" not in inspect.signature(tnn.BatchNorm1d).parameters:
        pytest.skip("this torch version's BatchNorm has no bias flag")
    ours, theirs = getattr(nn, layer)(3, **kw), getattr(tnn, layer)(3, **kw)
    if theirs.weight is not None:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
        if theirs.bias is not None:
            with torch.no_grad():
                theirs.bias.uniform_(-0.5, 0.5)
    copy_weights(ours, theirs, lb)
    for step in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        ours.train(train)
        theirs.train(train)
        compare(ours, theirs, _x(*dims, seed=step) * 2 + 1, lb, seed=step)
    if kw.get("track_running_stats", True):
        assert int(to_numpy(ours.num_batches_tracked)) == (3 if train else 0)


def test_batch_norm_rejects_wrong_input():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4-D input, got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="num_features=3"):
        nn.BatchNorm1d(3)(np.zeros((2, 4)))


def test_dropout_train_and_eval(lb):
    ours = move(nn.Dropout(0.4), lb)
    x = _x(50, 40) + 5  # nonzero everywhere, so zeros in the output are the dropped entries
    out = to_numpy(ours(to_backend(x, lb)))
    keep = out != 0
    assert 0.5 < keep.mean() < 0.7
    np.testing.assert_allclose(out[keep], x[keep] / 0.6)
    g = _x(50, 40, seed=1)
    dx = to_numpy(ours.backward(to_backend(g, lb)))
    np.testing.assert_allclose(dx, np.where(keep, g / 0.6, 0.0))
    ours.eval()
    theirs = tnn.Dropout(0.4).eval()
    compare(ours, theirs, x, lb)


def test_dropout_is_seeded():
    from cnnlib import random as cr

    x = np.ones((8, 8))
    cr.manual_seed(7)
    a = nn.Dropout(0.5)(x)
    cr.manual_seed(7)
    np.testing.assert_array_equal(a, nn.Dropout(0.5)(x))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_loss(reduction, lb):
    y = np.array([0, 3, 1, 3, 2], dtype=np.int64)
    loss = _check(lambda m: m.CrossEntropyLoss(reduction=reduction), _x(5, 4), lb, target=y)
    assert loss.shape == ()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_loss(reduction, lb):
    _check(lambda m: m.MSELoss(reduction=reduction), _x(3, 4), lb, target=_x(3, 4, seed=1))


def test_layer_errors_name_the_layer_and_shapes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(RuntimeError, match="Conv2d.backward called before forward"):
        conv.backward(np.zeros((1, 4, 2, 2)))
    out = conv(np.zeros((1, 3, 5, 5), dtype=np.float32))
    assert out.shape == (1, 4, 3, 3) and conv.out is out
    with pytest.raises(ValueError, match=r"Conv2d.backward: dout has shape \(1, 4, 2, 2\)"):
        conv.backward(np.zeros((1, 4, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Softmax"):
        nn.Softmax()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)
