"""cnnlib.optim.lr_scheduler against torch.optim.lr_scheduler, step for step.

Each scheduler runs next to torch's on optimizers with two parameter groups (different
learning rates); after every step the learning rates (and, for OneCycleLR, the momenta)
must equal torch's, as must get_last_lr() and the scheduler's state_dict.
"""

import copy
import inspect
import warnings

import numpy as np
import pytest
from helpers import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib import optim
from cnnlib.nn import Parameter
from cnnlib.optim import lr_scheduler

pytest.importorskip("torch")
TL = pytest.importorskip("torch.optim.lr_scheduler")

NAMES = ["LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
         "LinearLR", "SequentialLR", "OneCycleLR", "LRScheduler"]  # fmt: skip


def _optimizers(kind="SGD", lrs=(0.1, 0.02), **kw):
    """cnnlib's and torch's `kind` over one parameter per group, group i with lr lrs[i]."""
    ours = getattr(optim, kind)(
        [{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs], **kw
    )
    theirs = getattr(torch.optim, kind)(
        [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], **kw
    )
    return ours, theirs


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _assert_same(opt, topt, sched, tsched, step):
    lrs, tlrs = [g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups]
    np.testing.assert_allclose(lrs, tlrs, rtol=1e-13, atol=1e-15, err_msg=f"step {step}")
    assert sched.get_last_lr() == lrs
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(_momenta(opt), _momenta(topt), rtol=1e-13, err_msg=f"step {step}")


def run_both(make, steps=30, kind="SGD", lrs=(0.1, 0.02), **opt_kw):
    """Build `make(lr_scheduler_module, optimizer)` for cnnlib and torch; step both."""
    opt, topt = _optimizers(kind, lrs, **opt_kw)
    sched, tsched = make(lr_scheduler, opt), make(TL, topt)
    _assert_same(opt, topt, sched, tsched, 0)
    history = [list(sched.get_last_lr())]
    for step in range(1, steps + 1):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        _assert_same(opt, topt, sched, tsched, step)
        history.append(list(sched.get_last_lr()))
    return sched, tsched, np.array(history)


CASES = {
    "lambda": lambda m, o: m.LambdaLR(o, lambda e: 0.95**e),
    "lambda-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9**e]),
    "step": lambda m, o: m.StepLR(o, step_size=4),
    "step-gamma": lambda m, o: m.StepLR(o, 3, gamma=0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=10),
    "cosine-eta-min": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=1e-3),
    "linear-default": lambda m, o: m.LinearLR(o),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=12),
    "sequential": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)],
        milestones=[5],
    ),
    "sequential-three": lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, 0.5), m.StepLR(o, 2), m.MultiStepLR(o, [3, 6])], milestones=[4, 9]
    ),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=30),
    "onecycle-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25,
    ),
    "onecycle-no-momentum": lambda m, o: m.OneCycleLR(o, 0.3, 30, cycle_momentum=False),
}  # fmt: skip


def assert_same_state(ours, theirs, where="state_dict"):
    """Scheduler state dicts: the same keys and values (floats to 1e-13)."""
    if isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys(), where
        for k in theirs:
            assert_same_state(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_state(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-13, abs=1e-15), where
    else:
        assert ours == theirs, where


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch_step_for_step(case):
    sched, tsched, history = run_both(CASES[case], kind="SGD", momentum=0.9)
    assert len(np.unique(history[:, 0])) > 2  # the schedule did move
    assert_same_state(sched.state_dict(), tsched.state_dict())


@pytest.mark.parametrize("kind, kw", [("Adam", {}), ("AdamW", {}), ("RMSprop", dict(momentum=0.5))])
def test_onecycle_cycles_the_momentum_of_each_optimizer(kind, kw):
    sched, _, _ = run_both(CASES["onecycle"], kind=kind, **kw)
    key = "betas" if kind.startswith("Adam") else "momentum"
    assert sched.optimizer.param_groups[0]["max_momentum"] == 0.95
    assert key in sched.optimizer.param_groups[0]


@settings(max_examples=25, deadline=None)
@given(
    step_size=st.integers(1, 6),
    gamma=st.floats(0.1, 1.0),
    t_max=st.integers(1, 12),
    eta_min=st.floats(0.0, 0.01),
    factors=st.tuples(st.floats(0.05, 1.0), st.floats(0.0, 1.0)),
    total=st.integers(1, 8),
    milestones=st.lists(st.integers(1, 25), max_size=4),
)
def test_matches_torch_over_hyperparameters(
    step_size, gamma, t_max, eta_min, factors, total, milestones
):
    run_both(lambda m, o: m.StepLR(o, step_size, gamma), steps=25)
    run_both(lambda m, o: m.MultiStepLR(o, milestones, gamma), steps=25)
    run_both(lambda m, o: m.ExponentialLR(o, gamma), steps=25)
    run_both(lambda m, o: m.CosineAnnealingLR(o, t_max, eta_min), steps=3 * t_max)
    run_both(lambda m, o: m.LinearLR(o, *factors, total_iters=total), steps=total + 3)


@settings(max_examples=25, deadline=None)
@given(
    max_lr=st.floats(1e-3, 2.0),
    total=st.integers(8, 60),
    pct=st.floats(0.05, 0.95),
    strategy=st.sampled_from(["cos", "linear"]),
    three=st.booleans(),
    divs=st.tuples(st.floats(2.0, 100.0), st.floats(10.0, 1e5)),
    momenta=st.tuples(st.floats(0.5, 0.85), st.floats(0.85, 0.99)),
)
def test_onecycle_matches_torch_over_hyperparameters(
    max_lr, total, pct, strategy, three, divs, momenta
):
    def make(m, o):
        return m.OneCycleLR(
            o, max_lr, total, pct_start=pct, anneal_strategy=strategy, three_phase=three,
            div_factor=divs[0], final_div_factor=divs[1], base_momentum=momenta[0],
            max_momentum=momenta[1],
        )  # fmt: skip

    try:  # a phase of length 0 divides by zero in torch: cnnlib must fail the same way
        topt = _optimizers("Adam")[1]
        tsched = make(TL, topt)
        for _ in range(total):
            topt.step()
            tsched.step()
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            run_both(make, steps=total, kind="Adam")
        return
    run_both(make, steps=total, kind="Adam")


def test_two_chained_schedulers_compose_like_torch():
    def make(m, o):
        return [m.StepLR(o, 3, gamma=0.5), m.ExponentialLR(o, gamma=0.9)]

    opt, topt = _optimizers()
    ours, theirs = make(lr_scheduler, opt), make(TL, topt)
    for _ in range(12):
        opt.step()
        topt.step()
        for s in ours + theirs:
            s.step()
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-13
        )


def test_scheduled_lr_drives_training_like_torch():
    """A parameter trained by SGD under CosineAnnealingLR lands where torch's lands."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    p, t = Parameter(a.copy()), torch.tensor(a, requires_grad=True)
    opt = optim.SGD([p], lr=0.2, momentum=0.9)
    topt = torch.optim.SGD([t], lr=0.2, momentum=0.9)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=8)
    tsched = TL.CosineAnnealingLR(topt, T_max=8)
    for _ in range(10):
        g = rng.standard_normal((3, 3))
        p.grad, t.grad = g.copy(), torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("case", ["step", "multistep", "cosine", "linear-decay", "sequential",
                                  "onecycle", "lambda"])  # fmt: skip
def test_state_dict_round_trips_and_loads_torchs(case):
    """Resume from a saved state (cnnlib's, or torch's) and go on as an unbroken torch run."""
    make = CASES[case]
    _, tref = _optimizers(momentum=0.9)
    tref_sched = make(TL, tref)
    expected = [tref_sched.get_last_lr()]
    for _ in range(20):
        tref.step()
        tref_sched.step()
        expected.append(list(tref_sched.get_last_lr()))

    opt, topt = _optimizers(momentum=0.9)
    sched, tsched = make(lr_scheduler, opt), make(TL, topt)
    for _ in range(7):
        for o in (opt, topt, sched, tsched):
            o.step()
    saved = [(opt.state_dict(), sched.state_dict()), (topt.state_dict(), tsched.state_dict())]
    for opt_state, sched_state in copy.deepcopy(saved):
        opt2, _ = _optimizers(momentum=0.9)
        resumed = make(lr_scheduler, opt2)  # as torch advises: the scheduler first...
        opt2.load_state_dict(opt_state)  # ...then the optimizer's state (its lrs)
        resumed.load_state_dict(sched_state)
        assert resumed.get_last_lr() == pytest.approx(expected[7], rel=1e-13)
        for step in range(8, 21):
            opt2.step()
            resumed.step()
            assert resumed.get_last_lr() == pytest.approx(expected[step], rel=1e-13)
            assert [g["lr"] for g in opt2.param_groups] == resumed.get_last_lr()


def test_step_with_an_epoch_uses_the_closed_form_like_torch():
    opt, topt = _optimizers()
    sched, tsched = lr_scheduler.StepLR(opt, 3, 0.5), TL.StepLR(topt, 3, 0.5)
    opt.step()
    topt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsched.step(7)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13)
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.25, 0.02 * 0.25])


def test_warns_when_stepped_before_the_optimizer():
    opt, _ = _optimizers()
    sched = lr_scheduler.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    ours, theirs = getattr(lr_scheduler, name), getattr(TL, name)
    got = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
    want = [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert got == want


def test_bad_arguments():
    opt, _ = _optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), 3)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        lr_scheduler.StepLR(opt, 0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(opt, 0)
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="milestones"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="another optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(_optimizers()[0], 2)], [])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_optimizers()[0], 3, last_epoch=4)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, 0.1)
    sched = lr_scheduler.OneCycleLR(opt, 0.1, total_steps=np.int64(3))  # NumPy ints are ints
    with pytest.raises(ValueError, match="tried to step 4 times"):
        for _ in range(4):
            opt.step()
            sched.step()
    with pytest.raises(ValueError, match="momentum or betas"):
        plain = optim.Optimizer([Parameter(np.zeros(1))], dict(lr=0.1))
        lr_scheduler.OneCycleLR(plain, 0.1, 10)


class _Decay:
    """A callable object: LambdaLR saves its attributes (a plain function it cannot)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate**epoch


def test_lambda_state_saves_callable_objects_like_torch():
    opt, topt = _optimizers()
    sched = lr_scheduler.LambdaLR(opt, [_Decay(0.5), lambda e: 1.0])
    tsched = TL.LambdaLR(topt, [_Decay(0.5), lambda e: 1.0])
    assert_same_state(sched.state_dict(), tsched.state_dict())
    assert sched.state_dict()["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(_optimizers()[0], [_Decay(0.9), lambda e: 1.0])
    other.load_state_dict(sched.state_dict())
    assert other.lr_lambdas[0].rate == 0.5
