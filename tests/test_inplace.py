"""In-place ops never give a silently wrong gradient.

Ops whose backward needs their own output (sigmoid, tanh, softmax, log_softmax, and the
normalisations without weight and bias, whose output is the cached x_hat) keep a private
copy in their cache, so an in-place op applied to that output afterwards cannot change
what their backward reads. torch raises for most of these pairs ("modified by an inplace
operation"); cnnlib gives the gradient of the function computed, which the tests take from
torch running the same chain out of place. Every output-caching op meets every in-place op,
functionally (every backend, float64 and float32, through check_op) and as layers.

Where one array feeds several branches (nn.Residual, nn.Concat), an in-place write into it
would corrupt the other branches' gradients; cnnlib refuses it with a RuntimeError.
"""

import numpy as np
import pytest
from helpers import DTYPES, check_op, to_backend, torch
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend

import cnnlib
from cnnlib import functional as F
from cnnlib import nn, random
from cnnlib.functional._inplace import shared_input

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
TF = torch.nn.functional if torch is not None else None

SHAPE = (2, 3, 4, 5)
P, SEED = 0.4, 11


def _dx(grads):
    return grads[0] if isinstance(grads, tuple) else grads


# name -> (cnnlib forward with its arguments, cnnlib backward, the torch function)
CACHING = {
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward, lambda: torch.sigmoid),
    "tanh": (F.tanh_forward, F.tanh_backward, lambda: torch.tanh),
    "softmax": (
        lambda x: F.softmax_forward(x, 1),
        F.softmax_backward,
        lambda: lambda t: TF.softmax(t, 1),
    ),
    "log_softmax": (
        lambda x: F.log_softmax_forward(x, 1),
        F.log_softmax_backward,
        lambda: lambda t: TF.log_softmax(t, 1),
    ),
    "batch_norm": (
        lambda x: F.batch_norm_forward(x, None, None, training=True),
        F.batch_norm_backward,
        lambda: lambda t: TF.batch_norm(t, None, None, training=True),
    ),
    "layer_norm": (
        lambda x: F.layer_norm_forward(x, SHAPE[2:]),
        F.layer_norm_backward,
        lambda: lambda t: TF.layer_norm(t, SHAPE[2:]),
    ),
    "group_norm": (
        lambda x: F.group_norm_forward(x, 3),
        F.group_norm_backward,
        lambda: lambda t: TF.group_norm(t, 3),
    ),
}


def dropout_mask(mask_shape):
    """The mask F.dropout(…, seed=SEED) draws, scaled by 1 / (1 - P), as NumPy."""
    return random.bernoulli(mask_shape, 1 - P, seed=SEED) / (1 - P)


# name -> (cnnlib forward in place, cnnlib backward, torch function out of place,
#          torch function in place)
INPLACE = {
    "relu": (
        lambda y: F.relu_forward(y, inplace=True),
        F.relu_backward,
        lambda: TF.relu,
        lambda: lambda t: TF.relu(t, inplace=True),
    ),
    "leaky_relu": (
        lambda y: F.leaky_relu_forward(y, 0.2, inplace=True),
        F.leaky_relu_backward,
        lambda: lambda t: TF.leaky_relu(t, 0.2),
        lambda: lambda t: TF.leaky_relu(t, 0.2, inplace=True),
    ),
    "relu6": (
        lambda y: F.relu6_forward(y * 4, inplace=True),  # reach both kinks' sides
        lambda g, c: F.relu6_backward(g, c) * 4,
        lambda: lambda t: TF.relu6(t * 4),
        lambda: lambda t: TF.relu6(t.mul_(4), inplace=True),
    ),
    "hardsigmoid": (
        lambda y: F.hardsigmoid_forward(y, inplace=True),
        F.hardsigmoid_backward,
        lambda: TF.hardsigmoid,
        lambda: lambda t: TF.hardsigmoid(t, inplace=True),
    ),
    "hardswish": (
        lambda y: F.hardswish_forward(y, inplace=True),
        F.hardswish_backward,
        lambda: TF.hardswish,
        lambda: lambda t: TF.hardswish(t, inplace=True),
    ),
    "silu": (
        lambda y: F.silu_forward(y, inplace=True),
        F.silu_backward,
        lambda: TF.silu,
        lambda: lambda t: TF.silu(t, inplace=True),
    ),
    "dropout": (
        lambda y: F.dropout_forward(y, P, True, True, seed=SEED),
        F.dropout_backward,
        lambda: lambda t: t * torch.from_numpy(dropout_mask(SHAPE)),
        lambda: lambda t: t.mul_(torch.from_numpy(dropout_mask(SHAPE))),
    ),
    "dropout2d": (
        lambda y: F.dropout2d_forward(y, P, True, True, seed=SEED),
        F.dropout2d_backward,
        lambda: lambda t: t * torch.from_numpy(dropout_mask(SHAPE[:2] + (1, 1))),
        lambda: lambda t: t.mul_(torch.from_numpy(dropout_mask(SHAPE[:2] + (1, 1)))),
    ),
}
PAIRS = [(c, i) for c in CACHING for i in INPLACE]


def chain(cache_name, inplace_name):
    """forward/backward of ``inplace_op(caching_op(x))`` in cnnlib, with the in-place op
    overwriting the caching op's output, and the same chain out of place in torch."""
    c_forward, c_backward, c_torch = CACHING[cache_name]
    i_forward, i_backward, i_torch, _ = INPLACE[inplace_name]

    def forward(x):
        y, c1 = c_forward(x)
        z, c2 = i_forward(y)
        if inplace_name not in ("relu6",):  # relu6's chain scales y first (a new array)
            assert z is y, "the in-place op must hand back the array it overwrote"
        return z, (c1, c2)

    def backward(dout, caches):
        c1, c2 = caches
        return _dx(c_backward(_dx(i_backward(dout, c2)), c1))

    return forward, backward, lambda t: i_torch()(c_torch()(t))


def values(seed=0):
    return np.random.default_rng(seed).standard_normal(SHAPE) * 2


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cache_name, inplace_name", PAIRS)
def test_inplace_after_an_output_caching_op_gives_torchs_out_of_place_gradient(
    backend, dtype, cache_name, inplace_name
):
    forward, backward, torch_fn = chain(cache_name, inplace_name)
    check_op(forward, backward, torch_fn, [values()], backend=backend, dtype=dtype)


def torch_outcome(cache_name, inplace_name):
    """torch's own in-place chain: the input gradient, or None where torch refuses it."""
    _, _, c_torch = CACHING[cache_name]
    _, _, _, i_torch_inplace = INPLACE[inplace_name]
    t = torch.tensor(values(), requires_grad=True)
    out = i_torch_inplace()(c_torch()(t))
    try:
        out.backward(torch.from_numpy(values(1)))
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        return None
    return t.grad.numpy()


@needs_torch
@pytest.mark.parametrize("cache_name, inplace_name", PAIRS)
def test_where_torch_runs_the_in_place_chain_cnnlib_agrees(cache_name, inplace_name):
    """Never a silent difference: where torch accepts the in-place chain, its gradient is
    cnnlib's; where it refuses, cnnlib's is the out-of-place gradient (test above)."""
    forward, backward, _ = chain(cache_name, inplace_name)
    want = torch_outcome(cache_name, inplace_name)
    if want is None:
        assert cache_name not in ("batch_norm", "layer_norm", "group_norm")  # they save x
        return
    out, caches = forward(values())
    np.testing.assert_allclose(backward(values(1), caches), want, rtol=1e-7, atol=1e-12)


def test_the_cache_of_an_output_caching_op_is_private():
    """The bug this file guards against: the cache must not be the array handed back."""
    for name, (c_forward, _, _) in CACHING.items():
        out, cache = c_forward(values())
        for field in cache:
            if isinstance(field, np.ndarray):
                assert not np.may_share_memory(field, out), name


# ------------------------------------------------------------------ layers


def layer_pairs():
    caching = {
        "Sigmoid": (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
        "Tanh": (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
        "Softmax": (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
        "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
        "BatchNorm2d": (
            lambda: nn.BatchNorm2d(3, affine=False),
            lambda: torch.nn.BatchNorm2d(3, affine=False),
        ),
        "LayerNorm": (
            lambda: nn.LayerNorm(SHAPE[2:], elementwise_affine=False),
            lambda: torch.nn.LayerNorm(SHAPE[2:], elementwise_affine=False),
        ),
        "GroupNorm": (
            lambda: nn.GroupNorm(3, 3, affine=False),
            lambda: torch.nn.GroupNorm(3, 3, affine=False),
        ),
    }
    inplace = {
        "ReLU": (lambda: nn.ReLU(inplace=True), lambda: torch.nn.ReLU()),
        "LeakyReLU": (lambda: nn.LeakyReLU(0.2, inplace=True), lambda: torch.nn.LeakyReLU(0.2)),
        "ReLU6": (lambda: nn.ReLU6(inplace=True), lambda: torch.nn.ReLU6()),
        "Hardsigmoid": (lambda: nn.Hardsigmoid(inplace=True), lambda: torch.nn.Hardsigmoid()),
        "Hardswish": (lambda: nn.Hardswish(inplace=True), lambda: torch.nn.Hardswish()),
        "SiLU": (lambda: nn.SiLU(inplace=True), lambda: torch.nn.SiLU()),
        "Dropout": (
            lambda: nn.Dropout(P, inplace=True, generator=np.random.default_rng(SEED)),
            lambda: Scale(dropout_mask(SHAPE)),
        ),
        "Dropout2d": (
            lambda: nn.Dropout2d(P, inplace=True, generator=np.random.default_rng(SEED)),
            lambda: Scale(dropout_mask(SHAPE[:2] + (1, 1))),
        ),
    }
    return [
        pytest.param(c, i, id=f"{cn}-{iname}")
        for cn, c in caching.items()
        for iname, i in inplace.items()
    ]


if torch is not None:

    class Scale(torch.nn.Module):
        """torch's side of a dropout layer whose mask is known: a fixed multiplication."""

        def __init__(self, scaled_mask):
            super().__init__()
            self.scaled_mask = torch.from_numpy(scaled_mask)

        def forward(self, t):
            return t * self.scaled_mask.to(t.dtype)


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("caching, inplace", layer_pairs() if torch is not None else [])
def test_inplace_layer_after_an_output_caching_layer_matches_torch(lb, dtype, caching, inplace):
    ours = nn.Sequential(caching[0](), inplace[0]())
    theirs = torch.nn.Sequential(caching[1](), inplace[1]())
    copy_weights(ours, theirs, lb, dtype)
    compare(ours, theirs, values(), lb, dtype=dtype)


@needs_torch
@pytest.mark.parametrize(
    "between",
    [
        pytest.param((lambda: nn.Flatten(), lambda: torch.nn.Flatten()), id="Flatten"),
        pytest.param((lambda: nn.Identity(), lambda: torch.nn.Identity()), id="Identity"),
        pytest.param(
            (lambda: nn.Dropout(0.5).eval(), lambda: torch.nn.Identity()), id="Dropout-eval"
        ),
    ],
)
def test_inplace_through_a_view_of_the_cached_output(lb, between):
    """Flatten hands back a view, Identity and an evaluating Dropout the array itself: the
    in-place write still lands in the sigmoid's output, and still does not reach its cache."""
    ours = nn.Sequential(nn.Sigmoid(), between[0](), nn.Hardswish(inplace=True))
    theirs = torch.nn.Sequential(torch.nn.Sigmoid(), between[1](), torch.nn.Hardswish())
    compare(ours, theirs, values(), lb)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_batchnorm_without_affine_relu_inplace_end_to_end(lb, dtype):
    """The block of the issue: the ReLU overwrites the BatchNorm output, which is x_hat."""
    cnnlib.random.manual_seed(0)
    ours = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4, affine=False), nn.ReLU(inplace=True)
    )
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4, affine=False),
        torch.nn.ReLU(inplace=True),
    )
    copy_weights(ours, theirs, lb, dtype)
    for step in range(2):  # the running statistics too, over two batches
        compare(ours, theirs, values(step), lb, dtype=dtype)
        for p in theirs.parameters():
            p.grad = None
        for p in ours.parameters():
            p.grad = None


# ------------------------------------------------------------------ shared inputs


def _block(first):
    """Residual(Sequential(first, conv)) in float64: `first` runs on the shortcut's input."""
    cnnlib.random.manual_seed(0)
    return nn.Residual(nn.Sequential(first, nn.Conv2d(3, 3, 3, padding=1))).double()


DEVICE = {"numpy": "numpy", "torch-cpu": "torch", "torch-cuda": "cuda"}


INPLACE_FIRST = [
    pytest.param(lambda: nn.ReLU(inplace=True), id="ReLU"),
    pytest.param(lambda: nn.SiLU(inplace=True), id="SiLU"),
    pytest.param(lambda: nn.Dropout(0.3, inplace=True), id="Dropout"),
    pytest.param(lambda: nn.Dropout2d(0.3, inplace=True), id="Dropout2d"),
]


@needs_torch
@pytest.mark.parametrize("first", INPLACE_FIRST)
def test_residual_body_may_not_overwrite_the_shortcuts_input(lb, first):
    """torch follows the write (the shortcut adds relu(x), and the gradient goes through
    the ReLU); cnnlib cannot, and refuses instead of returning the wrong dx."""
    block = _block(first()).to(DEVICE[lb])
    x = to_backend(values(), lb)
    with pytest.raises(RuntimeError, match=r"inplace=True\) would overwrite the input of Resid"):
        block(x)


@needs_torch
def test_what_torch_does_with_the_same_block():
    """The forward is the same; only cnnlib's backward could not follow the write."""
    block = _block(nn.ReLU(inplace=True))
    conv = torch.nn.Conv2d(3, 3, 3, padding=1).double()
    conv.load_state_dict({k: torch.from_numpy(v) for k, v in block.body[1].state_dict().items()})
    x = torch.tensor(values(), requires_grad=True)
    h = x * 1  # a non-leaf, as inside a network
    out = torch.nn.Sequential(torch.nn.ReLU(inplace=True), conv)(h) + h
    with cnnlib.no_grad():  # nothing to refuse when no backward will run
        ours = block(values())
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-12)


@needs_torch
def test_writes_into_other_branches_inputs_and_views_of_them_are_refused(lb):
    x = to_backend(values(), lb)
    cases = [
        nn.Concat(nn.Identity(), nn.ReLU(inplace=True)),
        nn.Concat(nn.Conv2d(3, 2, 1), nn.Hardswish(inplace=True)),  # the conv cached x
        nn.Residual(nn.Conv2d(3, 3, 1), shortcut=nn.LeakyReLU(0.1, inplace=True)),
        nn.Concat(nn.Sequential(nn.Flatten(), nn.ReLU(inplace=True)), nn.Flatten()),  # a view
    ]
    for block in cases:
        block.to(DEVICE[lb], dtype="float64")
        with pytest.raises(RuntimeError, match="would overwrite the input of"):
            block(x)


def test_the_functional_check_on_every_backend(backend):
    x = to_backend(values(), backend)
    with shared_input(x, "Concat"):
        with pytest.raises(RuntimeError, match=r"dropout2d\(inplace=True\) would overwrite"):
            F.dropout2d(x, 0.5, True, True)
        with pytest.raises(RuntimeError, match=r"relu\(inplace=True\) would overwrite"):
            F.relu(x[:1, ...], inplace=True)  # a view of x
        F.relu(x * 1, inplace=True)  # a new array may be overwritten
        F.dropout(x, 0.5, training=False, inplace=True)  # the identity writes nothing
        with cnnlib.no_grad():  # no backward will run: nothing to protect
            F.relu(x, inplace=True)
    F.silu(x, inplace=True)  # outside the container's forward


@needs_torch
def test_in_place_deeper_in_a_branch_is_allowed_and_matches_torch(lb):
    """Conv -> ReLU(inplace=True) inside a Residual body overwrites the conv's output, which
    nothing else reads: allowed, and the same numbers as torch."""
    cnnlib.random.manual_seed(0)
    ours = nn.Residual(nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU(inplace=True)))
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    class TorchResidual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(conv, torch.nn.ReLU(inplace=True))

        def forward(self, t):
            return self.body(t) + t

    theirs = TorchResidual()
    copy_weights(ours, theirs, lb)
    compare(ours, theirs, values(), lb)
