"""Each cnnlib.nn layer against the torch.nn layer with the same weights (float64):
output, input gradient and every parameter gradient, on NumPy and torch."""

import inspect

import numpy as np
import pytest
from helpers import DTYPES, to_backend, torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend, move

from cnnlib import nn
from cnnlib.backend import to_numpy

tnn = pytest.importorskip("torch.nn")


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


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


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "kw",
    [dict(padding=1), dict(padding=(2, 1), stride=2), dict(padding="same", dilation=2),
     dict(padding="same", kernel_size=(2, 4)), dict(padding="valid")],
)  # fmt: skip
def test_conv2d_padding_mode(mode, kw, lb, dtype):
    kw = {"kernel_size": 3, **kw}
    make = lambda m: m.Conv2d(2, 3, padding_mode=mode, **kw)  # noqa: E731
    ours, theirs = make(nn), make(tnn)
    assert repr(ours) == repr(theirs)
    copy_weights(ours, theirs, lb, dtype)
    compare(ours, theirs, _x(2, 2, 6, 7), lb, dtype=dtype)


@pytest.mark.parametrize(
    "kw, size",
    [(dict(stride=2, padding=1), (9, 10)), (dict(stride=3, dilation=2), (17, 19)),
     (dict(stride=2), (11, 11))],
)  # fmt: skip
def test_conv_transpose2d_output_size(kw, size, lb):
    ours, theirs = nn.ConvTranspose2d(3, 2, 3, **kw), tnn.ConvTranspose2d(3, 2, 3, **kw)
    copy_weights(ours, theirs, lb)
    x = _x(2, 3, 5, 5)
    for output_size in (size, (2, 2, *size)):
        out = ours(to_backend(x, lb), output_size=output_size)
        ref = theirs(torch.from_numpy(x), output_size=list(output_size))
        assert tuple(out.shape) == tuple(ref.shape) == (2, 2, *size)
        np.testing.assert_allclose(to_numpy(out), ref.detach().numpy(), rtol=1e-7, atol=1e-10)
    tx = torch.tensor(x, requires_grad=True)
    ref = theirs(tx, output_size=list(size))
    out = ours(to_backend(x, lb), output_size=size)
    g = _x(*ref.shape, seed=1)
    ref.backward(torch.from_numpy(g))
    dx = ours.backward(to_backend(g, lb))
    np.testing.assert_allclose(to_numpy(dx), tx.grad.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        to_numpy(ours.weight.grad), theirs.weight.grad.numpy(), rtol=1e-7, atol=1e-10
    )
    with pytest.raises(ValueError, match=r"output size of \(20, 20\).*valid sizes range"):
        ours(to_backend(x, lb), output_size=(20, 20))


def test_degenerate_layers_construct_as_in_torch():
    """torch builds layers with zero input features/channels: so does cnnlib."""
    for ours, theirs in [(nn.Linear(0, 3), tnn.Linear(0, 3)), (nn.Linear(3, 0), tnn.Linear(3, 0)),
                         (nn.Conv2d(0, 3, 3), tnn.Conv2d(0, 3, 3))]:  # fmt: skip
        assert ours.weight.shape == tuple(theirs.weight.shape)
        assert repr(ours) == repr(theirs)
    lin = nn.Linear(0, 3).double()
    np.testing.assert_array_equal(lin.bias.data, 0)  # U(-0, 0), as torch
    assert lin(np.zeros((2, 0))).shape == (2, 3)


@pytest.mark.parametrize(
    "make, error, match",
    [(lambda: nn.Conv2d(3, 8, 0), ValueError, "Conv2d: kernel_size must be at least 1"),
     (lambda: nn.ConvTranspose2d(3, 8, 0), ValueError, "ConvTranspose2d: kernel_size"),
     (lambda: nn.Conv2d(3, 8, (3, 3, 3)), ValueError, "Conv2d: kernel_size .* pair"),
     (lambda: nn.Conv2d(3, 8, 2.5), TypeError, "Conv2d: kernel_size"),
     (lambda: nn.Conv2d(3, -8, 3), ValueError, "Conv2d: out_channels"),
     (lambda: nn.Conv2d(3.0, 8, 3), TypeError, "Conv2d: in_channels must be an int"),
     (lambda: nn.Conv2d(3, 8, 3, stride=0), ValueError, "Conv2d: stride"),
     (lambda: nn.Conv2d(3, 8, 3, padding=-1), ValueError, "Conv2d: padding"),
     (lambda: nn.Conv2d(3, 8, 3, padding="full"), ValueError, "Conv2d: padding"),
     (lambda: nn.Conv2d(3, 8, 3, stride=2, padding="same"), ValueError, "strided"),
     (lambda: nn.Conv2d(3, 8, 3, padding_mode="mirror"), ValueError, "padding_mode"),
     (lambda: nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect"), ValueError, "zeros"),
     (lambda: nn.Conv2d(3, 8, 3, groups=0), ValueError, "groups"),
     (lambda: nn.Linear(3.5, 2), TypeError, "Linear: in_features must be an int"),
     (lambda: nn.Linear(3, -2), ValueError, "Linear: out_features must be non-negative"),
     (lambda: nn.Dropout("half"), TypeError, "Dropout: p"),
     (lambda: nn.Flatten(1.0), TypeError, "Flatten: start_dim")],
)  # fmt: skip
def test_bad_constructor_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_numpy_integers_are_accepted_as_ints():
    i = np.int64
    conv = nn.Conv2d(i(2), i(4), i(3), stride=i(2), padding=(i(1), i(1)), groups=i(2))
    assert conv.kernel_size == (3, 3) and type(conv.kernel_size[0]) is int
    assert repr(conv) == repr(tnn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2))
    assert nn.Linear(i(3), np.int32(2)).weight.shape == (2, 3)
    assert nn.ConvTranspose2d(i(2), i(2), i(2), output_padding=i(1), stride=i(2)).weight.shape == (
        2, 2, 2, 2,
    )  # fmt: skip
    assert nn.Flatten(i(1), i(2))(np.zeros((2, 3, 4, 5))).shape == (2, 12, 5)


@pytest.mark.parametrize("dims", [(5, -1), (-7, -1), (1, 4), (0, -5)])
def test_flatten_dims_out_of_range(dims):
    with pytest.raises(IndexError, match="Flatten: .*out of range .*shape \\(1, 2, 3, 4\\)"):
        nn.Flatten(*dims)(np.zeros((1, 2, 3, 4)))
    with pytest.raises(IndexError):  # torch agrees
        tnn.Flatten(*dims)(torch.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError):  # and it is a ValueError too, as bad input is in cnnlib
        nn.Flatten(*dims)(np.zeros((1, 2, 3, 4)))


def test_device_and_dtype_arguments():
    lin = nn.Linear(3, 2, dtype="float64")
    assert lin.weight.dtype == np.float64 and lin.bias.dtype == np.float64
    conv = nn.Conv2d(2, 3, 3, device="torch", dtype=torch.float64)
    assert isinstance(conv.weight.data, torch.Tensor) and conv.weight.data.dtype == torch.float64
    ct = nn.ConvTranspose2d(2, 3, 3, dtype=np.float64)
    assert ct.weight.dtype == np.float64
