"""Each checker of cnnlib.exercises fails the usual wrong implementations (written as a
learner writes them, in tests/exercises_learners.py) and names the mistake in its hint."""

import exercises_learners as L
import numpy as np
import pytest

import cnnlib.exercises as E

# (checker, wrong implementation, a phrase of the hint, the case it fails at: 1-based or None)
MISTAKES = {
    "conv2d: flipped kernel": (
        E.check_conv2d,
        L.make_conv2d(flip=True),
        "you flipped the kernel",
        1,
    ),
    "conv2d: bias missing": (E.check_conv2d, L.make_conv2d(bias="missing"), "bias is missing", 3),
    "conv2d: bias per input channel": (
        E.check_conv2d,
        L.make_conv2d(bias="per_channel"),
        "once per input channel",
        4,
    ),
    "conv2d: channels averaged": (
        E.check_conv2d,
        L.make_conv2d(channels="mean"),
        "averaged over the input channels",
        4,
    ),
    "conv2d: padding on every axis": (
        E.check_conv2d,
        L.make_conv2d(pad_every_axis=True),
        "you padded every axis",
        6,
    ),
    "conv2d: output size rounded up": (
        E.check_conv2d,
        L.make_conv2d(rounding="ceil"),
        "rounded up",
        7,
    ),
    "conv2d: stride ignored": (
        E.check_conv2d,
        L.make_conv2d(use_stride=False),
        "stride is ignored",
        7,
    ),
    "conv2d: dilation ignored": (
        E.check_conv2d,
        L.make_conv2d(use_dilation=False),
        "dilation is ignored",
        9,
    ),
    "conv2d: groups ignored": (
        E.check_conv2d,
        L.make_conv2d(use_groups=False),
        "every filter read the first 2 input channels",
        10,
    ),
    "conv2d: returns (out, cache)": (
        E.check_conv2d,
        L.make_conv2d(returns="pair"),
        "not a cache",
        1,
    ),
    "im2col: rows kernel-position first": (
        E.check_im2col,
        L.make_im2col(order="tap_first"),
        "rows are in the wrong order",
        2,
    ),
    "im2col: windows column by column": (
        E.check_im2col,
        L.make_im2col(windows="column_major"),
        "numbered column by column",
        1,
    ),
    "im2col: transposed": (E.check_im2col, L.make_im2col(transposed=True), "transposed", 1),
    "im2col: batch axis dropped": (
        E.check_im2col,
        L.make_im2col(batch=False),
        "keep the batch axis",
        1,
    ),
    "max_pool2d: averages": (
        E.check_max_pool2d,
        L.make_max_pool2d(kind="mean"),
        "average of each window",
        1,
    ),
    "max_pool2d: default stride 1": (
        E.check_max_pool2d,
        L.make_max_pool2d(default_stride="one"),
        "torch's default is stride = kernel_size",
        3,
    ),
    "max_pool2d: zero padding": (
        E.check_max_pool2d,
        L.make_max_pool2d(pad_value=0.0),
        "pads with -inf",
        6,
    ),
    "max_pool2d: rounded up": (
        E.check_max_pool2d,
        L.make_max_pool2d(rounding="ceil"),
        "rounded up",
        3,
    ),
    "max_pool2d: max over channels": (
        E.check_max_pool2d,
        L.make_max_pool2d(kind="all_channels"),
        "pool each channel separately",
        2,
    ),
    "relu_backward: x >= 0": (
        E.check_relu_backward,
        L.make_relu_backward(mask="x>=0"),
        "torch's ReLU gradient at 0 is 0",
        3,
    ),
    "relu_backward: mask from dout": (
        E.check_relu_backward,
        L.make_relu_backward(mask="dout>0"),
        "must come from the forward input x",
        1,
    ),
    "relu_backward: mask only": (
        E.check_relu_backward,
        L.make_relu_backward(returns="mask"),
        "mask alone",
        1,
    ),
    "relu_backward: arguments swapped": (
        E.check_relu_backward,
        lambda dout, x: L.make_relu_backward()(x, dout),
        "the other way round",
        1,
    ),
    "softmax: not shifted": (
        E.check_softmax_cross_entropy,
        L.make_softmax_loss(shift=False),
        "subtract each row's own maximum",
        3,
    ),
    "softmax: log of p": (
        E.check_softmax_cross_entropy,
        L.make_softmax_loss(lse=False),
        "underflows to 0",
        4,
    ),
    "softmax: summed loss": (
        E.check_softmax_cross_entropy,
        L.make_softmax_loss(reduce="sum"),
        "the sum over the batch",
        2,
    ),
    "softmax: gradient not divided by N": (
        E.check_softmax_cross_entropy,
        L.make_softmax_loss(grad_scale=False),
        "not divided by the batch size",
        2,
    ),
    "softmax: one loss per example": (
        E.check_softmax_cross_entropy,
        L.make_softmax_loss(loss_per_example=True),
        "one loss per example",
        2,
    ),
    "conv2d_backward: kernel not rotated": (
        E.check_conv2d_backward,
        L.make_conv2d_backward(rotate=False),
        "without rotating it",
        1,
    ),
    "conv2d_backward: dw overwritten per image": (
        E.check_conv2d_backward,
        L.make_conv2d_backward(dw_batch="last"),
        "last image's gradient only",
        4,
    ),
    "conv2d_backward: db per image": (
        E.check_conv2d_backward,
        L.make_conv2d_backward(db_batch="per_image"),
        "sum over the batch too",
        1,
    ),
    "conv2d_backward: padding not cropped": (
        E.check_conv2d_backward,
        L.make_conv2d_backward(crop=False),
        "cut the 1 padded rows",
        5,
    ),
    "conv2d_backward: unreached rows dropped": (
        E.check_conv2d_backward,
        L.make_conv2d_backward(full_dx=False),
        "never reached by a window",
        7,
    ),
    "conv2d_backward: wrong order": (
        E.check_conv2d_backward,
        L.make_conv2d_backward(order="dw_dx_db"),
        "(dx, dw, db)",
        1,
    ),
    "max_pool2d_backward: overwrites": (
        E.check_max_pool2d_backward,
        L.make_max_pool2d_backward(combine="assign"),
        "add their errors (+=)",
        4,
    ),
    "max_pool2d_backward: every tied max": (
        E.check_max_pool2d_backward,
        L.make_max_pool2d_backward(ties="all"),
        "every tied maximum received the window's whole error",
        6,
    ),
    "max_pool2d_backward: spread like average": (
        E.check_max_pool2d_backward,
        L.make_max_pool2d_backward(spread=True),
        "like average pooling",
        1,
    ),
    "max_pool2d_backward: zero padding": (
        E.check_max_pool2d_backward,
        L.make_max_pool2d_backward(pad_value=0.0),
        "pad with -inf",
        5,
    ),
    "max_pool2d_backward: transposed position": (
        E.check_max_pool2d_backward,
        L.make_max_pool2d_backward(decode="col_row"),
        "transposed position",
        1,
    ),
    "avg_pool2d_backward: no division": (
        E.check_avg_pool2d_backward,
        L.make_avg_pool2d_backward(divisor="none"),
        "did not divide by the window size",
        1,
    ),
    "avg_pool2d_backward: divided by k": (
        E.check_avg_pool2d_backward,
        L.make_avg_pool2d_backward(divisor="k"),
        "you divided by k = 2",
        1,
    ),
    "avg_pool2d_backward: overwrites": (
        E.check_avg_pool2d_backward,
        L.make_avg_pool2d_backward(combine="assign"),
        "add the shares of every window",
        4,
    ),
    "avg_pool2d_backward: count_include_pad=False": (
        E.check_avg_pool2d_backward,
        L.make_avg_pool2d_backward(count_include_pad=False),
        "count_include_pad=True",
        6,
    ),
    "sgd: CS231n velocity": (
        E.check_sgd_momentum_step,
        L.make_sgd("cs231n"),
        "-lr times torch's buffer",
        1,
    ),
    "sgd: dampened average": (
        E.check_sgd_momentum_step,
        L.make_sgd("ema"),
        "buf = mu*buf + (1 - mu)*g",
        2,
    ),
    "sgd: Nesterov": (E.check_sgd_momentum_step, L.make_sgd("nesterov"), "Nesterov's step", 2),
    "sgd: uphill": (E.check_sgd_momentum_step, L.make_sgd("uphill"), "uphill", 1),
    "sgd: velocity ignored": (
        E.check_sgd_momentum_step,
        L.make_sgd("plain"),
        "by the gradient alone",
        3,
    ),
    "sgd: returned in the other order": (
        E.check_sgd_momentum_step,
        L.make_sgd("swapped"),
        "return (param, velocity)",
        1,
    ),
    "output_size: true division": (
        E.check_output_size,
        L.make_output_size(rounding="none"),
        "floor division //",
        1,
    ),
    "output_size: rounded to nearest": (
        E.check_output_size,
        L.make_output_size(rounding="round"),
        "nearest integer",
        4,
    ),
    "output_size: no + 1": (
        E.check_output_size,
        L.make_output_size(plus_one=False),
        "+ 1 is missing",
        1,
    ),
    "output_size: stride and padding swapped": (
        E.check_output_size,
        L.make_output_size(swap=True),
        "is the padding read as the stride",
        1,
    ),
    "output_size: padding once": (
        E.check_output_size,
        L.make_output_size(pad_once=True),
        "on both sides",
        2,
    ),
    "receptive_field: jump never grows": (
        E.check_receptive_field,
        L.make_receptive_field(jump=False),
        "the jump never changes",
        3,
    ),
    "receptive_field: jump updated first": (
        E.check_receptive_field,
        L.make_receptive_field(jump_first=True),
        "with the old jump",
        3,
    ),
    "receptive_field: dilation ignored": (
        E.check_receptive_field,
        L.make_receptive_field(dilation=False),
        "dilation is ignored",
        4,
    ),
    "receptive_field: k instead of k - 1": (
        E.check_receptive_field,
        L.make_receptive_field(span="k"),
        "not d k j",
        1,
    ),
    "init_std: fan-in without the kernel": (
        E.check_init_std,
        L.make_init_std(fan="channels"),
        "C_in * kH * kW",
        3,
    ),
    "init_std: variance": (
        E.check_init_std,
        L.make_init_std(returns="var"),
        "that is the variance",
        1,
    ),
    "init_std: He with the fan-out": (
        E.check_init_std,
        L.make_init_std(he_fan="out"),
        "He uses the fan-in",
        1,
    ),
    "init_std: LeCun for Xavier": (
        E.check_init_std,
        L.make_init_std(xavier="lecun"),
        "LeCun",
        2,
    ),
    "batch_norm: biased running variance": (
        E.check_batch_norm,
        L.make_batch_norm(running_ddof=0),
        "unbiased batch variance",
        3,
    ),
    "batch_norm: Keras momentum": (
        E.check_batch_norm,
        L.make_batch_norm(keras_momentum=True),
        "the momentum works the other way round",
        3,
    ),
    "batch_norm: running stats rebound": (
        E.check_batch_norm,
        L.make_batch_norm(in_place=False),
        "update it in place",
        3,
    ),
    "batch_norm: eval with batch statistics": (
        E.check_batch_norm,
        L.make_batch_norm(eval_uses_batch=True),
        "in evaluation mode (training=False) normalise with running_mean",
        5,
    ),
    "batch_norm: running stats updated in eval": (
        E.check_batch_norm,
        L.make_batch_norm(update_in_eval=True),
        "must not change",
        5,
    ),
    "batch_norm: eps outside the root": (
        E.check_batch_norm,
        L.make_batch_norm(eps_inside=False),
        "eps goes inside the square root",
        1,
    ),
    "batch_norm: statistics per image": (
        E.check_batch_norm,
        L.make_batch_norm(axes=(1, 2, 3)),
        "each image over its own values",
        1,
    ),
    "batch_norm: gamma on the last axis": (
        E.check_batch_norm,
        L.make_batch_norm(gamma_axis=3),
        "broadcast along the last axis",
        2,
    ),
    "batch_norm: normalised with the unbiased variance": (
        E.check_batch_norm,
        L.make_batch_norm(norm_ddof=1),
        "normalised with the unbiased variance",
        1,
    ),
    "batch_norm_backward: statistics as constants": (
        E.check_batch_norm_backward,
        L.make_batch_norm_backward(through_stats=False),
        "treats the mean and the variance as constants",
        1,
    ),
    "batch_norm_backward: gamma missing": (
        E.check_batch_norm_backward,
        L.make_batch_norm_backward(use_gamma=False),
        "gamma is missing",
        1,
    ),
    "batch_norm_backward: dgamma with x": (
        E.check_batch_norm_backward,
        L.make_batch_norm_backward(dgamma_of="x"),
        "with x_hat, not x",
        1,
    ),
    "batch_norm_backward: dbeta mean": (
        E.check_batch_norm_backward,
        L.make_batch_norm_backward(dbeta="mean"),
        "not the mean",
        1,
    ),
    "grad_cam: no ReLU": (E.check_grad_cam, L.make_grad_cam(relu=False), "ReLU is missing", 2),
    "grad_cam: summed weights": (
        E.check_grad_cam,
        L.make_grad_cam(weights="sum"),
        "use their means",
        1,
    ),
    "grad_cam: normalised": (E.check_grad_cam, L.make_grad_cam(normalise=True), "rescaled", 1),
    "grad_cam: swapped": (
        E.check_grad_cam,
        L.make_grad_cam(swap=True),
        "activations and gradients are swapped",
        1,
    ),
    "grad_cam: ReLU per channel": (
        E.check_grad_cam,
        L.make_grad_cam(relu_each=True),
        "apply the ReLU once",
        2,
    ),
    "nms: indices sorted": (E.check_nms, L.make_nms(by_index=True), "wrong order", 2),
    "nms: a mask": (E.check_nms, L.make_nms(mask=True), "not a True/False mask", 1),
    "nms: lowest score first": (E.check_nms, L.make_nms(ascending=True), "highest score", 1),
    "nms: +1 widths": (E.check_nms, L.make_nms(plus_one=True), "x2 - x1 + 1", 3),
    "nms: >=": (E.check_nms, L.make_nms(strict=False), "use >, not >=", 4),
    "nms: suppressed boxes suppress": (E.check_nms, L.make_nms(chain=True), "only kept", 5),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_the_mistake_fails_with_its_hint(name, capsys):
    check, wrong, phrase, case = MISTAKES[name]
    result = check(wrong)
    out = capsys.readouterr().out
    assert not result, out
    assert result.hint is not None and phrase in result.hint, out
    assert result.n_passed == case - 1, out
    assert f"✗ {case}. {result.case}" in out and "hint:" in out


def test_every_checker_has_at_least_three_recognised_mistakes():
    counts = {}
    for check, *_ in MISTAKES.values():
        counts[check.__name__] = counts.get(check.__name__, 0) + 1
    assert set(counts) == {n for n in E.__all__ if n.startswith("check_")}
    assert min(counts.values()) >= 3, counts


@pytest.mark.parametrize(
    "rule", ["last", "split"], ids=["last tied maximum", "error split over the ties"]
)
def test_max_pool_backward_accepts_another_subgradient_with_a_note(rule, capsys):
    result = E.check_max_pool2d_backward(L.make_max_pool2d_backward(ties=rule))
    out = capsys.readouterr().out
    assert result, out
    assert len(result.notes) == 1 and "valid subgradient" in result.notes[0]
    assert "first maximum in row-major order" in out


def test_receptive_field_accepts_the_final_pair_or_the_final_r():
    for returns in ("final_r", "final_pair", "list"):
        assert E.check_receptive_field(L.make_receptive_field(returns=returns), quiet=True)
    wrong = E.check_receptive_field(
        L.make_receptive_field(jump=False, returns="final_r"), quiet=True
    )
    assert not wrong and "the final r = 8" in wrong.problem.what


def test_output_size_dilation_mistake_is_named():
    result = E.check_output_size(L.make_output_size(dilation=False), dilation=True, quiet=True)
    assert not result and "dilation is ignored" in result.hint
    assert result.case.startswith("dilation")


def test_a_mistake_the_checker_does_not_know_still_gets_a_diff():
    def off_by_half(input, weight, bias=None, **hyper):
        return L.make_conv2d()(input, weight, bias, **hyper) + 0.5

    result = E.check_conv2d(off_by_half, quiet=True)
    assert not result and result.hint is None
    assert "4 of 4 values differ; largest absolute error 0.5" in result.problem.details
    np.testing.assert_allclose(result.received - result.expected, 0.5)
