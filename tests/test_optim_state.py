"""Optimizer.state_dict / load_state_dict: torch's layout, and a resumed optimizer takes the
same steps, whether the saved state came from cnnlib or from torch."""

import pickle

import numpy as np
import pytest
from helpers import torch

from cnnlib import nn, optim
from cnnlib.nn import Parameter
from cnnlib.random import manual_seed

pytest.importorskip("torch")


def _model_and_batches(seed=0):
    rng = np.random.default_rng(0)
    manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    batches = [(rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)) for _ in range(5)]
    return model, batches


def _train(model, opt, batches):
    loss_fn = nn.CrossEntropyLoss()
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()


MAKERS = {
    "sgd-momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "sgd-nesterov": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99)),
    "adamw-amsgrad": lambda ps: optim.AdamW(ps, lr=0.01, amsgrad=True),
    "rmsprop-centered": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_resumed_optimizer_matches_an_uninterrupted_one(kind):
    model, batches = _model_and_batches()
    straight = MAKERS[kind](model.parameters())
    _train(model, straight, batches)

    model2, _ = _model_and_batches()
    first = MAKERS[kind](model2.parameters())
    _train(model2, first, batches[:2])
    saved = pickle.loads(pickle.dumps((model2.state_dict(), first.state_dict())))

    model3, _ = _model_and_batches(seed=1)
    model3.load_state_dict(saved[0])
    resumed = MAKERS[kind](model3.parameters())
    resumed.load_state_dict(saved[1])
    _train(model3, resumed, batches[2:])
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(model3.state_dict()[name], value, err_msg=name)
    # without the optimizer's state the momentum restarts and the result differs
    model4, _ = _model_and_batches(seed=1)
    model4.load_state_dict(saved[0])
    _train(model4, MAKERS[kind](model4.parameters()), batches[2:])
    assert not np.array_equal(model4[0].weight.data, model[0].weight.data)


def test_state_dict_layout_and_hyperparameters():
    model, batches = _model_and_batches()
    opt = optim.Adam(model.parameters(), lr=0.01)
    assert opt.state_dict()["state"] == {}
    _train(model, opt, batches[:3])
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sd["state"][0]["step"] == 3 and sd["state"][0]["exp_avg"].shape == (5, 4)
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    # the copy is detached from the live state
    sd["state"][0]["exp_avg"][...] = 0
    assert np.any(opt.state[model[0].weight]["exp_avg"] != 0)
    # hyperparameters come back with the state, as in torch
    other = optim.Adam(model.parameters(), lr=0.5)
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 0.01 and other.param_groups[0]["betas"] == (0.9, 0.999)


# ----- against torch ---------------------------------------------------------------------
SHAPES = [(3, 4), (4,), (2, 2, 3, 3)]
TORCH_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
    ("SGD", dict(lr=0.1)),  # no state at all
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.95))),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
]


def _pair(name, kw, dtype="float64", seed=0):
    """cnnlib and torch optimizers, two parameter groups, over identical parameters."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05}]

    opt = getattr(optim, name)(groups(ours), **kw)
    topt = getattr(torch.optim, name)(groups(theirs), **kw)
    return ours, theirs, opt, topt, rng


def _steps(runs, rng, n, dtype="float64", only=None):
    """`n` steps of each (parameters, optimizer) run in `runs`, all with the same gradients
    (parameters outside `only` get none)."""
    for _ in range(n):
        grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
        for params, opt in runs:
            opt.zero_grad()
            for i, (p, g) in enumerate(zip(params, grads)):
                if only is None or i in only:
                    p.grad = torch.from_numpy(g.copy()) if isinstance(p, torch.Tensor) else g.copy()
            opt.step()


def _to_numpy(sd):
    """torch's state dict with every tensor as a NumPy array (as saved without torch)."""
    state = {
        i: {k: (v.numpy().copy() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
        for i, s in sd["state"].items()
    }
    return {"state": state, "param_groups": sd["param_groups"]}


@pytest.mark.parametrize("name, kw", TORCH_CASES)
def test_state_dict_keys_and_values_match_torch(name, kw):
    ours, theirs, opt, topt, rng = _pair(name, kw)
    _steps([(ours, opt), (theirs, topt)], rng, 3, only={0, 2})  # parameter 1 never stepped
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sd["state"].keys() == tsd["state"].keys()
    for i in tsd["state"]:
        assert sd["state"][i].keys() == tsd["state"][i].keys()
        for k, v in tsd["state"][i].items():
            np.testing.assert_allclose(sd["state"][i][k], v.numpy(), rtol=1e-7, err_msg=k)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kw", TORCH_CASES)
def test_load_torch_state_then_continue_like_torch(name, kw, dtype):
    """Train torch for a while; load its state (as NumPy) into cnnlib; both go on equal."""
    ours, theirs, _, topt, rng = _pair(name, kw, dtype=dtype)
    _steps([(theirs, topt)], rng, 3, dtype=dtype)
    for p, t in zip(ours, theirs):
        p.data[...] = t.detach().numpy()
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:]}], lr=123.0)
    opt.load_state_dict(_to_numpy(topt.state_dict()))
    assert opt.param_groups[1]["lr"] == 0.05  # the hyperparameters came along
    _steps([(ours, opt), (theirs, topt)], rng, 4, dtype=dtype)
    tol = dict(rtol=1e-7) if dtype == "float64" else dict(rtol=2e-5, atol=1e-6)
    for p, t in zip(ours, theirs):
        assert p.data.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.data, t.detach().numpy(), **tol)


@pytest.mark.parametrize("name, kw", TORCH_CASES)
def test_torch_loads_cnnlib_state_then_continues_alike(name, kw):
    """The other way round: a cnnlib state dict, its arrays made tensors, loads into torch."""
    ours, theirs, opt, _, rng = _pair(name, kw)
    _steps([(ours, opt)], rng, 3)
    for p, t in zip(ours, theirs):
        t.data[...] = torch.from_numpy(p.data)
    sd = opt.state_dict()
    state = {
        i: {k: torch.tensor(v) if isinstance(v, (np.ndarray, int)) else v for k, v in s.items()}
        for i, s in sd["state"].items()
    }
    topt = getattr(torch.optim, name)([{"params": theirs[:2]}, {"params": theirs[2:]}])
    topt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    _steps([(ours, opt), (theirs, topt)], rng, 4)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-7)


def test_a_state_saved_without_newer_keys_still_loads():
    """Older cnnlib (and torch) state dicts lack keys such as maximize: the defaults fill in."""
    model, batches = _model_and_batches()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train(model, opt, batches[:2])
    sd = opt.state_dict()
    old = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)
    sd["param_groups"] = [dict(old, params=sd["param_groups"][0]["params"])]
    resumed = optim.SGD(model.parameters(), lr=0.5)
    resumed.load_state_dict(sd)
    assert resumed.param_groups[0]["maximize"] is False and resumed.param_groups[0]["lr"] == 0.1
    _train(model, resumed, batches[2:])


def test_adamw_stays_decoupled_after_loading_adam_state():
    _, _, adam, _, _ = _pair("Adam", dict(lr=0.01))
    ours, _, adamw, _, _ = _pair("AdamW", dict(lr=0.01))
    adamw.load_state_dict(adam.state_dict())
    assert all(g["decoupled_weight_decay"] for g in adamw.param_groups)


def test_load_state_dict_rejects_another_model():
    model, batches = _model_and_batches()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train(model, opt, batches[:1])
    small = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"hold \[4\] parameters.*groups hold \[2\]"):
        small.load_state_dict(opt.state_dict())
    # same count, wrong shapes: name the entry
    other = optim.SGD(nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3)).double().parameters())
    with pytest.raises(ValueError, match=r"state\[0\]\['momentum_buffer'\] has shape \(5, 4\)"):
        other.load_state_dict(opt.state_dict())


def test_state_follows_torch_parameters():
    model, batches = _model_and_batches()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train(model, opt, batches[:2])
    sd = opt.state_dict()
    model.to("torch")
    resumed = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    resumed.load_state_dict(sd)
    buf = resumed.state[model[0].weight]["momentum_buffer"]
    assert isinstance(buf, torch.Tensor) and buf.dtype == torch.float64
    assert isinstance(sd["state"][0]["momentum_buffer"], np.ndarray)
