"""Sequential, Residual and Concat against hand-built torch equivalents: outputs and all grads."""

from collections import OrderedDict

import numpy as np
import pytest
from helpers import torch
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend

from cnnlib import nn
from cnnlib import random as cr
from cnnlib.backend import to_numpy

tnn = pytest.importorskip("torch.nn")


class TResidual(tnn.Module):
    """torch version of nn.Residual (same child names, so state_dicts line up)."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body, self.shortcut = body, shortcut if shortcut is not None else tnn.Identity()

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class TConcat(tnn.Module):
    def __init__(self, *branches, dim=1):
        super().__init__()
        self.dim = dim
        for i, b in enumerate(branches):
            self.add_module(str(i), b)

    def forward(self, x):
        return torch.cat([b(x) for b in self.children()], dim=self.dim)


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _block(m, res, c_in, c_out, stride, projection):
    """conv-bn-relu-conv-bn body with an identity or 1x1 conv (+ bn) shortcut."""
    body = m.Sequential(
        m.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), m.BatchNorm2d(c_out),
        m.ReLU(), m.Conv2d(c_out, c_out, 3, padding=1, bias=False), m.BatchNorm2d(c_out),
    )  # fmt: skip
    short = None
    if projection:
        short = m.Sequential(m.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                             m.BatchNorm2d(c_out))  # fmt: skip
    return m.Sequential(res(body, short), m.ReLU())


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("c_in, c_out, stride, projection", [(4, 4, 1, False), (3, 6, 2, True)])
def test_residual_block(c_in, c_out, stride, projection, train, lb):
    ours = _block(nn, nn.Residual, c_in, c_out, stride, projection)
    theirs = _block(tnn, TResidual, c_in, c_out, stride, projection)
    copy_weights(ours, theirs, lb)
    ours.train(train)
    theirs.train(train)
    compare(ours, theirs, _x(2, c_in, 6, 6), lb)


def _inception(m, cat):
    """Branches of different widths (2, 3, 1 and 4 channels) joined along channels."""
    return m.Sequential(
        cat(
            m.Conv2d(3, 2, 1),
            m.Sequential(m.Conv2d(3, 3, 1), m.ReLU(), m.Conv2d(3, 3, 3, padding=1)),
            m.Sequential(m.MaxPool2d(3, 1, padding=1), m.Conv2d(3, 1, 1)),
            m.Sequential(m.Conv2d(3, 4, 5, padding=2), m.Tanh()),
        ),
        m.ReLU(),
    )


def test_concat_branches_of_different_widths(lb):
    ours, theirs = _inception(nn, nn.Concat), _inception(tnn, TConcat)
    copy_weights(ours, theirs, lb)
    out = compare(ours, theirs, _x(2, 3, 5, 5), lb)
    assert out.shape == (2, 10, 5, 5)


def test_concat_along_features(lb):
    ours = nn.Concat(nn.Linear(4, 3), nn.Sequential(nn.Linear(4, 2), nn.Sigmoid()), dim=-1)
    theirs = TConcat(tnn.Linear(4, 3), tnn.Sequential(tnn.Linear(4, 2), tnn.Sigmoid()), dim=-1)
    copy_weights(ours, theirs, lb)
    compare(ours, theirs, _x(5, 4), lb)


def _mixed(m):
    return m.Sequential(
        m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.LeakyReLU(0.1), m.MaxPool2d(2),
        m.Conv2d(4, 6, 3), m.ReLU(), m.AdaptiveAvgPool2d(2), m.Flatten(), m.Dropout(0.5),
        m.Linear(24, 8), m.Tanh(), m.Linear(8, 3),
    )  # fmt: skip


@pytest.mark.parametrize("train", [True, False])
def test_sequential_of_mixed_layers(train, lb):
    ours, theirs = _mixed(nn), _mixed(tnn)
    copy_weights(ours, theirs, lb)
    ours.train(train)
    theirs.train(train)
    if train:  # dropout masks cannot match torch's RNG: compare without the dropout layer
        ours, theirs = nn.Sequential(*ours[:8], *ours[9:]), tnn.Sequential(*theirs[:8], *theirs[9:])
    compare(ours, theirs, _x(3, 1, 10, 10), lb)


def test_training_step_with_loss_matches_torch():
    """One full step: loss, backward through the model, gradients equal torch's."""
    ours, theirs = _mixed(nn).eval(), _mixed(tnn).eval()
    copy_weights(ours, theirs, "numpy")
    x, y = _x(4, 1, 10, 10), np.array([0, 2, 1, 2])
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(ours(x), y)
    ours.backward(loss_fn.backward())
    tloss = tnn.CrossEntropyLoss()(theirs(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    assert float(loss) == pytest.approx(tloss.item(), rel=1e-10)
    for (name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)


def test_to_torch_then_forward_gives_the_same_output():
    cr.manual_seed(0)
    model = _block(nn, nn.Residual, 3, 6, 2, True).eval()
    x = _x(2, 3, 8, 8).astype(np.float32)
    ref = model(x)
    model.to("torch")
    out = model(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)
    model.to("numpy")
    np.testing.assert_allclose(model(x), ref, rtol=1e-6, atol=1e-7)


def test_state_dict_round_trip_preserves_outputs():
    cr.manual_seed(1)
    a = _block(nn, nn.Residual, 3, 6, 2, True)
    a.train()
    a(_x(4, 3, 6, 6).astype(np.float32))  # move the running statistics away from 0 / 1
    cr.manual_seed(2)
    b = _block(nn, nn.Residual, 3, 6, 2, True)
    b.load_state_dict(a.state_dict())
    a.eval()
    b.eval()
    x = _x(2, 3, 6, 6, seed=3).astype(np.float32)
    np.testing.assert_array_equal(a(x), b(x))
    assert int(to_numpy(b[0].body[1].num_batches_tracked)) == 1


def test_container_errors():
    res = nn.Residual(nn.Conv2d(3, 4, 1))
    with pytest.raises(ValueError, match="Residual: body output .* shortcut output"):
        res(np.zeros((1, 3, 4, 4), dtype=np.float32))
    cat = nn.Concat(nn.Identity(), nn.Identity())
    with pytest.raises(RuntimeError, match="Concat.backward called before forward"):
        cat.backward(np.zeros((1, 2)))
    cat(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"Concat.backward: dout has shape \(1, 2\)"):
        cat.backward(np.zeros((1, 2)))
    # a U-Net join whose two sides disagree: 15 rows pooled to 7 come back as 14
    down_up = nn.Sequential(nn.MaxPool2d(2), nn.Upsample(scale_factor=2))
    join = nn.Concat(nn.Identity(), down_up)
    with pytest.raises(ValueError, match=r"equal sizes on every axis except dim=1.*15, 15.*14, 14"):
        join(np.zeros((1, 2, 15, 15)))
    with pytest.raises(ValueError, match=r"same number of axes, and dim=3"):
        nn.Concat(nn.Identity(), dim=3)(np.zeros((2, 3)))


def _named(m):
    """A Sequential with named children (OrderedDict), as in torchvision's AlexNet-style heads."""
    return m.Sequential(
        OrderedDict(
            conv=m.Conv2d(2, 3, 3, padding=1), bn=m.BatchNorm2d(3), relu=m.ReLU(),
            pool=m.AdaptiveAvgPool2d(1), flat=m.Flatten(), fc=m.Linear(3, 4),
        )
    )  # fmt: skip


def test_sequential_of_an_ordered_dict(lb):
    ours, theirs = _named(nn), _named(tnn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours.conv, nn.Conv2d) and ours[0] is ours.conv and ours[-1] is ours.fc
    copy_weights(ours, theirs, lb)
    compare(ours, theirs, _x(2, 2, 5, 5), lb)


def _keys(m):
    return [n for n, _ in m.named_children()], list(m.state_dict())


def test_sequential_list_operations_name_children_like_torch():
    ours, theirs = _named(nn), _named(tnn)
    assert _keys(ours[1:4]) == _keys(theirs[1:4])  # a slice keeps the names
    ours, theirs = nn.Sequential(*ours), tnn.Sequential(*theirs)
    for op in [
        lambda s, m: s.append(m.Tanh()), lambda s, m: s.insert(1, m.Identity()),
        lambda s, m: s.insert(-2, m.ReLU()), lambda s, m: s.__delitem__(2),
        lambda s, m: s.__delitem__(slice(0, 2)), lambda s, m: s.pop(1),
        lambda s, m: s.extend([m.ReLU(), m.Tanh()]), lambda s, m: s.__setitem__(0, m.Tanh()),
    ]:  # fmt: skip
        op(ours, nn)
        op(theirs, tnn)
        assert _keys(ours) == _keys(theirs)
        assert [type(c).__name__ for c in ours] == [type(c).__name__ for c in theirs]
    a, b = nn.Sequential(nn.ReLU(), nn.Tanh()), tnn.Sequential(tnn.ReLU(), tnn.Tanh())
    assert _keys(a + a) == _keys(b + b) and _keys(a * 3) == _keys(b * 3)
    a += nn.Sequential(nn.Sigmoid())
    b += tnn.Sequential(tnn.Sigmoid())
    assert _keys(a) == _keys(b) and len(a) == len(b) == 3
    with pytest.raises(IndexError):
        a[3]


def test_module_list_and_dict_register_like_torch():
    def build(m):
        model = m.Module()
        model.blocks = m.ModuleList([m.Linear(3, 3) for _ in range(3)])
        model.heads = m.ModuleDict({"cls": m.Linear(3, 2), "box": m.Linear(3, 4)})
        model.blocks.append(m.ReLU())
        model.blocks.insert(0, m.Tanh())
        model.heads["extra"] = m.Identity()
        model.heads.update([("cls", m.Linear(3, 5))])
        return model

    ours, theirs = build(nn), build(tnn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert repr(ours) == repr(theirs)
    assert _keys(ours.blocks[1:3]) == _keys(theirs.blocks[1:3])  # a slice renumbers
    assert list(ours.heads) == list(theirs.heads) and "box" in ours.heads
    assert list(ours.heads.keys()) == list(theirs.heads.keys())
    assert ours.heads.pop("box") is not None and theirs.heads.pop("box") is not None
    del ours.blocks[0], theirs.blocks[0]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with pytest.raises(NotImplementedError):
        ours.blocks(np.zeros((1, 3)))
    with pytest.raises(TypeError, match="ModuleDict: keys must be strings"):
        ours.heads[1] = nn.ReLU()


class Tower(nn.Module):
    """A custom model over a ModuleList and a ModuleDict: forward in order, backward reversed."""

    def __init__(self, m=nn):
        super().__init__()
        self.layers = m.ModuleList([m.Linear(4, 4), m.Tanh(), m.Linear(4, 4)])
        self.heads = m.ModuleDict({"a": m.Linear(4, 2), "b": m.Linear(4, 3)})

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = xp_concat([self.heads["a"](x), self.heads["b"](x)])
        return self.out

    def backward(self, dout):
        dx = self.heads["b"].backward(dout[:, 2:]) + self.heads["a"].backward(dout[:, :2])
        for layer in reversed(list(self.layers)):
            dx = layer.backward(dx)
        return dx


class TTower(tnn.Module):
    def __init__(self):
        super().__init__()
        self.layers = tnn.ModuleList([tnn.Linear(4, 4), tnn.Tanh(), tnn.Linear(4, 4)])
        self.heads = tnn.ModuleDict({"a": tnn.Linear(4, 2), "b": tnn.Linear(4, 3)})

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return torch.cat([self.heads["a"](x), self.heads["b"](x)], dim=1)


def xp_concat(arrays):
    from cnnlib.backend import namespace

    return namespace(*arrays).concat(arrays, axis=1)


def test_custom_model_over_module_list_and_dict(lb):
    ours, theirs = Tower(), TTower()
    copy_weights(ours, theirs, lb)
    compare(ours, theirs, _x(5, 4), lb)


def test_identity_takes_any_arguments():
    assert repr(nn.Identity(54, unused="x")) == repr(tnn.Identity(54, unused="x"))
    x = _x(2, 3)
    ident = nn.Identity(3)
    assert ident(x) is x and ident.backward(x) is x
