"""Sliding windows: the one module with a code path per array library.

Convolution, pooling and im2col all look at an image through a grid of small windows.
Everything they need from the array library is collected here, so the op modules stay
pure Array API code. Arrays come in and go out laid out (N, C, H, W).

pad2d(x, pad, value=0.0)
    Pad the last two axes; ``pad = (top, bottom, left, right)``.
    NumPy: ``np.pad``; torch: ``torch.nn.functional.pad``; any other Array API
    library: concatenation with constant blocks.

sliding_windows(x, kernel_size, stride=1, dilation=1) -> (N, C, OH, OW, kH, kW)
    ``windows[n, c, i, j, p, q] = x[n, c, i*sH + p*dH, j*sW + q*dW]`` with
    ``OH = floor((H - dH*(kH-1) - 1) / sH) + 1`` (same for OW). NumPy and torch return
    a read-only strided *view* (no copy: each input value appears in up to kH*kW
    windows but is stored once); other libraries get a copy built from kH*kW strided
    slices.

tap_slices(kernel_size, out_size, stride=1, dilation=1) -> [((p, q), rows, cols), ...]
    For every kernel offset (p, q), the strided slices with which ``x[..., rows, cols]``
    is that tap of every window at once: an (..., OH, OW) view with
    ``x[..., i*sH + p*dH, j*sW + q*dW]`` at (i, j). Pooling reduces over these kH*kW
    views one at a time instead of materialising all windows.

on_accelerator(x) -> bool
    Whether x lives on a GPU. There the cost model changes: every operation is a kernel
    launch that costs the host some microseconds however little it computes, so im2col
    and col2im do their work in one or two whole-array operations instead of one per
    kernel offset (a 7x7 kernel would be 49 launches, plus those of the padding).

cache_blocks(x, block_bytes=2**20) -> [(batch slice, channel slice), ...]
    Cut an (N, C, H, W) array into pieces of about ``block_bytes`` (a piece per image or
    per group of channels). A loop of kH*kW passes over one piece at a time finds it
    in the CPU's cache instead of reading the whole array from memory kH*kW times. On
    a GPU there is one piece: the whole array.

scatter_add_windows(cols, input_size, stride=1, dilation=1) -> (N, C, H, W)
    The adjoint of ``sliding_windows`` (col2im): every window entry is added back to
    the input position it was read from. Overlapping windows sum. One strided
    slice-add per kernel offset (kH*kW of them), which works in every library.

batch_last_for(out_width), to_working(x, batch_last), from_working(a, batch_last), at(...)
    The working layouts of the fast paths. Whole-array passes run fastest over long
    stretches of memory, so the loops below work in (C, N, H, W), or in (C, H, W, N)
    when output rows are shorter than 16 pixels (LeNet-sized maps), where a row of a
    (C, N, H, W) array would be a stretch of a few numbers. ``at`` builds the index
    of rows/columns (and a block of channels and images) in either layout.

im2col(x, kernel_size, stride=1, dilation=1, batch_last=False, padding=(0, 0, 0, 0))
        -> (C, kH*kW, N, OH, OW)
    The windows of a whole batch copied into the columns of one matrix, channels first,
    one kernel offset at a time, with zeros where a window hangs over the padding:
    reshaped to (C*kH*kW, N*OH*OW) it is the matrix a convolution multiplies its
    (C_out, C*kH*kW) weight with. ``batch_last`` orders each
    offset's block (OH, OW, N) instead, which keeps copies long when rows are short.

col2im(cols, kernel_size, input_size, stride=1, dilation=1, batch_last=False) -> (N, C, H, W)
    The adjoint of ``im2col``: each column entry is added back to the pixel it came from.

dilate2d(x, stride) -> (N, C, (H-1)*sH + 1, (W-1)*sW + 1)
    Insert ``s - 1`` zeros between neighbouring pixels ("zero insertion"). The input
    gradient of a strided convolution is a stride-1 convolution of the dilated
    upstream gradient.

windows_out_size(size, kernel, stride, dilation) -> int
    The number of window positions along one axis, floor((size - d(k-1) - 1)/s) + 1.

These helpers do not validate their arguments beyond what they need; the public ops
check the user's input and raise the clear errors.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_array, is_torch_array

__all__ = [
    "pair",
    "pad2d",
    "windows_out_size",
    "sliding_windows",
    "tap_slices",
    "on_accelerator",
    "cache_blocks",
    "scatter_add_windows",
    "batch_last_for",
    "to_working",
    "from_working",
    "at",
    "im2col",
    "col2im",
    "dilate2d",
]


def pair(v) -> tuple[int, int]:
    """An int or a length-2 sequence as an (h, w) tuple (no validation)."""
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v, v)


def windows_out_size(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> int:
    """How many windows fit along an axis: floor((size - d*(k-1) - 1) / s) + 1."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def pad2d(x, pad, value=0.0):
    """Pad the last two axes of ``x`` with the constant ``value``.

    x : (..., H, W)
    pad : (top, bottom, left, right), non-negative ints
    returns : (..., H + top + bottom, W + left + right)
    """
    top, bottom, left, right = (int(p) for p in pad)
    if top == bottom == left == right == 0:
        return x
    if is_numpy_array(x):
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        return np.pad(x, widths, mode="constant", constant_values=value)
    if is_torch_array(x):
        import torch.nn.functional as tF

        return tF.pad(x, (left, right, top, bottom), mode="constant", value=value)
    xp = array_namespace(x)
    lead = tuple(x.shape[:-2])
    h, w = x.shape[-2], x.shape[-1]

    def block(shape):
        return xp.full(shape, value, dtype=x.dtype, device=device(x))

    rows = [block(lead + (top, w))] if top else []
    rows += [x] + ([block(lead + (bottom, w))] if bottom else [])
    x = xp.concat(rows, axis=-2)
    h = h + top + bottom
    cols = [block(lead + (h, left))] if left else []
    cols += [x] + ([block(lead + (h, right))] if right else [])
    return xp.concat(cols, axis=-1)


def sliding_windows(x, kernel_size, stride=1, dilation=1):
    """All (kH, kW) windows of ``x``, as a view where the library allows.

    x : (N, C, H, W)
    returns : (N, C, OH, OW, kH, kW), OH = floor((H - dH*(kH-1) - 1) / sH) + 1

    ``windows[n, c, i, j, p, q] = x[n, c, i*sH + p*dH, j*sW + q*dW]``. For NumPy and
    torch the result shares memory with ``x``: do not write to it.
    """
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)
    n, c, h, w = x.shape
    oh, ow = windows_out_size(h, kh, sh, dh), windows_out_size(w, kw, sw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"sliding_windows: kernel {(kh, kw)} with dilation {(dh, dw)} does not fit "
            f"in an input of size {(h, w)}"
        )
    shape = (n, c, oh, ow, kh, kw)
    if is_numpy_array(x):
        s0, s1, s2, s3 = x.strides
        strides = (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw)
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    if is_torch_array(x):
        s0, s1, s2, s3 = x.stride()
        strides = (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw)
        return x.as_strided(shape, strides, x.storage_offset())
    # Generic Array API: one strided slice (N, C, OH, OW) per kernel offset, stacked.
    xp = array_namespace(x)
    taps = tap_slices((kh, kw), (oh, ow), (sh, sw), (dh, dw))
    slices = [x[:, :, rows, cols] for _, rows, cols in taps]
    return xp.reshape(xp.stack(slices, axis=-1), shape)


def tap_slices(kernel_size, out_size, stride=1, dilation=1):
    """One ``((p, q), rows, cols)`` per kernel offset, in row-major order.

    ``x[..., rows, cols]`` is an (..., OH, OW) strided view holding tap (p, q) of every
    window: ``x[..., i*sH + p*dH, j*sW + q*dW]`` at (i, j), for an x at least as large as
    the windows need.
    """
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = (
        pair(kernel_size),
        pair(out_size),
        pair(stride),
        pair(dilation),
    )
    return [
        (
            (p, q),
            slice(p * dh, p * dh + sh * (oh - 1) + 1, sh),
            slice(q * dw, q * dw + sw * (ow - 1) + 1, sw),
        )
        for p in range(kh)
        for q in range(kw)
    ]


def on_accelerator(x) -> bool:
    """Whether x is a tensor on a GPU (anything but the CPU), where launches cost more
    than bytes."""
    return is_torch_array(x) and x.device.type != "cpu"


def cache_blocks(x, block_bytes=2**20):
    """(batch slice, channel slice) pairs that cut x (N, C, H, W) into ~block_bytes pieces.

    Whole images are grouped while they fit; a larger image is cut into groups of
    channels (at least one). Torch tensors on a GPU come back as one piece.
    """
    n, c, h, w = x.shape
    if on_accelerator(x):
        return [(slice(0, n), slice(0, c))]
    plane = h * w * getattr(x.dtype, "itemsize", 8)  # bytes of one image channel
    if c * plane <= block_bytes:
        step = max(1, block_bytes // (c * plane))  # images per piece
        return [(slice(i, min(i + step, n)), slice(0, c)) for i in range(0, n, step)]
    step = max(1, block_bytes // plane)  # channels per piece
    return [
        (slice(i, i + 1), slice(j, min(j + step, c))) for i in range(n) for j in range(0, c, step)
    ]


def scatter_add_windows(cols, input_size, stride=1, dilation=1):
    """The adjoint of :func:`sliding_windows` (col2im): add windows back into an image.

    cols : (N, C, OH, OW, kH, kW)
    input_size : (H, W) of the image the windows were taken from (rows or columns that
        no window touches come back as zeros)
    returns : (N, C, H, W) with ``out[n, c, i*sH + p*dH, j*sW + q*dW] += cols[n, c, i, j, p, q]``
    """
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    n, c, oh, ow, kh, kw = cols.shape
    h, w = input_size
    xp = array_namespace(cols)
    out = xp.zeros((n, c, h, w), dtype=cols.dtype, device=device(cols))
    for (p, q), rows, columns in tap_slices((kh, kw), (oh, ow), (sh, sw), (dh, dw)):
        out[:, :, rows, columns] += cols[:, :, :, :, p, q]
    return out


SHORT_ROW = 16  # output rows shorter than this work with the batch innermost


def batch_last_for(out_width: int) -> bool:
    """Whether to work in (C, H, W, N): when output rows are short, whole-array passes
    over a (C, N, H, W) layout would run in many short pieces of out_width numbers."""
    return out_width < SHORT_ROW


def to_working(x, batch_last):
    """(N, C, H, W) -> a (C, N, H, W) view, or with ``batch_last`` (C, H, W, N) memory
    (a view when x already lies so in memory, else a copy: reshape copies then)."""
    xp = array_namespace(x)
    if not batch_last:
        return xp.permute_dims(x, (1, 0, 2, 3))
    n, c, h, w = x.shape
    return xp.reshape(xp.reshape(xp.permute_dims(x, (1, 2, 3, 0)), (-1,)), (c, h, w, n))


def from_working(a, batch_last):
    """The inverse of :func:`to_working`: a (N, C, H, W) view."""
    return array_namespace(a).permute_dims(a, (3, 0, 1, 2) if batch_last else (1, 0, 2, 3))


def at(rows, cols, batch_last, block=(slice(None), slice(None))):
    """Index of rows/cols of a working-layout array, within block = (c slice, n slice)."""
    c, n = block
    return (c, rows, cols, n) if batch_last else (c, n, rows, cols)


def _inside(out_size, size, offset, stride, before):
    """Output positions i whose tap reads inside the unpadded input, and what they read.

    The tap reads input position ``i*stride + offset - before``; returns (lo, hi, slice) with
    positions lo <= i < hi inside [0, size) and the strided slice of input they read.
    """
    lo = min(max(0, -(-(before - offset) // stride)), out_size)  # ceil, clipped to [0, out]
    hi = max(lo, min(out_size, (size - 1 + before - offset) // stride + 1))
    start = lo * stride + offset - before
    return lo, hi, slice(start, start + (hi - lo - 1) * stride + 1, stride)


def im2col(x, kernel_size, stride=1, dilation=1, batch_last=False, padding=(0, 0, 0, 0)):
    """Copy every window of x into columns, one kernel offset at a time.

    x : (N, C, H, W)
    padding : (top, bottom, left, right) zeros around x, written into the columns without
        building a padded copy of x
    returns : (C, kH*kW, N, OH, OW), or (C, kH*kW, OH, OW, N) with ``batch_last``;
        ``cols[c, p*kW + q, n, i, j] = x_pad[n, c, i*sH + p*dH, j*sW + q*dW]``

    Reshaped to (C*kH*kW, N*OH*OW) this is the im2col matrix of the whole batch. Each
    offset's block is one strided view of the image copied as a whole, so the copy runs
    along image rows; when the output rows are short (a few pixels), ``batch_last`` puts
    the batch innermost so that the runs are N times longer. Where a window hangs over the
    border, the block gets zeros in the rows and columns that fall in the padding. On a GPU
    the padded image's window view is copied in one go instead (see ``on_accelerator``).
    """
    xp = array_namespace(x)
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)
    top, bottom, left, right = padding
    n, c, h, w = x.shape
    oh = windows_out_size(h + top + bottom, kh, sh, dh)
    ow = windows_out_size(w + left + right, kw, sw, dw)
    block = (oh, ow, n) if batch_last else (n, oh, ow)
    if on_accelerator(x):  # two launches: the padded copy, then every window in one copy
        windows = sliding_windows(pad2d(x, padding), (kh, kw), (sh, sw), (dh, dw))
        order = (1, 4, 5, 2, 3, 0) if batch_last else (1, 4, 5, 0, 2, 3)
        return xp.reshape(xp.permute_dims(windows, order), (c, kh * kw) + block)
    image = to_working(x, batch_last)
    cols = xp.empty((c, kh * kw) + block, dtype=x.dtype, device=device(x))
    row_ranges = [_inside(oh, h, p * dh, sh, top) for p in range(kh)]
    col_ranges = [_inside(ow, w, q * dw, sw, left) for q in range(kw)]
    for p, (i0, i1, rows) in enumerate(row_ranges):
        for q, (j0, j1, columns) in enumerate(col_ranges):
            tap = cols[:, p * kw + q, ...]  # a view: (N, OH, OW) or (OH, OW, N) per channel
            if i1 > i0 and j1 > j0:
                inside = at(slice(i0, i1), slice(j0, j1), batch_last)
                tap[inside] = image[at(rows, columns, batch_last)]
            if any(padding):
                for r, cc in _border((i0, i1, oh), (j0, j1, ow)):
                    tap[at(r, cc, batch_last)] = 0
    return cols


def _border(rows, cols):
    """The (row slice, column slice) strips of an (oh, ow) block around its inside part
    [i0, i1) x [j0, j1): above, below, left and right of it, the empty ones left out."""
    (i0, i1, oh), (j0, j1, ow) = rows, cols
    strips = [(slice(0, i0), slice(0, ow)), (slice(i1, oh), slice(0, ow))]
    strips += [(slice(i0, i1), slice(0, j0)), (slice(i0, i1), slice(j1, ow))]
    return [(r, c) for r, c in strips if r.stop > r.start and c.stop > c.start]


def col2im(cols, kernel_size, input_size, stride=1, dilation=1, batch_last=False):
    """The adjoint of :func:`im2col`: add every column entry back to its pixel.

    cols : (C, kH*kW, N, OH, OW), or (C, kH*kW, OH, OW, N) with ``batch_last``
    input_size : (H, W) of the (padded) image the columns came from
    returns : (N, C, H, W), a view of (C, N, H, W) or (C, H, W, N) memory;
        ``out[n, c, i*sH + p*dH, j*sW + q*dW] += cols[c, p*kW + q, n, i, j]``

    On the CPU one strided slice-add per kernel offset; on a GPU one ``index_add_`` with
    the target pixel of every column entry (overlapping windows add up either way).
    """
    xp = array_namespace(cols)
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)
    if batch_last:
        c, _, oh, ow, n = cols.shape
        shape = (c,) + tuple(input_size) + (n,)
    else:
        c, _, n, oh, ow = cols.shape
        shape = (c, n) + tuple(input_size)
    image = xp.zeros(shape, dtype=cols.dtype, device=device(cols))
    if on_accelerator(cols):  # all kH*kW additions as one scatter-add into flat images
        geometry = ((kh, kw), (oh, ow), input_size, (sh, sw), (dh, dw))
        index = _pixel_index(*geometry, n, batch_last, like=cols)
        flat = xp.reshape(image, (c, -1))  # a view of image: (C, N*H*W) or (C, H*W*N)
        flat.index_add_(1, index, xp.reshape(cols, (c, -1)))
        return from_working(image, batch_last)
    taps = tap_slices((kh, kw), (oh, ow), (sh, sw), (dh, dw))
    # (C, N) blocks that fit in the cache take their kH*kW additions one after another
    blocks = [(slice(None), slice(None))] if batch_last else cache_blocks(image)
    for cb, nb in blocks:
        for t, (_, rows, columns) in enumerate(taps):
            image[at(rows, columns, batch_last, (cb, nb))] += cols[cb, t, nb, ...]
    return from_working(image, batch_last)


def _pixel_index(kernel, out_size, input_size, stride, dilation, n, batch_last, like):
    """Where each of one channel's columns goes in that channel's flattened image.

    returns : an int64 vector on like's device, ordered like the columns (kH*kW, N, OH, OW)
        (or (kH*kW, OH, OW, N)), of positions in the flattened (N, H, W) (or (H, W, N))
        image; built there from a few aranges, so nothing is copied from the host
    """
    (kh, kw), (oh, ow), (h, w), (sh, sw), (dh, dw) = kernel, out_size, input_size, stride, dilation
    xp = array_namespace(like)

    def steps(count, step):  # 0, step, 2*step, ... (count of them)
        return xp.arange(0, count * step, step, dtype=xp.int64, device=device(like))

    rows = steps(kh, dh)[:, None] + steps(oh, sh)  # (kH, OH): i*sH + p*dH
    cols = steps(kw, dw)[:, None] + steps(ow, sw)  # (kW, OW): j*sW + q*dW
    pixel = xp.reshape(rows[:, None, :, None] * w + cols[None, :, None, :], (kh * kw, oh, ow))
    if batch_last:
        return xp.reshape(pixel[..., None] * n + steps(n, 1), (-1,))
    return xp.reshape(steps(n, h * w)[:, None, None] + pixel[:, None, ...], (-1,))


def dilate2d(x, stride):
    """Insert ``stride - 1`` zeros between neighbouring pixels of the last two axes.

    x : (..., H, W)
    returns : (..., (H-1)*sH + 1, (W-1)*sW + 1) with ``out[..., i*sH, j*sW] = x[..., i, j]``
    """
    sh, sw = pair(stride)
    if sh == sw == 1:
        return x
    xp = array_namespace(x)
    h, w = x.shape[-2], x.shape[-1]
    shape = tuple(x.shape[:-2]) + ((h - 1) * sh + 1, (w - 1) * sw + 1)
    out = xp.zeros(shape, dtype=x.dtype, device=device(x))
    out[..., ::sh, ::sw] = x
    return out
