"""cnnlib.optim against torch.optim: the same parameters and gradients give the same steps.

Each optimizer is stepped next to torch's on identical parameters and gradients, in
float64 (rtol 1e-7) and float32, on NumPy arrays and torch tensors, over hand-picked and
hypothesis-drawn hyperparameters, with one or two parameter groups.
"""

import inspect

import numpy as np
import pytest
from helpers import assert_same_library, to_backend, torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib import optim
from cnnlib.backend import to_numpy
from cnnlib.nn import Parameter

pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), (2, 3, 3, 3)]
NAMES = ["SGD", "Adam", "AdamW", "RMSprop"]
TOL = {"float64": dict(rtol=1e-7, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


def compare_with_torch(name, kw, steps=6, seed=0, backend="numpy", dtype="float64", groups=None):
    """Step cnnlib's optimizer `name` and torch's side by side; compare after each step.

    groups: None (one group built with `kw`), or a list of per-group dicts of extra
    hyperparameters, the parameters being dealt round-robin into the groups.
    Every step draws fresh random gradients; a gradient of None (a frozen parameter)
    is drawn now and then too, and must be skipped by both.
    """
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [Parameter(to_backend(a.copy(), backend)) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]

    def grouped(params):
        if groups is None:
            return params
        return [dict(g, params=params[i :: len(groups)]) for i, g in enumerate(groups)]

    opt = getattr(optim, name)(grouped(ours), **kw)
    topt = getattr(torch.optim, name)(grouped(theirs), **kw)
    for _ in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        for p, t, s in zip(ours, theirs, SHAPES):
            if rng.random() < 0.15:
                continue  # no gradient this step
            g = rng.standard_normal(s).astype(dtype)
            p.grad = to_backend(g.copy(), backend)
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs):
            assert_same_library(p.data, backend)
            assert str(p.data.dtype).endswith(dtype)
            np.testing.assert_allclose(to_numpy(p.data), t.detach().numpy(), **TOL[dtype])
    return opt, topt


CASES = {
    "SGD": [dict(lr=0.1), dict(), dict(lr=0.05, momentum=0.9),
            dict(lr=0.05, momentum=0.9, dampening=0.3), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.1, weight_decay=0.01), dict(lr=0.1, maximize=True, momentum=0.5),
            dict(lr=0.02, momentum=0.5, weight_decay=1e-3, nesterov=True)],
    "Adam": [dict(), dict(lr=0.01), dict(lr=0.003, betas=(0.8, 0.99)), dict(lr=0.01, eps=1e-3),
             dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True),
             dict(lr=0.01, betas=(0.3, 0.9), maximize=True),
             dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)],
    "AdamW": [dict(), dict(lr=0.01, weight_decay=0.5), dict(lr=0.01, amsgrad=True),
              dict(lr=0.01, weight_decay=0), dict(lr=0.02, betas=(0.5, 0.9), maximize=True)],
    "RMSprop": [dict(), dict(lr=0.001, alpha=0.9), dict(lr=0.01, centered=True),
                dict(lr=0.01, momentum=0.9), dict(lr=0.01, momentum=0.5, centered=True),
                dict(lr=0.01, weight_decay=0.1, eps=1e-4), dict(lr=0.01, alpha=0.3, maximize=True)],
}  # fmt: skip
FLAT = [(name, kw) for name in NAMES for kw in CASES[name]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kw", FLAT, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLAT)])
def test_matches_torch(name, kw, backend, dtype):  # backend: conftest's fixture
    compare_with_torch(name, kw, backend=backend, dtype=dtype)


def _hyper(name):
    lr = st.floats(1e-4, 0.5)
    rate = st.floats(0.0, 0.99)
    if name == "SGD":
        return st.fixed_dictionaries(
            dict(lr=lr, momentum=rate, dampening=rate, weight_decay=st.floats(0, 0.1),
                 maximize=st.booleans())
        )  # fmt: skip
    if name == "RMSprop":
        return st.fixed_dictionaries(
            dict(lr=st.floats(1e-4, 0.05), alpha=st.floats(0.1, 0.999), momentum=rate,
                 eps=st.floats(1e-8, 1e-2), weight_decay=st.floats(0, 0.1),
                 centered=st.booleans())
        )  # fmt: skip
    return st.fixed_dictionaries(
        dict(lr=st.floats(1e-4, 0.05), betas=st.tuples(rate, st.floats(0.5, 0.9999)),
             eps=st.floats(1e-8, 1e-2), weight_decay=st.floats(0, 0.2), amsgrad=st.booleans())
    )  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_matches_torch_over_hyperparameters(name, data):
    kw = data.draw(_hyper(name))
    seed = data.draw(st.integers(0, 2**16))
    compare_with_torch(name, kw, steps=5, seed=seed)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_hyperparameters(name, dtype):
    kw = dict(lr=0.01, weight_decay=0.05)
    groups = [dict(lr=0.1), dict(weight_decay=0.0)]
    if name in ("SGD", "RMSprop"):
        groups[0]["momentum"] = 0.9
    opt, topt = compare_with_torch(name, kw, dtype=dtype, groups=groups)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]
    assert [len(g["params"]) for g in opt.param_groups] == [2, 1]
    # the groups keep every hyperparameter, with torch's keys and values
    for ours, theirs in zip(opt.param_groups, topt.param_groups):
        assert ours.keys() == theirs.keys()
        assert {k: v for k, v in ours.items() if k != "params"} == {
            k: v for k, v in theirs.items() if k != "params"
        }


@pytest.mark.parametrize("name", NAMES)
def test_changing_a_group_lr_during_training(name):
    """Hyperparameters are read at each step: a change is used by the next one."""

    def run(change: bool):
        rng = np.random.default_rng(3)
        a = rng.standard_normal((3, 2))
        ours, theirs = Parameter(a.copy()), torch.tensor(a, requires_grad=True)
        opt = getattr(optim, name)([ours], lr=0.01)
        topt = getattr(torch.optim, name)([theirs], lr=0.01)
        for step in range(6):
            if step == 3 and change:
                for group in (*opt.param_groups, *topt.param_groups):
                    group["lr"] = 0.2
                    group["weight_decay"] = 0.01
            g = rng.standard_normal((3, 2))
            ours.grad, theirs.grad = g.copy(), torch.from_numpy(g.copy())
            opt.step()
            topt.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-7)
        return ours.data

    assert not np.allclose(run(change=True), run(change=False), rtol=1e-3)


def test_add_param_group_then_train_like_torch():
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 3)) for _ in range(2)]
    ours = [Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = optim.SGD([ours[0]], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([theirs[0]], lr=0.1, momentum=0.9)
    for step in range(5):
        if step == 2:  # unfreeze the second parameter with a smaller lr
            opt.add_param_group({"params": ours[1], "lr": 0.01})
            topt.add_param_group({"params": theirs[1], "lr": 0.01})
        for p, t in zip(ours, theirs):
            g = rng.standard_normal((3, 3))
            p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-7)
    assert opt.param_groups[1]["momentum"] == 0.9  # filled in from the defaults
    with pytest.raises(ValueError, match="more than one group"):
        opt.add_param_group({"params": [ours[0]]})


def test_frozen_parameters_are_skipped():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(3), requires_grad=False)
    opt = optim.Adam([a, b], lr=0.5, weight_decay=0.1)
    a.accumulate(np.full(3, 2.0))
    b.accumulate(np.full(3, 2.0))  # a frozen parameter ignores gradients...
    assert b.grad is None
    opt.step()  # ...and the optimizer skips it: no decay, no state
    assert (a.data < 1).all()
    np.testing.assert_array_equal(b.data, np.ones(3))
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_step_updates_in_place_and_zero_grad():
    p = Parameter(np.ones(2, dtype=np.float32))
    data = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(2, dtype=np.float32)
    opt.step()
    assert p.data is data and p.data.dtype == np.float32 and (p.data < 1).all()
    opt.zero_grad()
    assert p.grad is None
    p.grad = np.array([np.nan, 3.0], dtype=np.float32)
    opt.zero_grad(set_to_none=False)
    assert p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.grad, np.zeros(2))


def test_zero_grad_keep_tensors_matches_torch():
    """Zeros instead of None: torch then steps with a zero gradient (weight decay acts)."""
    ours, theirs = Parameter(np.ones(3)), torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = optim.SGD([ours], lr=0.5, weight_decay=0.1)
    topt = torch.optim.SGD([theirs], lr=0.5, weight_decay=0.1)
    ours.grad, theirs.grad = np.ones(3), torch.ones(3, dtype=torch.float64)
    for o in (opt, topt):
        o.zero_grad(set_to_none=False)
        o.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    assert (ours.data < 1).all()


def test_step_with_closure_returns_its_loss():
    p = Parameter(np.array([3.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        p.grad = 2 * p.data  # d/dp of p^2
        return float(p.data[0] ** 2)

    assert opt.step(closure) == 9.0
    np.testing.assert_allclose(p.data, [1.5])


def test_named_parameters_keep_their_names():
    from cnnlib import nn

    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    opt = optim.AdamW(model.named_parameters(), lr=0.01)
    names = [n for n, _ in model.named_parameters()]
    assert opt.param_groups[0]["param_names"] == names
    assert opt.state_dict()["param_groups"][0]["param_names"] == names


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_defaults_match_torch(name):
    ours, theirs = getattr(optim, name), getattr(torch.optim, name)
    got = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
    want = [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert got == want
    p = Parameter(np.zeros(2))
    defaults = ours([p]).defaults
    assert defaults == theirs([torch.zeros(2, requires_grad=True)]).defaults
    assert list(defaults) == list(theirs([torch.zeros(2, requires_grad=True)]).defaults)


def test_repr_lists_each_group_like_torch():
    p, t = Parameter(np.zeros(2)), torch.zeros(2, requires_grad=True)
    ours = optim.SGD([{"params": [p], "lr": 0.5}], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [t], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert repr(ours) == repr(theirs)


def test_bad_arguments():
    p = [Parameter(np.ones(2))]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.SGD(p, lr="0.1")
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSprop(p, alpha=-0.5)
    with pytest.raises(ValueError, match="lr"):  # a group's own value is checked too
        optim.AdamW([{"params": p, "lr": -0.1}])
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="nn.Parameter"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="single Parameter"):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(TypeError, match="single dict"):
        optim.SGD({"params": p}, lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD(set(p), lr=0.1)
    for flag in ("fused", "differentiable"):
        with pytest.raises(ValueError, match=f"{flag}=True is not supported"):
            optim.SGD(p, **{flag: True})
    with pytest.raises(ValueError, match="capturable=True is not supported"):
        optim.Adam(p, capturable=True)
    optim.SGD(p, foreach=True)  # a speed switch only: same numbers, accepted


def test_step_rejects_a_gradient_that_does_not_fit():
    p = Parameter(np.ones((2, 3)))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)  # would broadcast silently
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\.grad has shape \(3,\)"):
        opt.step()
    p.grad = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="dtype float64.*dtype float32"):
        opt.step()


@pytest.mark.parametrize("name", NAMES)
def test_numpy_scalar_hyperparameters_keep_float32(name):
    """An lr from np.linspace is a NumPy float64: the state must stay float32 anyway."""
    p = Parameter(np.ones(3, dtype=np.float32))
    kw = dict(lr=np.float64(0.1), weight_decay=np.float64(0.01))
    if name in ("SGD", "RMSprop"):
        kw["momentum"] = np.float64(0.9)
    opt = getattr(optim, name)([p], **kw)
    for _ in range(2):
        p.grad = np.ones(3, dtype=np.float32)
        opt.step()
    assert p.data.dtype == np.float32
    arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.dtype == np.float32 for a in arrays)
