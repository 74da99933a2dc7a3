"""The graph a forward pass leaves for backward (cnnlib.nn._graph), checked against torch.

A module used several times in one forward pass gets the gradients of every use; backward
consumes the caches (a second backward is an error, as torch's freed graph); forward-only
loops keep memory bounded; cnnlib.no_grad() keeps no cache at all.
"""

import threading

import numpy as np
import pytest
from helpers import DTYPES, to_backend, torch
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend

import cnnlib
from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.nn._graph import pending_calls

tnn = pytest.importorskip("torch.nn")


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pending(model) -> int:
    return sum(pending_calls(m) for m in model.modules())


class TResidual(tnn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class TConcat(tnn.Module):
    def __init__(self, *branches):
        super().__init__()
        for i, b in enumerate(branches):
            self.add_module(str(i), b)

    def forward(self, x):  # every branch, also one listed twice (children() skips those)
        return torch.cat([b(x) for b in self._modules.values()], dim=1)


def _reuse_in_sequential(m):
    lin = m.Linear(3, 3)
    return m.Sequential(lin, m.ReLU(), lin)


def _strided_conv_twice(m):
    """The same stride-2 conv on an 8x8 and then a 4x4 map: caches of different shapes."""
    conv = m.Conv2d(2, 2, 3, stride=2, padding=1)
    return m.Sequential(conv, m.Tanh(), conv)


def _residual_sharing(m, res):
    """The body's conv sees tanh(x), the shortcut's sees x: the two caches differ."""
    conv = m.Conv2d(3, 3, 3, padding=1)
    return res(m.Sequential(m.Tanh(), conv, m.ReLU()), conv)


def _concat_sharing(m, cat):
    lin = m.Linear(4, 4)
    return cat(lin, m.Sequential(lin, m.Tanh()), m.Sequential(m.ReLU(), lin, lin))


@pytest.mark.parametrize(
    "make, shape",
    [(_reuse_in_sequential, (5, 3)), (_strided_conv_twice, (2, 2, 8, 8)),
     (lambda m: _residual_sharing(m, nn.Residual if m is nn else TResidual), (2, 3, 5, 5)),
     (lambda m: _concat_sharing(m, nn.Concat if m is nn else TConcat), (6, 4))],
    ids=["sequential", "strided-conv", "residual", "concat"],
)  # fmt: skip
def test_a_module_used_twice_gets_both_gradients(make, shape, lb, dtype):
    ours, theirs = make(nn), make(tnn)
    copy_weights(ours, theirs, lb, dtype)
    compare(ours, theirs, _x(*shape), lb, dtype=dtype)
    assert _pending(ours) == 0  # every cache was consumed


class Gate(nn.Module):
    """out = l(x) * l(tanh(x)): one layer on two branches that meet in a product."""

    def __init__(self, lin):
        super().__init__()
        self.lin, self.act = lin, nn.Tanh()

    def forward(self, x):
        a = self.lin(x)
        b = self.lin(self.act(x))
        self.cache = (a, b)
        self.out = a * b
        return self.out

    def backward(self, dout):
        a, b = self.cache
        dx_b = self.act.backward(self.lin.backward(dout * a))  # the later call first
        return self.lin.backward(dout * b) + dx_b


class TGate(tnn.Module):
    def __init__(self, lin):
        super().__init__()
        self.lin, self.act = lin, tnn.Tanh()

    def forward(self, x):
        return self.lin(x) * self.lin(self.act(x))


def test_a_layer_shared_across_two_branches_of_a_custom_module(lb, dtype):
    ours, theirs = Gate(nn.Linear(4, 4)), TGate(tnn.Linear(4, 4))
    copy_weights(ours, theirs, lb, dtype)
    compare(ours, theirs, _x(3, 4), lb, dtype=dtype)


def test_subclass_calling_super_keeps_one_cache_per_call(dtype):
    class Doubled(nn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

        def backward(self, dout):
            return super().backward(2 * dout)

    class TDoubled(tnn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

    ours, theirs = Doubled(3, 3), TDoubled(3, 3)
    ours(np.zeros((1, 3), dtype=np.float32))
    assert pending_calls(ours) == 1  # the wrapped super().forward did not push again
    seq, tseq = nn.Sequential(ours, nn.ReLU(), ours), tnn.Sequential(theirs, tnn.ReLU(), theirs)
    copy_weights(seq, tseq, "numpy", dtype)
    compare(seq, tseq, _x(4, 3), "numpy", dtype=dtype)


def test_backward_twice_after_one_forward_raises():
    lin = nn.Linear(3, 2).double()
    x, d = _x(4, 3), _x(4, 2)
    lin(x)
    lin.backward(d)
    grad = lin.weight.grad.copy()
    with pytest.raises(RuntimeError, match="Linear.backward: no forward call .* second time"):
        lin.backward(d)
    np.testing.assert_array_equal(lin.weight.grad, grad)  # nothing was added
    seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    seq(x)
    seq.backward(d)
    grads = [p.grad.copy() for p in seq.parameters()]
    with pytest.raises(RuntimeError, match="Sequential.backward: .* second time"):
        seq.backward(d)
    for p, g in zip(seq.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(_x(4, 3), np.array([0, 1, 2, 0]))
    loss_fn.backward()
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward: .* second time"):
        loss_fn.backward()


def test_backward_before_forward_and_after_no_grad_raise():
    lin = nn.Linear(3, 2).double()
    with pytest.raises(RuntimeError, match="Linear.backward called before forward"):
        lin.backward(_x(4, 2))
    with cnnlib.no_grad():
        lin(_x(4, 3))
    with pytest.raises(RuntimeError, match="ran inside cnnlib.no_grad"):
        lin.backward(_x(4, 2))


def test_two_top_level_calls_then_two_backwards_raise_never_wrong_numbers():
    """The deliberate difference from torch: a second top-level call drops the first graph."""
    ours, theirs = _reuse_in_sequential(nn), _reuse_in_sequential(tnn)
    copy_weights(ours, theirs, "numpy")
    x1, x2, d2 = _x(4, 3, seed=1), _x(4, 3, seed=2), _x(4, 3, seed=3)
    ours(x1)
    ours(x2)  # a new graph: x1's caches are dropped
    assert _pending(ours) == 4  # Sequential, ReLU and the linear layer twice
    dx = ours.backward(d2)  # the gradient of the latest call, exactly
    tx = torch.tensor(x2, requires_grad=True)
    theirs(tx).backward(torch.from_numpy(d2))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-7)
    for p, t in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-7)
    with pytest.raises(RuntimeError, match="one graph per top-level call"):
        ours.backward(d2)


def test_a_layer_called_on_its_own_between_forward_and_backward_raises():
    lin = nn.Linear(3, 3).double()
    net = nn.Sequential(lin, nn.ReLU())
    net(_x(4, 3))
    lin(_x(2, 3))  # a top-level call of the inner layer: a new graph for it
    with pytest.raises(RuntimeError, match="Linear.backward inside Sequential.backward"):
        net.backward(_x(4, 3))


def test_forward_only_loop_keeps_memory_bounded():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    x = _x(2, 1, 6, 6).astype(np.float32)
    net(x)
    one_pass = _pending(net)
    assert one_pass == 5  # one cache per module call (the Sequential's and its 4 layers')
    for _ in range(20):  # evaluation without no_grad: each call replaces the last graph
        net(x)
    assert _pending(net) == one_pass
    shared = _reuse_in_sequential(nn)
    for _ in range(20):
        shared(_x(2, 3).astype(np.float32))
    assert pending_calls(shared[0]) == 2  # two uses in one graph, not 40


def test_no_grad_keeps_no_cache_and_leaves_an_earlier_graph_intact():
    ours, theirs = _reuse_in_sequential(nn), _reuse_in_sequential(tnn)
    copy_weights(ours, theirs, "numpy")
    x, d = _x(4, 3), _x(4, 3, seed=1)
    ours(x)
    with cnnlib.no_grad():
        for _ in range(5):
            out = ours(_x(4, 3, seed=2))
        assert all(m.cache is None for m in ours.modules())
        assert ours.out is out  # outputs stay readable (e.g. for plotting activations)
    assert _pending(ours) == 4  # the graph of `x` only
    dx = ours.backward(d)  # as in torch: the earlier graph is unaffected by no_grad calls
    tx = torch.tensor(x, requires_grad=True)
    theirs(tx).backward(torch.from_numpy(d))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-7)
    np.testing.assert_allclose(ours[0].weight.grad, theirs[0].weight.grad.numpy(), rtol=1e-7)


def test_grad_mode_context_decorator_and_threads():
    assert cnnlib.is_grad_enabled()

    @cnnlib.no_grad
    def bare():
        return cnnlib.is_grad_enabled()

    @cnnlib.no_grad()
    def called():
        with cnnlib.enable_grad():
            inner = cnnlib.is_grad_enabled()
        return cnnlib.is_grad_enabled(), inner

    assert bare() is False and called() == (False, True)
    assert cnnlib.is_grad_enabled()
    with pytest.raises(KeyError):
        with cnnlib.no_grad():
            raise KeyError("inside no_grad")
    assert cnnlib.is_grad_enabled()  # restored after an exception
    with cnnlib.set_grad_enabled(False):
        assert not cnnlib.is_grad_enabled()
    assert cnnlib.is_grad_enabled()
    cnnlib.set_grad_enabled(False)
    assert not cnnlib.is_grad_enabled()
    cnnlib.set_grad_enabled(True)
    seen = []
    with cnnlib.no_grad():  # like torch's, the mode belongs to the thread
        t = threading.Thread(target=lambda: seen.append(cnnlib.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]
    with pytest.raises(TypeError, match="bool"):
        cnnlib.set_grad_enabled("no")


@pytest.mark.parametrize("backend", ["numpy", "torch-cpu"])
def test_wrong_dtype_dout_is_a_type_error_at_module_level(backend):
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    seq.to({"numpy": "numpy", "torch-cpu": "torch"}[backend])
    out = seq(to_backend(_x(4, 3).astype(np.float32), backend))
    wrong = to_backend(_x(*out.shape), backend)  # float64
    with pytest.raises(TypeError, match="Sequential.backward: dout has dtype .*float64.*float32"):
        seq.backward(wrong)
    assert _pending(seq) == 3  # the failed call consumed nothing: a correct dout still works
    dx = seq.backward(to_backend(_x(*out.shape).astype(np.float32), backend))
    assert to_numpy(dx).dtype == np.float32


@pytest.mark.parametrize(
    "make, shape",
    [(lambda: nn.Linear(3, 2), (4, 3)), (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
     (lambda: nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4))],
)  # fmt: skip
def test_float64_input_into_a_float32_layer_is_a_type_error(make, shape):
    layer = make()
    with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
        layer(_x(*shape))
    with pytest.raises(TypeError, match="float64.*float32|float32.*float64"):
        nn.Sequential(make())(_x(*shape))


def test_frozen_parameters_get_no_gradient(lb):
    ours = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    theirs = tnn.Sequential(tnn.Linear(4, 3), tnn.ReLU(), tnn.Linear(3, 2))
    copy_weights(ours, theirs, lb)
    assert ours[0].requires_grad_(False) is ours[0]
    theirs[0].requires_grad_(False)
    assert ours[2].bias.requires_grad_(False) is ours[2].bias
    theirs[2].bias.requires_grad_(False)
    compare(ours, theirs, _x(5, 4), lb)
    assert ours[0].weight.grad is None and ours[2].bias.grad is None
    assert ours[2].weight.grad is not None
    assert [p.requires_grad for p in ours.parameters()] == [
        p.requires_grad for p in theirs.parameters()
    ]
