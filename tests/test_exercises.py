"""cnnlib.exercises: every checker passes right implementations (cnnlib's own and a learner's
loops), fails a stub of zeros at its first case, reports a raising function, None and a wrong
type instead of raising, prints a report with a pass line, runs in well under two seconds,
and needs NumPy only. The typical mistakes and their hints: tests/test_exercises_mistakes.py.
"""

import math
import subprocess
import sys
import time
import warnings

import exercises_learners as L
import numpy as np
import pytest

import cnnlib.exercises as E
from cnnlib import functional as F
from cnnlib.exercises import _compare, _report
from cnnlib.ops import nms


def _conv_backward(dout, x, w, stride, padding):
    _, cache = F.conv2d_forward(x, w, np.zeros(w.shape[0]), stride=stride, padding=padding)
    return F.conv2d_backward(dout, cache)


def _max_backward(dout, x, k, s, p):
    return F.max_pool2d_backward(dout, F.max_pool2d_forward(x, k, s, p)[1])


def _avg_backward(dout, x, k, s, p):
    return F.avg_pool2d_backward(dout, F.avg_pool2d_forward(x, k, s, p)[1])


def _softmax_loss(z, y):
    loss, cache = F.cross_entropy_forward(z, y)
    return loss, F.cross_entropy_backward(1.0, cache)


def _bn_backward(dout, x, gamma, eps):
    _, cache = F.batch_norm_forward(x, None, None, gamma, np.zeros_like(gamma), True, 0.1, eps)
    return F.batch_norm_backward(dout, cache)


# checker -> (a right function built on cnnlib, a learner's right loops)
CHECKERS = {
    "check_conv2d": (F.conv2d, L.make_conv2d()),
    "check_im2col": (F.unfold, L.make_im2col()),
    "check_max_pool2d": (F.max_pool2d, L.make_max_pool2d()),
    "check_relu_backward": (
        lambda d, x: F.relu_backward(d, F.relu_forward(x)[1]),
        L.make_relu_backward(),
    ),
    "check_softmax_cross_entropy": (_softmax_loss, L.make_softmax_loss()),
    "check_conv2d_backward": (_conv_backward, L.make_conv2d_backward()),
    "check_max_pool2d_backward": (_max_backward, L.make_max_pool2d_backward()),
    "check_avg_pool2d_backward": (_avg_backward, L.make_avg_pool2d_backward()),
    "check_sgd_momentum_step": (L.make_sgd(), L.make_sgd()),
    "check_output_size": (lambda m, k, s, p: (m - k + 2 * p) // s + 1, L.make_output_size()),
    "check_receptive_field": (L.make_receptive_field(), L.make_receptive_field(returns="final_r")),
    "check_init_std": (L.make_init_std(), L.make_init_std()),
    "check_batch_norm": (F.batch_norm, L.make_batch_norm()),
    "check_batch_norm_backward": (_bn_backward, L.make_batch_norm_backward()),
    "check_grad_cam": (L.make_grad_cam(), L.make_grad_cam()),
    "check_nms": (nms, L.make_nms()),
}
NAMES = sorted(CHECKERS)


def checker(name):
    return getattr(E, name)


def test_every_checker_is_exported_and_tested():
    exported = {n for n in E.__all__ if n.startswith("check_")}
    assert exported == set(CHECKERS)
    assert set(E.__all__) == exported | {"CheckResult"}


@pytest.mark.parametrize("name", NAMES)
def test_cnnlib_reference_passes_with_a_pass_line(name, capsys):
    result = checker(name)(CHECKERS[name][0])
    out = capsys.readouterr().out
    assert result and result.passed and result.problem is None and result.case is None
    assert result.n_passed == len(result.cases) >= 3
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"✓ All {len(result.cases)} cases passed")
    assert out.count("✓") == len(result.cases) + 1  # one mark per case and the pass line


@pytest.mark.parametrize("name", NAMES)
def test_learner_loops_pass(name):
    result = checker(name)(CHECKERS[name][1], quiet=True)
    assert result, result.report()


def _zeros_like(value):
    if isinstance(value, np.ndarray):
        return np.zeros_like(value)
    if isinstance(value, tuple):
        return tuple(_zeros_like(v) for v in value)
    if isinstance(value, list):
        return [_zeros_like(v) for v in value]
    return type(value)(0)


@pytest.mark.parametrize("name", NAMES)
def test_a_stub_returning_zeros_of_the_right_shape_fails_the_first_case(name):
    right = CHECKERS[name][0]

    def stub(*args, **kwargs):
        return _zeros_like(right(*args, **kwargs))

    result = checker(name)(stub, quiet=True)
    assert not result and result.n_passed == 0, result.report()
    assert result.problem.what


@pytest.mark.parametrize("name", NAMES)
def test_a_raising_function_is_reported_not_raised(name):
    def broken(*args, **kwargs):
        raise ValueError("boom: shapes do not fit")

    result = checker(name)(broken, quiet=True)
    assert not result and result.n_passed == 0
    assert result.problem.what == "your function raised ValueError: boom: shapes do not fit"
    assert "raised in broken, line" in result.problem.details  # where, in the learner's code
    assert isinstance(result.received, ValueError)


@pytest.mark.parametrize("name", NAMES)
def test_the_unfilled_skeleton_gets_a_friendly_failure(name, capsys):
    def skeleton(*args, **kwargs):
        raise NotImplementedError

    result = checker(name)(skeleton)
    out = capsys.readouterr().out
    assert not result
    assert "still the skeleton" in result.problem.what
    assert "replace `raise NotImplementedError`" in result.hint
    assert "Traceback" not in out and "✗ 0 of" in out
    too_long = [line for line in out.splitlines() if len(line) > _report.WIDTH]
    assert not too_long, too_long  # the report fits the book's 80-column page


def test_not_implemented_with_a_message_is_reported_as_such():
    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if dilation != 1:
            raise NotImplementedError("dilation is not supported yet")
        return F.conv2d(input, weight, bias, stride=stride, padding=padding, groups=groups)

    result = E.check_conv2d(conv2d, quiet=True)
    assert not result and result.case.startswith("dilation 2")
    assert result.problem.what == (
        "your function raised NotImplementedError: dilation is not supported yet"
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [None, "text", {"a": 1}])
def test_a_wrong_return_type_is_reported(name, value):
    result = checker(name)(lambda *a, **k: value, quiet=True)
    assert not result and result.n_passed == 0
    assert result.problem.what.startswith(("your function returned", "the loss your function"))
    if value is None:
        assert "return" in result.hint


@pytest.mark.parametrize("name", NAMES)
def test_not_a_function(name):
    result = checker(name)(None, quiet=True)
    assert not result
    assert f"{name} needs a function, got None" in result.problem.what
    assert "without calling it" in result.hint


@pytest.mark.parametrize("name", NAMES)
def test_each_checker_runs_in_well_under_two_seconds(name):
    fn = CHECKERS[name][0]
    checker(name)(fn, quiet=True)  # imports and first calls
    start = time.process_time()  # CPU time: the machine may be loaded by other work
    checker(name)(fn, quiet=True)
    assert time.process_time() - start < 1.0


def test_the_learner_loops_finish_quickly_too():
    # the cases are small, so a learner's six nested Python loops stay interactive
    start = time.process_time()
    for name in NAMES:
        checker(name)(CHECKERS[name][1], quiet=True)
    assert time.process_time() - start < 10


def test_checkers_need_numpy_only():
    # every checker computes its first case's expected value before calling the function
    code = (
        "import sys\n"
        "import cnnlib.exercises as E\n"
        "for name in E.__all__[1:]:\n"
        "    assert not getattr(E, name)(lambda *a, **k: None, quiet=True)\n"
        "bad = [m for m in ('torch', 'matplotlib', 'scipy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_inputs_are_copies_so_a_mutating_function_cannot_corrupt_the_check():
    def conv2d_that_clobbers(input, weight, bias=None, **hyper):
        out = F.conv2d(input, weight, bias, **hyper)
        input[...] = 0
        weight[...] = 0
        return out

    assert E.check_conv2d(conv2d_that_clobbers, quiet=True)

    def flipped_and_clobbers(input, weight, bias=None, **hyper):
        out = F.true_conv2d(input, weight, bias, **hyper)
        input[...] = 0
        weight[...] = 0
        return out

    # the hint is computed from the checker's own arrays, not the ones the function zeroed
    result = E.check_conv2d(flipped_and_clobbers, quiet=True)
    assert not result and "you flipped the kernel" in result.hint


def test_numpy_warnings_are_captured_not_shown():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = E.check_softmax_cross_entropy(L.make_softmax_loss(shift=False), quiet=True)
    assert not result and not caught


def test_result_object_attributes_repr_and_report(capsys):
    bad = E.check_conv2d(L.make_conv2d(flip=True))
    printed = capsys.readouterr().out
    assert not bad and bad.case == bad.cases[0] and bad.n_passed == 0
    assert bad.expected.shape == bad.received.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(bad.expected[0, 0], [[-1, 4], [6, 16]])
    np.testing.assert_array_equal(bad.received[0, 0], [[16, -6], [7, 11]])
    assert str(bad) == bad.report() == printed.rstrip("\n")
    assert repr(bad).startswith("CheckResult(check_conv2d: failed case 1 of ")
    good = E.check_conv2d(F.conv2d, quiet=True)
    assert repr(good) == f"CheckResult(check_conv2d: passed all {len(good.cases)} cases)"
    assert capsys.readouterr().out == ""  # quiet


def test_notebook_display_does_not_repeat_the_printed_report(monkeypatch, capsys):
    monkeypatch.setattr(_report, "_cell_number", lambda: 7)
    result = E.check_relu_backward(L.make_relu_backward())
    capsys.readouterr()
    result._ipython_display_()  # the cell's value, in the cell that printed the report
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(_report, "_cell_number", lambda: 8)
    result._ipython_display_()  # shown again in a later cell
    assert capsys.readouterr().out.strip() == result.report()
    quiet = E.check_relu_backward(L.make_relu_backward(), quiet=True)
    monkeypatch.setattr(_report, "_cell_number", lambda: 8)
    quiet._ipython_display_()
    assert capsys.readouterr().out.strip() == quiet.report()


def test_a_small_diff_shows_both_arrays_and_a_large_one_the_worst_entries():
    small = _compare.diff(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 5.0]]))
    assert small.splitlines()[0] == "1 of 4 values differ; largest absolute error 1"
    assert small.splitlines()[1] == "they differ at [1, 1]"
    assert "expected:" in small and "[[1 2]\n   [3 5]]" in small
    got, want = np.zeros((3, 4, 5)), np.zeros((3, 4, 5))
    got[2, 1, 3], got[0, 0, 0] = 7.5, -0.25
    big = _compare.diff(got, want).splitlines()
    assert big[0] == "2 of 60 values differ; largest absolute error 7.5"
    assert big[2].split() == ["[2,", "1,", "3]", "0", "7.5"]
    assert big[3].split()[-1] == "-0.25" and len(big) == 4


def test_an_integer_output_array_is_named():
    def conv2d_int(input, weight, bias=None, **hyper):
        return F.conv2d(input, weight, bias, **hyper).astype(int)

    result = E.check_conv2d(conv2d_int, quiet=True)
    assert not result and "integer dtype" in result.hint


def test_a_nan_output_is_named():
    def conv2d_nan(input, weight, bias=None, **hyper):
        out = np.empty_like(F.conv2d(input, weight, bias, **hyper))
        out[...] = np.nan
        return out

    result = E.check_conv2d(conv2d_nan, quiet=True)
    assert not result and "NaN or infinite" in result.problem.what


def test_the_dilation_and_groups_cases_can_be_left_out():
    def conv2d_basic(input, weight, bias=None, stride=1, padding=0):
        return F.conv2d(input, weight, bias, stride=stride, padding=padding)

    assert not E.check_conv2d(conv2d_basic, quiet=True)  # dilation= is passed by name
    result = E.check_conv2d(conv2d_basic, dilation=False, groups=False, quiet=True)
    assert result and not any("dilation" in c or "groups" in c for c in result.cases)


def test_output_size_with_dilation_calls_five_arguments():
    four = E.check_output_size(
        lambda m, k, s, p: (m - k + 2 * p) // s + 1, dilation=True, quiet=True
    )
    assert not four and "TypeError" in four.problem.what
    five = E.check_output_size(
        lambda m, k, s, p, d: (m + 2 * p - d * (k - 1) - 1) // s + 1, dilation=True, quiet=True
    )
    assert five and any("dilation" in c for c in five.cases)


def test_grad_cam_reference_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    feats = torch.randn(1, 6, 5, 4).relu().requires_grad_()
    head = torch.randn(3, 6)
    score = (head @ feats.mean(dim=(2, 3))[0])[1] + (feats**2).sum() * 0.1
    (grads,) = torch.autograd.grad(score, feats)
    a, g = feats.detach()[0].double(), grads[0].double()
    weights = g.mean(dim=(1, 2))
    want = torch.relu((weights[:, None, None] * a).sum(0)).numpy()
    np.testing.assert_allclose(E.gradcam.grad_cam(a.numpy(), g.numpy()), want, rtol=1e-12)


def test_receptive_field_reference_matches_an_impulse_through_torch():
    torch = pytest.importorskip("torch")
    layers = [(11, 4, 1), (3, 2, 1), (5, 1, 1), (3, 2, 2), (3, 1, 1)]
    image = torch.zeros(1, 1, 160, 160, requires_grad=True)
    h = image
    for k, s, d in layers:
        h = (
            torch.nn.functional.avg_pool2d(h, k, s)
            if d == 1
            else torch.nn.functional.conv2d(h, torch.ones(1, 1, k, k), stride=s, dilation=d)
        )
    h[0, 0, h.shape[2] // 2, h.shape[3] // 2].backward()
    rows = torch.nonzero(image.grad[0, 0].abs().sum(dim=1))
    measured = int(rows.max() - rows.min() + 1)
    assert E.arithmetic.summary_fields(layers)[-1][0] == measured


def test_init_std_reference_matches_torch_initialisers():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    w = torch.empty(64, 32, 3, 3, dtype=torch.float64)
    std = E.initialisation._std
    torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert math.isclose(w.std().item(), std("he", (64, 32, 3, 3)), rel_tol=0.02)
    torch.nn.init.xavier_normal_(w)
    assert math.isclose(w.std().item(), std("xavier", (64, 32, 3, 3)), rel_tol=0.02)
