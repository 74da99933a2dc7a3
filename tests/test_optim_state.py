"""Optimizer.state_dict / load_state_dict: a resumed optimizer takes the same steps."""

import pickle

import numpy as np
import pytest

from cnnlib import nn, optim
from cnnlib.random import manual_seed


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
    assert np.any(opt.state[0]["exp_avg"] != 0)
    # hyperparameters come back with the state, as in torch
    other = optim.Adam(model.parameters(), lr=0.5)
    other.load_state_dict(sd)
    assert other.lr == 0.01 and other.betas == (0.9, 0.999)


def test_load_state_dict_rejects_another_model():
    model, batches = _model_and_batches()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train(model, opt, batches[:1])
    small = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="sizes \\[4\\].*one group of 2 parameters"):
        small.load_state_dict(opt.state_dict())


def test_state_follows_torch_parameters():
    torch = pytest.importorskip("torch")
    model, batches = _model_and_batches()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train(model, opt, batches[:2])
    sd = opt.state_dict()
    model.to("torch")
    resumed = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    resumed.load_state_dict(sd)
    buf = resumed.state[0]["momentum_buffer"]
    assert isinstance(buf, torch.Tensor) and buf.dtype == torch.float64
