"""Module bookkeeping: registration, traversal, modes, state_dict, conversion, repr, errors."""

import inspect
import math

import numpy as np
import pytest
from helpers import torch

from cnnlib import nn
from cnnlib import random as cr

tnn = pytest.importorskip("torch.nn")


class Scale(nn.Module):
    """y = x * weight + bias over the last axis (a tiny layer that needs no functional op)."""

    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(np.ones(n))
        self.bias = nn.Parameter(np.zeros(n))

    def forward(self, x):
        self.cache = x
        self.out = x * self.weight.data + self.bias.data
        return self.out

    def backward(self, dout):
        self._check_dout(dout)
        self.weight.accumulate((dout * self.cache).sum(axis=0))
        self.bias.accumulate(dout.sum(axis=0))
        return dout * self.weight.data


def _pair():
    """The same small CNN in cnnlib and torch (construction only)."""
    ours = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 4, 3, bias=False, groups=2), nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(4 * 2 * 2, 10),
    )  # fmt: skip
    theirs = tnn.Sequential(
        tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(8, 4, 3, bias=False, groups=2), tnn.Flatten(), tnn.Dropout(0.3),
        tnn.Linear(4 * 2 * 2, 10),
    )  # fmt: skip
    return ours, theirs


def test_parameters_in_registration_order_weight_before_bias():
    ours, theirs = _pair()
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    assert names[:2] == ["0.weight", "0.bias"]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert all(p.dtype == np.float32 for p in ours.parameters())


def test_replacing_a_child_or_parameter_keeps_its_place():
    # torch keeps the order of _modules/_parameters when a name is assigned again, so a
    # Sequential (e.g. a ResNet) still runs a replaced stem first
    ours, theirs = _pair()
    ours[0] = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    setattr(theirs, "0", tnn.Conv2d(3, 8, 3, stride=2, padding=1))
    assert list(ours._modules) == list(theirs._modules)
    assert ours(np.zeros((1, 3, 16, 16), np.float32)).shape == (1, 10)
    layer = Scale(3)
    layer.weight = nn.Parameter(np.full(3, 2.0))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_state_dict_keys_and_shapes_match_torch():
    ours, theirs = _pair()
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
    assert sd["1.num_batches_tracked"].dtype == np.int64


def test_children_modules_and_indexing():
    ours, _ = _pair()
    assert len(ours) == 8 and isinstance(ours[1], nn.BatchNorm2d)
    assert [n for n, _ in ours.named_children()] == [str(i) for i in range(8)]
    assert len(list(ours.modules())) == 9
    assert isinstance(ours[2:4], nn.Sequential) and len(ours[2:4]) == 2
    assert [n for n, _ in ours.named_modules()][:2] == ["", "0"]


def test_bias_false_registers_none():
    conv = nn.Conv2d(2, 3, 1, bias=False)
    assert conv.bias is None
    assert [n for n, _ in conv.named_parameters()] == ["weight"]
    assert list(conv.state_dict()) == ["weight"]


def test_assigning_a_plain_array_to_a_parameter_slot_is_an_error():
    lin = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="nn.Parameter"):
        lin.weight = np.zeros((3, 2))


def test_train_eval_reach_every_module():
    ours, _ = _pair()
    ours.eval()
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())


def test_zero_grad_and_accumulation():
    s = Scale(3)
    x = np.arange(6.0).reshape(2, 3)
    for _ in range(2):  # gradients of two passes add up
        s(x)
        s.backward(np.ones((2, 3)))
    np.testing.assert_allclose(s.weight.grad, 2 * x.sum(axis=0))
    s.zero_grad()
    assert s.weight.grad is None and s.bias.grad is None


def test_state_dict_round_trip_through_torch():
    ours, theirs = _pair()
    ours.load_state_dict(theirs.state_dict())
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, theirs.state_dict()[k].numpy())
        assert isinstance(v, np.ndarray)
    assert ours[0].weight.dtype == np.float32
    # and back: a torch model accepts our state_dict
    cr.manual_seed(3)
    fresh, _ = _pair()
    theirs.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in fresh.state_dict().items()}
    )
    np.testing.assert_array_equal(theirs[0].weight.detach().numpy(), fresh[0].weight.data)


def test_loaded_values_are_copies():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    a.load_state_dict(b.state_dict())
    b.weight.data[...] = 0
    assert np.abs(a.weight.data).sum() > 0


def test_load_state_dict_errors():
    lin = nn.Linear(3, 2)
    sd = lin.state_dict()
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bias"'):
        lin.load_state_dict({"weight": sd["weight"]})
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "extra"'):
        lin.load_state_dict({**sd, "extra": np.zeros(1)})
    with pytest.raises(
        RuntimeError, match=r"size mismatch for weight: .* shape \(2, 4\) .* model is \(2, 3\)"
    ):
        lin.load_state_dict({"weight": np.zeros((2, 4)), "bias": sd["bias"]})
    before = lin.weight.data.copy()
    with pytest.raises(RuntimeError, match="size mismatch for bias"):  # even with strict=False
        lin.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(3)}, strict=False)
    np.testing.assert_array_equal(lin.weight.data, before)  # nothing was loaded
    with pytest.raises(TypeError, match="dict-like.*list"):
        lin.load_state_dict([sd["weight"], sd["bias"]])
    with pytest.raises(TypeError, match="'weight' must be an array.*list"):
        lin.load_state_dict({"weight": [[1.0] * 3] * 2, "bias": sd["bias"]})
    result = lin.load_state_dict({"weight": np.ones((2, 3))}, strict=False)
    assert (lin.weight.data == 1).all()
    assert result.missing_keys == ["bias"] and result.unexpected_keys == []


def test_to_converts_parameters_grads_and_buffers():
    ours, _ = _pair()
    ours[0].weight.grad = np.ones(ours[0].weight.shape, dtype=np.float32)
    assert ours.to("torch") is ours
    for p in ours.parameters():
        assert isinstance(p.data, torch.Tensor) and p.data.dtype == torch.float32
    assert isinstance(ours[0].weight.grad, torch.Tensor)
    bn = ours[1]
    assert isinstance(bn.running_mean, torch.Tensor)
    assert bn.num_batches_tracked.dtype == torch.int64 and bn.num_batches_tracked.shape == ()
    ours.double()
    assert ours[7].bias.data.dtype == torch.float64 and bn.running_var.dtype == torch.float64
    assert bn.num_batches_tracked.dtype == torch.int64  # integer buffers keep their dtype
    ours.to("numpy", dtype=np.float32)
    assert isinstance(ours[7].weight.data, np.ndarray) and ours[7].weight.dtype == np.float32
    ours.to(torch.device("cpu"), dtype=torch.float64)
    assert ours[7].weight.data.dtype == torch.float64
    ours.float().numpy()
    assert ours[0].weight.dtype == np.float32 and isinstance(bn.running_mean, np.ndarray)


def test_construction_is_seeded_and_uses_torch_bounds():
    cr.manual_seed(0)
    a = nn.Conv2d(4, 6, 3)
    cr.manual_seed(0)
    b = nn.Conv2d(4, 6, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    bound = 1 / math.sqrt(4 * 9)  # kaiming_uniform_(a=sqrt(5)) and the bias rule agree here
    for p in (a.weight.data, a.bias.data):
        assert np.abs(p).max() <= bound
    big = nn.Linear(400, 300)
    assert 0.99 / math.sqrt(400) < np.abs(big.weight.data).max() <= 1 / math.sqrt(400)
    t = tnn.Linear(400, 300)
    assert t.weight.var().item() == pytest.approx(float(big.weight.data.var()), rel=0.03)
    ct = nn.ConvTranspose2d(4, 6, 3, groups=2)  # torch: fan_in from weight.shape[1] * k * k
    assert ct.weight.shape == (4, 3, 3, 3)
    assert np.abs(ct.bias.data).max() <= 1 / math.sqrt(3 * 9)


def _torch_repr(module):
    """torch's repr; torch versions before BatchNorm's bias flag do not print it."""
    text = repr(module)
    if "bias" not in inspect.signature(tnn.BatchNorm2d).parameters:
        text = text.replace("affine=True, track", "affine=True, bias=True, track")
        text = text.replace("affine=False, track", "affine=False, bias=False, track")
    return text


def test_repr_matches_torch():
    ours, theirs = _pair()
    assert repr(ours) == _torch_repr(theirs)
    extra = [
        (nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
         tnn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)),
        (nn.Conv2d(4, 4, 3, padding="same", dilation=2), tnn.Conv2d(4, 4, 3, padding="same",
                                                                   dilation=2)),
        (nn.AvgPool2d(3, 2), tnn.AvgPool2d(3, 2)), (nn.LeakyReLU(0.2), tnn.LeakyReLU(0.2)),
        (nn.AdaptiveAvgPool2d(1), tnn.AdaptiveAvgPool2d(1)), (nn.Softmax(1), tnn.Softmax(1)),
        (nn.LocalResponseNorm(5), tnn.LocalResponseNorm(5)), (nn.ReLU(True), tnn.ReLU(True)),
        (nn.BatchNorm1d(3, affine=False), tnn.BatchNorm1d(3, affine=False)),
        (nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()), (nn.Identity(), tnn.Identity()),
        (nn.Sigmoid(), tnn.Sigmoid()), (nn.Tanh(), tnn.Tanh()), (nn.MSELoss(), tnn.MSELoss()),
    ]  # fmt: skip
    if "bias" in inspect.signature(tnn.BatchNorm2d).parameters:
        extra.append((nn.BatchNorm2d(3, bias=False), tnn.BatchNorm2d(3, bias=False)))
    for a, b in extra:
        assert repr(a) == _torch_repr(b)


def test_backward_before_forward_and_wrong_dout_shape():
    s = Scale(3)
    with pytest.raises(RuntimeError, match="Scale.backward called before forward"):
        s.backward(np.ones((2, 3)))
    s(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Scale.backward: dout has shape \(2, 4\).*\(2, 3\)"):
        s.backward(np.ones((2, 4)))
    seq = nn.Sequential(Scale(3), nn.Identity())
    with pytest.raises(RuntimeError, match="Sequential.backward called before forward"):
        seq.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward called before forward"):
        nn.CrossEntropyLoss().backward()


def test_containers_with_custom_layers_chain_rule():
    rng = np.random.default_rng(0)
    a, b = Scale(3), Scale(3)
    a.weight.data, b.weight.data = rng.standard_normal(3), rng.standard_normal(3)
    x, dout = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    res = nn.Residual(a)
    np.testing.assert_allclose(res(x), x * a.weight.data + x)
    np.testing.assert_allclose(res.backward(dout), dout * a.weight.data + dout)
    cat = nn.Concat(a, b, dim=1)
    assert cat(x).shape == (2, 6)
    dx = cat.backward(np.concatenate([dout, 2 * dout], axis=1))
    np.testing.assert_allclose(dx, dout * a.weight.data + 2 * dout * b.weight.data)
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(Scale(2), np.zeros(2))


def _shared_pair():
    """A model that uses one Linear twice, in cnnlib and torch (same structure)."""
    lin, tlin = nn.Linear(3, 3), tnn.Linear(3, 3)
    ours = nn.Sequential(lin, nn.ReLU(), lin, nn.Sequential(nn.Linear(3, 2), nn.Tanh()))
    theirs = tnn.Sequential(tlin, tnn.ReLU(), tlin, tnn.Sequential(tnn.Linear(3, 2), tnn.Tanh()))
    return ours, theirs


def test_traversal_with_a_shared_module_matches_torch():
    ours, theirs = _shared_pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # every path, repeats too
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for kw in [{}, {"remove_duplicate": False}, {"prefix": "net"}]:
        got = [n for n, _ in ours.named_modules(**kw)]
        assert got == [n for n, _ in theirs.named_modules(**kw)], kw
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 6
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    names = [n for n, _ in ours.named_parameters(remove_duplicate=False)]
    assert names == [n for n, _ in theirs.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == []


def test_apply_visits_children_first_like_torch():
    ours, theirs = _shared_pair()
    seen, tseen = [], []
    assert ours.apply(lambda m: seen.append(type(m).__name__)) is ours
    theirs.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen

    def init_weights(m):  # the usual use: custom initialisation
        if isinstance(m, nn.Linear):
            m.weight.data[...] = 0.5

    ours.apply(init_weights)
    assert all((m.weight.data == 0.5).all() for m in ours.modules() if isinstance(m, nn.Linear))


def test_get_submodule_and_get_parameter_like_torch():
    ours, theirs = _shared_pair()
    assert ours.get_submodule("") is ours
    assert ours.get_submodule("3.0") is ours[3][0]
    assert ours.get_parameter("3.0.bias") is ours[3][0].bias
    for target in ["4", "3.5", "0.weight"]:
        with pytest.raises(AttributeError) as ours_err:
            ours.get_submodule(target)
        with pytest.raises(AttributeError) as torch_err:
            theirs.get_submodule(target)
        assert str(ours_err.value) == str(torch_err.value)
    for target in ["3.0.scale", "3"]:
        with pytest.raises(AttributeError):
            ours.get_parameter(target)


def test_requires_grad_on_modules_and_parameters():
    ours, theirs = _shared_pair()
    assert ours.requires_grad_(False) is ours
    assert not any(p.requires_grad for p in ours.parameters())
    ours[3].requires_grad_()
    theirs.requires_grad_(False)
    theirs[3].requires_grad_()
    assert [p.requires_grad for p in ours.parameters()] == [
        p.requires_grad for p in theirs.parameters()
    ]
    p = nn.Parameter(np.ones(2), requires_grad=False)
    assert not p.requires_grad and p.requires_grad_() is p and p.requires_grad
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        p.requires_grad = "yes"
    assert nn.Parameter().shape == tuple(tnn.Parameter().shape) == (0,)


def test_train_mode_must_be_a_bool():
    ours, theirs = _pair()
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        ours.train("no")
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        theirs.train("no")
    with pytest.raises(ValueError, match="boolean"):
        ours.train(0)
    assert ours.train(False) is ours and not ours[1].training


def test_load_state_dict_returns_the_incompatible_keys_like_torch():
    ours, theirs = nn.Linear(3, 2), tnn.Linear(3, 2)
    full = ours.load_state_dict(theirs.state_dict())
    assert repr(full) == repr(theirs.load_state_dict(theirs.state_dict()))
    assert full.missing_keys == [] and full.unexpected_keys == []
    partial = {"weight": theirs.weight.detach(), "extra": torch.zeros(1)}
    got = ours.load_state_dict(partial, strict=False)
    want = theirs.load_state_dict(partial, strict=False)
    assert got == tuple(want) and repr(got) == repr(want)
    missing, unexpected = got
    assert (missing, unexpected) == (["bias"], ["extra"])


def test_state_dict_options_and_non_persistent_buffers():
    ours = nn.BatchNorm1d(3)
    ours.register_buffer("scratch", np.zeros(3), persistent=False)
    theirs = tnn.BatchNorm1d(3)
    theirs.register_buffer("scratch", torch.zeros(3), persistent=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    kept = ours.state_dict(keep_vars=True)
    assert kept["weight"] is ours.weight and kept["running_mean"] is ours.running_mean
    assert list(ours.state_dict(prefix="bn.")) == list(theirs.state_dict(prefix="bn."))
    ours.load_state_dict(theirs.state_dict())  # the non-persistent buffer is not expected


def test_module_methods_have_torch_signatures():
    """Names, order, defaults and kinds of the parameters (annotations aside)."""

    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    methods = [
        "named_modules", "modules", "named_children", "children", "named_parameters",
        "parameters", "named_buffers", "buffers", "apply", "get_submodule", "get_parameter",
        "requires_grad_", "train", "eval", "zero_grad", "state_dict", "load_state_dict",
        "register_buffer", "register_parameter", "add_module", "register_module",
        "extra_repr", "double", "float", "cpu", "cuda",
    ]  # fmt: skip
    for name in methods:
        assert shape(getattr(nn.Module, name)) == shape(getattr(tnn.Module, name)), name
    for cls in ["Sequential", "ModuleList", "ModuleDict", "Identity"]:
        assert shape(getattr(nn, cls)) == shape(getattr(tnn, cls)), cls
    assert shape(nn.Parameter) == shape(tnn.Parameter.__new__)[1:]
    assert shape(nn.ConvTranspose2d.forward) == shape(tnn.ConvTranspose2d.forward)
