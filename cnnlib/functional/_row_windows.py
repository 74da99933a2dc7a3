"""Row windows (MEC): the im2col matrix of each output row, from a kW-fold copy of the input.

im2col copies every input pixel into up to kH*kW columns. But the windows of output row i
read the input rows i*sH, ..., i*sH + kH - 1, and those of row i + 1 read the same rows
moved down by sH: neighbouring rows of windows share kH - sH input rows. The
memory-efficient convolution (MEC, Cho and Brand, 2017) copies the input only kW times,
once per column offset q, into

    z : (G, Hp, C/G, kW, N, OW)      z[g, y, c, q, n, j] = x_pad[n, g*C/G + c, y, j*sW + q*dW]

and reads the matrix of output row i straight out of kH consecutive rows of z::

    z[g, i*sH : i*sH + kH]  reshaped to  (kH * C/G * kW, N * OW)     rows ordered (p, c, q)

That block is one contiguous stretch of memory, so the matrices of all OH output rows are a
single strided view of z, (OH, G, K, N*OW), whose consecutive matrices begin sH rows of z
apart and overlap (with stride 1 they have kH - 1 rows of z in common). One batched matrix
product with the weight in (p, c, q) order, (G, C_out/G, K), does the whole convolution,
one product per output row and group.

The price is paid in the product: OH products with N*OW columns each, instead of one with
N*OH*OW, which BLAS runs less efficiently. It pays off when the copy is the larger cost,
i.e. when each copied number meets few output channels (conv.py decides). Rows of z are
contiguous only with a row dilation of 1; with ``batch_last`` each row is ordered
(OW, N) instead of (N, OW), for short output rows (as ``im2col`` does).

row_matrices(x, kernel_size, stride, dilation, padding, groups, batch_last)
        -> (OH, G, kH * C/G * kW, N*OW)
add_row_matrices(dcols, kernel_size, input_shape, stride, dilation, padding, batch_last)
        -> (N, C, H, W), the adjoint: every entry added back to the pixel it came from
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_array, is_torch_array

from cnnlib.functional._windows import _inside, pair, windows_out_size

__all__ = ["row_matrices", "add_row_matrices"]


def _image_rows(x, groups, batch_last):
    """(N, C, H, W) -> a (G, H, C/G, N, W) view, or (G, H, C/G, W, N) with batch_last."""
    xp = array_namespace(x)
    n, c, h, w = x.shape
    x = xp.reshape(x, (n, groups, c // groups, h, w))
    return xp.permute_dims(x, (1, 3, 2, 4, 0) if batch_last else (1, 3, 2, 0, 4))


def _columns(index, batch_last):
    """The (N, OW) part of an index into a row of z: ``index`` picks output columns j."""
    return (index, slice(None)) if batch_last else (slice(None), index)


def _overlapping_view(z, oh, kh, sh):
    """(G, Hp, C/G, kW, N*OW) -> (OH, G, kH * C/G * kW, N*OW): output row i's matrix is
    rows i*sH ... i*sH + kH - 1 of z (a view for NumPy and torch, a copy elsewhere)."""
    g, hp, cg, kw, cols = z.shape
    shape = (oh, g, kh * cg * kw, cols)
    if is_numpy_array(z):
        sg, sy, _, sq, sc = z.strides  # rows (p, c, q) of a matrix are sq apart
        return np.lib.stride_tricks.as_strided(z, shape, (sy * sh, sg, sq, sc), writeable=False)
    if is_torch_array(z):
        sg, sy, _, sq, sc = z.stride()
        return z.as_strided(shape, (sy * sh, sg, sq, sc), z.storage_offset())
    xp = array_namespace(z)
    rows = [xp.reshape(z[:, i * sh : i * sh + kh, ...], shape[1:]) for i in range(oh)]
    return xp.stack(rows, axis=0)


def row_matrices(x, kernel_size, stride, dilation, padding, groups=1, batch_last=False):
    """The convolution matrix of every output row, from a kW-fold copy of x.

    x : (N, C, H, W)
    padding : (top, bottom, left, right) zeros around x (written into the copy)
    returns : (OH, G, kH * C/G * kW, N*OW) (columns (OW, N) with batch_last), with
        ``m[i, g, (p, c, q), (n, j)] = x_pad[n, g*C/G + c, i*sH + p, j*sW + q*dW]``;
        needs a row dilation of 1
    """
    xp = array_namespace(x)
    (kh, kw), (sh, sw), (_, dw) = pair(kernel_size), pair(stride), pair(dilation)
    top, bottom, left, right = padding
    n, c, h, w = x.shape
    hp = h + top + bottom
    oh = windows_out_size(hp, kh, sh, 1)
    ow = windows_out_size(w + left + right, kw, sw, dw)
    row = (ow, n) if batch_last else (n, ow)
    z = xp.empty((groups, hp, c // groups, kw) + row, dtype=x.dtype, device=device(x))
    z[:, :top, ...] = 0
    z[:, top + h :, ...] = 0
    image = _image_rows(x, groups, batch_last)  # (G, H, C/G, N, W) or (G, H, C/G, W, N)
    for q in range(kw):
        j0, j1, columns = _inside(ow, w, q * dw, sw, left)
        tap = z[:, top : top + h, :, q, ...]  # (G, H, C/G) + row: this offset's copy
        tap[(Ellipsis,) + _columns(slice(0, j0), batch_last)] = 0
        tap[(Ellipsis,) + _columns(slice(j1, ow), batch_last)] = 0
        if j1 > j0:
            tap[(Ellipsis,) + _columns(slice(j0, j1), batch_last)] = image[
                (Ellipsis,) + _columns(columns, batch_last)
            ]
    z = xp.reshape(z, (groups, hp, c // groups, kw, n * ow))
    return _overlapping_view(z, oh, kh, sh)


def add_row_matrices(dcols, kernel_size, input_shape, stride, dilation, padding, batch_last=False):
    """The adjoint of :func:`row_matrices`: add every entry back to the pixel it came from.

    dcols : (OH, G, kH * C/G * kW, N*OW) (columns (OW, N) with batch_last)
    input_shape : (N, C, H, W) of the unpadded input (col2im takes only (H, W))
    returns : (N, C, H, W); first kH additions of row blocks into z's gradient, then kW
        additions of its column offsets into the padded image, whose border is dropped
    """
    xp = array_namespace(dcols)
    (kh, kw), (sh, sw), (_, dw) = pair(kernel_size), pair(stride), pair(dilation)
    top, bottom, left, right = padding
    n, c, h, w = input_shape
    oh, groups = dcols.shape[:2]
    hp, wp = h + top + bottom, w + left + right
    ow = windows_out_size(wp, kw, sw, dw)
    row = (ow, n) if batch_last else (n, ow)
    # (OH, G, kH, C/G, kW, N, OW) -> (kH, G, OH, C/G, kW, N, OW): block p is added at rows i*sH + p
    blocks = xp.reshape(dcols, (oh, groups, kh, c // groups, kw) + row)
    blocks = xp.permute_dims(blocks, (2, 1, 0, 3, 4, 5, 6))
    dz = xp.zeros((groups, hp, c // groups, kw) + row, dtype=dcols.dtype, device=device(dcols))
    for p in range(kh):
        dz[:, p : p + sh * (oh - 1) + 1 : sh, ...] += blocks[p, ...]
    image = (wp, n) if batch_last else (n, wp)
    dx = xp.zeros((groups, hp, c // groups) + image, dtype=dcols.dtype, device=device(dcols))
    for q in range(kw):
        columns = slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)
        dx[(Ellipsis,) + _columns(columns, batch_last)] += dz[:, :, :, q, ...]
    dx = dx[:, top : top + h, :, ...]
    dx = dx[(Ellipsis,) + _columns(slice(left, left + w), batch_last)]
    # (G, H, C/G, N, W) or (G, H, C/G, W, N) -> (N, G, C/G, H, W) -> (N, C, H, W)
    order = (4, 0, 2, 1, 3) if batch_last else (3, 0, 2, 1, 4)
    return xp.reshape(xp.permute_dims(dx, order), (n, c, h, w))
