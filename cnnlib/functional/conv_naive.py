"""2-D convolution written as loops over every output pixel: the definition, for reading.

``conv2d_naive`` checks its arguments exactly like `conv2d` (``conv.py``) and returns the same
values, slowly and forward only. The book reads it; the tests check the fast path against it.
"""

from array_api_compat import device

from cnnlib.functional._conv_checks import _check_conv2d
from cnnlib.functional._windows import pad2d, windows_out_size

__all__ = ["conv2d_naive"]


def conv2d_naive(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d as explicit loops over (n, o, i, j); forward only, for small inputs.

    For each output pixel, cut the (C_in/groups, kH, kW) window the kernel sits on
    (every d-th pixel for dilation d), multiply it element by element with the kernel
    and add everything up. Same arguments, checks and result as :func:`conv2d`.
    """
    xp, x, weight, bias, unbatched, (sh, sw), pad, (dh, dw), groups = _check_conv2d(
        input, weight, bias, stride, padding, dilation, groups, "conv2d_naive"
    )
    x_pad = pad2d(x, pad)  # (top, bottom, left, right) zeros around every image
    n_batch, _, hp, wp = x_pad.shape
    c_out, c_in_g, kh, kw = weight.shape
    h_out, w_out = windows_out_size(hp, kh, sh, dh), windows_out_size(wp, kw, sw, dw)
    out = xp.zeros((n_batch, c_out, h_out, w_out), dtype=x_pad.dtype, device=device(x_pad))
    group_size = c_out // groups
    for n in range(n_batch):
        for o in range(c_out):
            first = (o // group_size) * c_in_g  # the first input channel of o's group
            for i in range(h_out):
                for j in range(w_out):
                    window = x_pad[
                        n,
                        first : first + c_in_g,
                        i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                        j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                    ]
                    value = xp.sum(window * weight[o, ...])
                    if bias is not None:
                        value = value + bias[o]
                    out[n, o, i, j] = value
    return out[0, ...] if unbatched else out
