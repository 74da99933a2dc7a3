"""Checkers for the "Your turn" exercises: implement an op yourself, then check it.

Each ``check_*(fn)`` calls your function the way the cnnlib (and torch) function it mirrors
is called, on a ladder of cases from a hand-sized integer example to random general ones,
and stops at the first failure. It prints what failed in words you can act on (the case,
the expected and received shapes or values, and a hint when it recognises the mistake) and
returns a :class:`CheckResult`, truthy when every case passed. Your function raising, or
returning the wrong type, is reported as a failure, never raised. The expected values come
from cnnlib's own NumPy functions, which are tested against PyTorch; the checkers need
NumPy only and run offline::

    from cnnlib.exercises import check_conv2d

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        ...

    check_conv2d(conv2d)
"""

from cnnlib.exercises._report import CheckResult
from cnnlib.exercises.arithmetic import check_output_size, check_receptive_field
from cnnlib.exercises.backprop import check_conv2d_backward, check_relu_backward
from cnnlib.exercises.batchnorm import check_batch_norm
from cnnlib.exercises.batchnorm_backward import check_batch_norm_backward
from cnnlib.exercises.conv import check_conv2d
from cnnlib.exercises.detection import check_nms
from cnnlib.exercises.gradcam import check_grad_cam
from cnnlib.exercises.im2col import check_im2col
from cnnlib.exercises.initialisation import check_init_std
from cnnlib.exercises.optim import check_sgd_momentum_step
from cnnlib.exercises.pool import check_max_pool2d
from cnnlib.exercises.pool_backward import check_avg_pool2d_backward, check_max_pool2d_backward
from cnnlib.exercises.softmax import check_softmax_cross_entropy

__all__ = [
    "CheckResult",
    "check_output_size",
    "check_conv2d",
    "check_im2col",
    "check_max_pool2d",
    "check_relu_backward",
    "check_softmax_cross_entropy",
    "check_conv2d_backward",
    "check_max_pool2d_backward",
    "check_avg_pool2d_backward",
    "check_sgd_momentum_step",
    "check_receptive_field",
    "check_init_std",
    "check_batch_norm",
    "check_batch_norm_backward",
    "check_grad_cam",
    "check_nms",
]
