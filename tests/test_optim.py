"""cnnlib.optim against torch.optim: same parameters and gradients give the same steps."""

import numpy as np
import pytest
from helpers import torch

from cnnlib import optim
from cnnlib.nn import Parameter

pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), (2, 3, 3, 3)]


def _run(make_ours, make_torch, steps=6, seed=0, backend="numpy"):
    """Take `steps` steps with identical random gradients; compare parameters after each."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    conv = (lambda a: a) if backend == "numpy" else torch.from_numpy
    ours = [Parameter(conv(a.copy())) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt, topt = make_ours(ours), make_torch(theirs)
    for step in grads:
        opt.zero_grad()
        topt.zero_grad()
        for p, t, g in zip(ours, theirs, step):
            p.grad = conv(g.copy())
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(p.data), t.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "torch-cpu"])
@pytest.mark.parametrize(
    "kw",
    [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
     dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.01),
     dict(lr=0.02, momentum=0.5, weight_decay=1e-3, nesterov=True)],
)  # fmt: skip
def test_sgd_matches_torch(kw, backend):
    _run(lambda p: optim.SGD(p, **kw), lambda p: torch.optim.SGD(p, **kw), backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "torch-cpu"])
@pytest.mark.parametrize(
    "kw",
    [dict(), dict(lr=0.01), dict(lr=0.003, betas=(0.8, 0.99)), dict(lr=0.01, eps=1e-3),
     dict(lr=0.01, weight_decay=0.1)],
)  # fmt: skip
def test_adam_matches_torch(kw, backend):
    _run(lambda p: optim.Adam(p, **kw), lambda p: torch.optim.Adam(p, **kw), backend=backend)


def test_parameters_without_grad_are_skipped():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(3))
    opt = optim.SGD([a, b], lr=0.5)
    a.grad = np.full(3, 2.0)
    opt.step()
    np.testing.assert_array_equal(a.data, np.zeros(3))
    np.testing.assert_array_equal(b.data, np.ones(3))


def test_step_updates_in_place_and_zero_grad_clears():
    p = Parameter(np.ones(2, dtype=np.float32))
    data = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(2, dtype=np.float32)
    opt.step()
    assert p.data is data and p.data.dtype == np.float32 and (p.data < 1).all()
    opt.zero_grad()
    assert p.grad is None


def test_bad_arguments():
    p = [Parameter(np.ones(2))]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="nn.Parameter"):
        optim.SGD([np.ones(2)], lr=0.1)
