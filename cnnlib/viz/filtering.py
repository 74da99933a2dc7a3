"""Filter a single image with a 2-D kernel: padding modes, stride, dilation, conv or correlation.

The arithmetic is ``cnnlib.functional.conv2d`` (a 'valid' cross-correlation after the padding
done here in NumPy); this module only adds the padding modes that ``conv2d`` leaves to
``torch.nn.Conv2d(padding_mode=...)`` and the 180-degree flip that turns correlation into
convolution.
"""

import numpy as np

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution: floor((size + 2p - d(k - 1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def output_size_formula(size, kernel_size, stride=1, padding=0, dilation=1):
    """The output-size formula as text with the numbers filled in, e.g. for the explorer."""
    out = conv_output_size(size, kernel_size, stride, padding, dilation)
    return (
        f"floor(({size} + 2*{padding} - {dilation}*({kernel_size} - 1) - 1) / {stride}) + 1 = {out}"
    )


def pad2d(image, padding, mode="zeros"):
    """Pad the last two axes of ``image`` by ``padding`` on every side.

    Parameters
    ----------
    image : (..., H, W) array
    padding : int
    mode : {'zeros', 'reflect', 'replicate', 'circular'}
        torch's ``padding_mode`` names; 'reflect' needs ``padding < H`` and ``padding < W``.
    """
    image = np.asarray(image)
    if mode not in PADDING_MODES:
        raise ValueError(f"pad2d: unknown mode {mode!r}; choose one of {PADDING_MODES}")
    if padding < 0:
        raise ValueError(f"pad2d: padding must be >= 0, got {padding}")
    h, w = image.shape[-2:]
    if mode == "reflect" and padding >= min(h, w):
        raise ValueError(f"pad2d: reflect padding {padding} needs padding < size, image is {h}x{w}")
    if mode == "circular" and padding > min(h, w):
        raise ValueError(
            f"pad2d: circular padding {padding} needs padding <= size, image is {h}x{w}"
        )
    widths = [(0, 0)] * (image.ndim - 2) + [(padding, padding), (padding, padding)]
    return np.pad(image, widths, mode=_NUMPY_MODE[mode])


def filter_image(
    image,
    kernel,
    stride=1,
    padding=0,
    dilation=1,
    padding_mode="zeros",
    convolution=False,
):
    """Slide one 2-D kernel over one image.

    Parameters
    ----------
    image : (H, W) or (C, H, W) array
        A (C, H, W) image is filtered channel by channel (each channel as a batch item).
    kernel : (kH, kW) array
    convolution : bool
        False: cross-correlation (what ``conv2d`` computes); True: rotate the kernel by 180
        degrees first, which is convolution in the mathematical sense.

    Returns
    -------
    out : (H_out, W_out) or (C, H_out, W_out) float64 array, with
        H_out = floor((H + 2p - d(kH - 1) - 1) / s) + 1.
    """
    from cnnlib import functional as F

    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim not in (2, 3) or kernel.ndim != 2:
        raise ValueError(
            f"filter_image: expected image (H, W) or (C, H, W) and kernel (kH, kW), "
            f"got {image.shape} and {kernel.shape}"
        )
    if convolution:
        kernel = kernel[::-1, ::-1]
    x = image[None] if image.ndim == 2 else image
    x = pad2d(x, padding, padding_mode)[:, None]  # (C, 1, H + 2p, W + 2p)
    w = kernel.copy()[None, None]  # (1, 1, kH, kW)
    out = np.asarray(F.conv2d(x, w, stride=stride, dilation=dilation))[:, 0]
    return out[0] if image.ndim == 2 else out
