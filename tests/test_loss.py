"""Losses against torch: cross_entropy (class indices and probabilities, weights,
ignore_index, label smoothing, per-pixel), nll_loss, binary_cross_entropy (with logits,
pos_weight), mse_loss (weight), one_hot; torch's legacy size_average/reduce; bad input."""

import inspect
import math
import warnings

import numpy as np
import pytest
from helpers import DTYPES, check_op, to_backend, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nn_helpers import LAYER_BACKENDS, compare, copy_weights, layer_backend

from cnnlib import functional as F
from cnnlib import nn
from cnnlib.backend import to_numpy

TF = torch.nn.functional if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=LAYER_BACKENDS)
def lb(request):
    return layer_backend(request.param)


reductions = st.sampled_from(["mean", "sum", "none"])
spatials = st.sampled_from([(), (1, 1), (2, 3), (2, 1, 2)])


def ops(name):
    return getattr(F, f"{name}_forward"), getattr(F, f"{name}_backward"), getattr(F, name)


def class_targets(rng, n, c, spatial, ignore_index):
    target = rng.integers(0, c, (n,) + spatial)
    if ignore_index is not None:  # mark about a third of the terms as ignored
        target = np.where(rng.random(target.shape) < 0.3, ignore_index, target)
    return target


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 5),
    spatial=spatials,
    reduction=reductions,
    weighted=st.booleans(),
    ignore=st.sampled_from([None, -100, 0]),
    smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    probabilities=st.booleans(),
    scale=st.sampled_from([1.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_matches_torch(
    backend, dtype, n, c, spatial, reduction, weighted, ignore, smoothing, probabilities, scale,
    seed,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c) + spatial) * scale
    weight = rng.uniform(0.2, 2.0, c) if weighted else None
    if probabilities:  # a distribution over the C classes for every term
        target = np.moveaxis(rng.dirichlet(np.ones(c), (n,) + spatial), -1, 1)
        ignore = None
    else:
        target = class_targets(rng, n, c, spatial, ignore)
    ignore_index = -100 if ignore is None else ignore
    forward, backward, op = ops("cross_entropy")
    out = check_op(
        forward, backward, TF.cross_entropy,
        [logits, target, weight, None, ignore_index, None, reduction, smoothing],
        backend=backend, op=op, grad_argnums=[0], seed=seed, dtype=dtype,
    )  # fmt: skip
    assert out.shape == (() if reduction != "none" else (n,) + spatial)


@needs_torch
@pytest.mark.parametrize("probabilities", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_one_unbatched_sample(backend, probabilities, reduction):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal(5)
    target = rng.dirichlet(np.ones(5)) if probabilities else np.array(3)
    forward, backward, op = ops("cross_entropy")
    check_op(forward, backward, TF.cross_entropy, [logits, target, rng.uniform(0.5, 2, 5)],
             {"reduction": reduction, "label_smoothing": 0.2}, backend=backend, op=op,
             grad_argnums=[0])  # fmt: skip


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 5),
    spatial=spatials,
    reduction=reductions,
    weighted=st.booleans(),
    ignore=st.sampled_from([None, -100, 1]),
    seed=st.integers(0, 2**16),
)
def test_nll_loss_matches_torch(backend, dtype, n, c, spatial, reduction, weighted, ignore, seed):
    rng = np.random.default_rng(seed)
    log_probs = rng.standard_normal((n, c) + spatial) - 2
    weight = rng.uniform(0.2, 2.0, c) if weighted else None
    target = class_targets(rng, n, c, spatial, ignore if ignore is None or ignore < c else None)
    ignore_index = -100 if ignore is None else ignore
    forward, backward, op = ops("nll_loss")
    check_op(forward, backward, TF.nll_loss,
             [log_probs, target, weight, None, ignore_index, None, reduction],
             backend=backend, op=op, grad_argnums=[0], seed=seed, dtype=dtype)  # fmt: skip


@needs_torch
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_every_term_ignored_gives_nan_and_zero_gradient_like_torch(backend, name):
    x, target = np.random.default_rng(0).standard_normal((3, 4)), np.array([-100, -100, -100])
    forward, backward, _ = ops(name)
    loss, cache = forward(to_backend(x, backend), to_backend(target, backend))
    dx = to_numpy(backward(1.0, cache))
    t = torch.tensor(x, requires_grad=True)
    ref = getattr(TF, name)(t, torch.tensor(target))
    ref.backward()
    assert np.isnan(to_numpy(loss)) and torch.isnan(ref)
    np.testing.assert_array_equal(dx, t.grad.numpy())
    np.testing.assert_array_equal(dx, 0.0)


def test_cross_entropy_gradient_is_softmax_minus_target():
    logits = np.array([[2.0, 1.0, 0.1]])
    p = np.exp(logits) / np.exp(logits).sum()
    loss, cache = F.cross_entropy_forward(logits, np.array([0]))
    np.testing.assert_allclose(loss, -np.log(p[0, 0]))
    np.testing.assert_allclose(F.cross_entropy_backward(1.0, cache), p - [[1.0, 0.0, 0.0]])
    # label smoothing e: the target becomes (1 - e) one_hot + e / C
    _, cache = F.cross_entropy_forward(logits, np.array([0]), label_smoothing=0.3)
    q = 0.7 * np.array([[1.0, 0.0, 0.0]]) + 0.1
    np.testing.assert_allclose(F.cross_entropy_backward(1.0, cache), p - q)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [0.0, -1000.0]])
    with np.errstate(over="raise"):
        loss = F.cross_entropy(logits, np.array([1, 1]), reduction="none")
    np.testing.assert_allclose(loss, [1000.0, 1000.0])


@needs_torch
def test_nll_loss_ignores_minus_inf_at_other_classes_like_torch():
    with np.errstate(divide="ignore"):  # log 0 = -inf at a class that is not the target
        log_probs = np.log(np.array([[0.0, 1.0], [0.5, 0.5]]))
    target = np.array([1, 0])
    with np.errstate(all="raise"):
        loss = F.nll_loss(log_probs, target)
    assert loss == TF.nll_loss(torch.tensor(log_probs), torch.tensor(target)).item()


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    reduction=reductions,
    weight_shape=st.sampled_from([None, "full", "last", "one"]),
    seed=st.integers(0, 2**16),
)
def test_binary_cross_entropy_matches_torch(backend, dtype, shape, reduction, weight_shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.02, 0.98, shape)
    x.flat[0] = rng.choice([0.0, 1.0, x.flat[0]])  # log 0 is clamped to -100, as in torch
    t = rng.uniform(0, 1, shape)
    weight = _weight(rng, shape, weight_shape)
    forward, backward, op = ops("binary_cross_entropy")
    check_op(forward, backward, TF.binary_cross_entropy, [x, t, weight, None, None, reduction],
             backend=backend, op=op, grad_argnums=[0], seed=seed, dtype=dtype)  # fmt: skip


def _weight(rng, shape, kind):
    sizes = {None: None, "full": shape, "last": shape[-1:], "one": (1,) * len(shape)}
    return None if kind is None else rng.uniform(0.2, 2.0, sizes[kind])


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    reduction=reductions,
    weight_shape=st.sampled_from([None, "full", "last"]),
    pos_weight_shape=st.sampled_from([None, "last", "full"]),
    scale=st.sampled_from([1.0, 50.0]),
    seed=st.integers(0, 2**16),
)
def test_binary_cross_entropy_with_logits_matches_torch(
    backend, dtype, shape, reduction, weight_shape, pos_weight_shape, scale, seed
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    t = rng.uniform(0, 1, shape)
    weight, pos_weight = _weight(rng, shape, weight_shape), _weight(rng, shape, pos_weight_shape)
    forward, backward, op = ops("binary_cross_entropy_with_logits")
    check_op(forward, backward, TF.binary_cross_entropy_with_logits,
             [x, t, weight, None, None, reduction, pos_weight],
             backend=backend, op=op, grad_argnums=[0], seed=seed, dtype=dtype)  # fmt: skip


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple),
    reduction=reductions,
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mse_loss_matches_torch(backend, dtype, shape, reduction, weighted, seed):
    if shape == () and reduction == "none":
        shape = (1,)  # check_op passes a Python float as the dout of a 0-d output
    rng = np.random.default_rng(seed)
    x, t = np.asarray(rng.standard_normal(shape)), np.asarray(rng.standard_normal(shape))
    weight = np.asarray(rng.uniform(0.2, 2.0, shape)) if weighted else None
    forward, backward, op = ops("mse_loss")
    check_op(forward, backward, TF.mse_loss, [x, t, None, None, reduction, weight],
             backend=backend, op=op, grad_argnums=[0], seed=seed, dtype=dtype)  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_of_0d_arrays(reduction):
    loss, cache = F.mse_loss_forward(np.array(3.0), np.array(1.0), reduction=reduction)
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss == 4.0
    dx = F.mse_loss_backward(2.0, cache)
    assert isinstance(dx, np.ndarray) and dx.shape == () and dx == 8.0


def test_losses_are_0d_arrays_of_the_input_library(backend):
    logits = to_backend(np.zeros((2, 3)), backend)
    target = to_backend(np.array([0, 2]), backend)
    probs = to_backend(np.full((2, 3), 0.5), backend)
    losses = [
        F.cross_entropy(logits, target),
        F.nll_loss(logits, target),
        F.mse_loss(logits, logits),
        F.binary_cross_entropy(probs, probs),
        F.binary_cross_entropy_with_logits(logits, probs),
    ]
    for loss in losses:
        assert tuple(loss.shape) == ()
        assert type(loss) is type(logits)
    np.testing.assert_allclose(to_numpy(losses[0]), np.log(3.0))  # uniform over 3 classes
    np.testing.assert_allclose(to_numpy(losses[3]), np.log(2.0))
    assert float(to_numpy(losses[2])) == 0.0


# ------------------------------------------------------------------ one_hot


@needs_torch
@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
    classes=st.integers(1, 6),
    given_classes=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_one_hot_matches_torch(backend, shape, classes, given_classes, seed):
    if math.prod(shape) == 0 and not given_classes:
        given_classes = True  # torch cannot infer the number of classes of an empty tensor
    x = np.asarray(np.random.default_rng(seed).integers(0, classes, shape))
    num_classes = classes if given_classes else -1
    ours = F.one_hot(to_backend(x, backend), num_classes)
    theirs = TF.one_hot(torch.tensor(x), num_classes)
    assert type(ours) is type(to_backend(x, backend))
    assert to_numpy(ours).dtype == np.int64 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())


def test_one_hot_bad_input():
    with pytest.raises(ValueError, match="class values must be non-negative, got -1"):
        F.one_hot(np.array([0, -1]))
    with pytest.raises(ValueError, match="smaller than num_classes=3, got 3"):
        F.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="cannot infer num_classes from an empty tensor"):
        F.one_hot(np.zeros(0, dtype=int))
    with pytest.raises(TypeError, match="tensor must hold integer class indices, got dtype float"):
        F.one_hot(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="num_classes must be an int"):
        F.one_hot(np.array([0, 1]), 2.0)


# ------------------------------------------------------------------ legacy arguments


LEGACY = [None, True, False]


@needs_torch
@pytest.mark.parametrize("size_average", LEGACY)
@pytest.mark.parametrize("reduce", LEGACY)
def test_legacy_size_average_and_reduce_map_like_torch(size_average, reduce):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = F.mse_loss(a, b, size_average, reduce)
        ours_layer = nn.MSELoss(size_average, reduce)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = TF.mse_loss(torch.tensor(a), torch.tensor(b), size_average, reduce)
        theirs_layer = torch.nn.MSELoss(size_average, reduce)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)
    assert ours_layer.reduction == theirs_layer.reduction
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in theirs_w]
    assert all(w.category is UserWarning for w in ours_w)


@needs_torch
def test_a_torch_shaped_positional_call_gives_torchs_numbers():
    """torch's third positional argument is size_average: mse_loss(a, b, 'sum') is the mean
    (with a warning), not the sum. cnnlib must agree, for every loss with legacy arguments."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.1, 0.9, (3, 4))
    y = np.array([0, 3, 1])
    calls = [
        ("mse_loss", (a, b, "sum")),
        ("mse_loss", (a, b, False)),
        ("mse_loss", (a, b, None, False)),
        ("cross_entropy", (a, y, None, False)),
        ("cross_entropy", (a, y, None, None, -100, False)),
        ("nll_loss", (a, y, None, False)),
        ("binary_cross_entropy", (b, b, None, False)),
        ("binary_cross_entropy_with_logits", (a, b, None, None, False)),
    ]
    for name, args in calls:
        targs = [torch.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, theirs = getattr(F, name)(*args), getattr(TF, name)(*targs)
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, err_msg=f"{name}{args[2:]}")
    with pytest.warns(UserWarning, match="please use reduction='mean' instead"):
        F.mse_loss(a, a, "sum")


def test_elementwise_mean_is_the_deprecated_name_of_mean():
    a = np.arange(4.0)
    with pytest.warns(UserWarning, match="'elementwise_mean' is deprecated"):
        assert F.mse_loss(a, a * 0, reduction="elementwise_mean") == 3.5


# ------------------------------------------------------------------ signatures


def _params(sig):
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@needs_torch
@pytest.mark.parametrize(
    "name",
    ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
     "mse_loss"],
)  # fmt: skip
def test_signatures_are_torchs(name):
    ours, theirs = inspect.signature(getattr(F, name)), inspect.signature(getattr(TF, name))
    assert _params(ours) == _params(theirs)
    forward = inspect.signature(getattr(F, f"{name}_forward"))
    assert _params(forward) == _params(theirs)


def test_one_hot_signature_is_torchs():
    # torch's one_hot is a builtin without a signature object; its docstring reads
    # "one_hot(tensor, num_classes=-1) -> LongTensor"
    sig = inspect.signature(F.one_hot)
    assert [(p.name, p.default) for p in sig.parameters.values()] == [
        ("tensor", inspect.Parameter.empty),
        ("num_classes", -1),
    ]


# ------------------------------------------------------------------ bad input


def test_cross_entropy_bad_input():
    logits = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"class index 3, but input has C=3 classes"):
        F.cross_entropy(logits, np.array([0, 1, 3, 2]))
    with pytest.raises(ValueError, match=r"class index -1, but input has C=3"):
        F.cross_entropy(logits, np.array([0, -1, 1, 2]))
    with pytest.raises(ValueError, match=r"class index -100, .*ignore_index=1"):
        F.cross_entropy(logits, np.array([0, -100, 1, 2]), ignore_index=1)
    with pytest.raises(ValueError, match=r"must have shape \(4,\) for input of shape \(4, 3\).*"
                                         r"got \(5,\)"):  # fmt: skip
        F.cross_entropy(logits, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"must have shape \(4, 2\) .* got \(4, 3\)"):
        F.cross_entropy(np.zeros((4, 3, 2)), np.zeros((4, 3), dtype=int))
    with pytest.raises(TypeError, match="target must hold integer class indices or class prob"):
        F.cross_entropy(logits, np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), reduction="average")
    with pytest.raises(ValueError, match="got a 0-d array"):
        F.cross_entropy(np.zeros(()), np.zeros((), dtype=int))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(3,\)"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), weight=np.ones(4))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index=0 is not supported with class-prob"):
        F.cross_entropy(logits, np.full((4, 3), 1 / 3), ignore_index=0)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), ignore_index=1.0)
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class indices"):
        F.nll_loss(logits, np.full((4, 3), 1 / 3))


def test_mixed_dtypes_are_refused():
    x32, y = np.zeros((2, 3), np.float32), np.array([0, 2])
    with pytest.raises(TypeError, match="input is float32, weight is float64"):
        F.cross_entropy(x32, y, weight=np.ones(3))
    with pytest.raises(TypeError, match="input is float32, target is float64"):
        F.cross_entropy(x32, np.full((2, 3), 1 / 3))
    with pytest.raises(TypeError, match="input is float32, target is float64"):
        F.mse_loss(x32, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="input is float32, target is float64"):
        F.binary_cross_entropy(x32, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="pos_weight is float64"):
        F.binary_cross_entropy_with_logits(x32, x32, pos_weight=np.ones(3))


def test_binary_cross_entropy_bad_input():
    x = np.full((2, 3), 0.5)
    with pytest.raises(ValueError, match="all elements of input must be between 0 and 1"):
        F.binary_cross_entropy(x + 1, x)
    with pytest.raises(ValueError, match="all elements of target must be between 0 and 1"):
        F.binary_cross_entropy(x, x - 1)
    with pytest.raises(ValueError, match=r"target must have the input's shape \(2, 3\)"):
        F.binary_cross_entropy_with_logits(x, x[:, :1])
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(2))
    with pytest.raises(TypeError, match="target must be a floating-point array"):
        F.binary_cross_entropy_with_logits(x, np.ones((2, 3), dtype=int))


def test_mse_loss_bad_input():
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(3,\)"):
        F.mse_loss(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(np.zeros(3), np.zeros(3), reduction="mean ")
    with pytest.raises(ValueError, match=r"weight must have the input's shape \(3,\)"):
        F.mse_loss(np.zeros(3), np.zeros(3), weight=np.ones(1))


def test_dloss_is_checked():
    _, cache = F.mse_loss_forward(np.zeros(3), np.ones(3), reduction="none")
    with pytest.raises(ValueError, match=r"dloss must be an array of shape \(3,\), got float"):
        F.mse_loss_backward(1.0, cache)
    _, cache = F.mse_loss_forward(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="dloss must be a number or a 0-d array"):
        F.mse_loss_backward(np.ones(3), cache)
    _, cache = F.cross_entropy_forward(np.zeros((2, 3), np.float32), np.array([0, 1]))
    with pytest.raises(TypeError, match="dout has dtype float64 but the forward output has "
                                        "dtype float32"):  # fmt: skip
        F.cross_entropy_backward(np.array(1.0), cache)
    _, cache = F.binary_cross_entropy_forward(np.full(3, 0.5), np.ones(3), reduction="none")
    with pytest.raises(ValueError, match=r"shape \(3,\), got \(2,\)"):
        F.binary_cross_entropy_backward(np.ones(2), cache)


# ------------------------------------------------------------------ loss layers


def _layer_cases():
    rng = np.random.default_rng(5)
    w4 = rng.uniform(0.5, 2.0, 4)
    x, xs = rng.standard_normal((5, 4)), rng.standard_normal((2, 4, 3, 3))
    y, ys = np.array([0, 3, 1, 3, 2]), rng.integers(0, 4, (2, 3, 3))
    p = rng.uniform(0.05, 0.95, (5, 4))
    t = rng.uniform(0, 1, (5, 4))
    # (class name, constructor kwargs with NumPy arrays, input, target)
    return [
        ("CrossEntropyLoss", {}, x, y),
        ("CrossEntropyLoss", {"weight": w4, "label_smoothing": 0.2}, x, y),
        ("CrossEntropyLoss", {"ignore_index": 3, "reduction": "sum"}, x, y),
        ("CrossEntropyLoss", {"weight": w4}, xs, ys),
        ("CrossEntropyLoss", {}, x, rng.dirichlet(np.ones(4), 5)),
        ("NLLLoss", {"weight": w4, "ignore_index": 1}, x - 3, y),
        ("BCELoss", {"weight": w4}, p, t),
        ("BCEWithLogitsLoss", {"pos_weight": w4, "reduction": "sum"}, x, t),
        ("BCEWithLogitsLoss", {"weight": w4}, x, t),
        ("MSELoss", {"reduction": "sum"}, x, t),
    ]


@needs_torch
@pytest.mark.parametrize("case", range(len(_layer_cases())))
def test_loss_layers_match_torch(case, lb):
    name, kwargs, x, target = _layer_cases()[case]
    ours = getattr(nn, name)(**kwargs)
    theirs = getattr(torch.nn, name)(
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # weight/pos_weight: buffers
    copy_weights(ours, theirs, lb)
    loss = compare(ours, theirs, x, lb, target=target)
    assert loss.shape == ()


@needs_torch
@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
                                  "MSELoss"])  # fmt: skip
def test_loss_layer_signatures_are_torchs(name):
    ours, theirs = inspect.signature(getattr(nn, name)), inspect.signature(getattr(torch.nn, name))
    assert _params(ours) == _params(theirs)


def test_loss_layer_reduction_none_and_errors():
    fn = nn.MSELoss(reduction="none")
    out = fn(np.ones((2, 3)), np.zeros((2, 3)))
    np.testing.assert_allclose(fn.backward(np.full((2, 3), 0.5)), np.ones((2, 3)))
    assert out.shape == (2, 3)
    with pytest.raises(ValueError, match="MSELoss: reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward called before forward"):
        nn.CrossEntropyLoss().backward()
