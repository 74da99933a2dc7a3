"""Linear maps along one axis, written as gathers: what padding and resizing share.

Reflect, replicate and circular padding, and nearest and bilinear resizing, compute every
output position along an axis from at most a few input positions of that axis::

    out[..., o, ...] = sum_k weight[o, k] * x[..., index[o, k], ...]

``index`` and ``weight`` are small (n_out, m) tables that depend on the sizes only, so
NumPy builds them on the host; the array work is one ``take`` and one weighted sum per
axis, the same code for every array library. A 2-D op applies one map to the rows and
another to the columns.

Such a map is linear: ``y = A x`` with A the (n_out, n_in) matrix holding weight[o, k] at
(o, index[o, k]) (``as_matrix``). Its backward pass is therefore ``dx = A^T dy``, and A^T
is again a map of this form: row j of A^T lists the outputs that read input j. Building
that table (``transpose``) turns the scatter-add a backward pass needs into a gather,
which every array library has. Inputs that are read fewer times than the busiest one fill
their spare entries with the index n_in, which points at a zero appended to the array.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from array_api_compat import array_namespace, device

from cnnlib.backend import asarray_like

__all__ = ["AxisMap", "gather", "transpose", "as_matrix"]


class AxisMap(NamedTuple):
    """out[o] = sum_k weight[o, k] * x[index[o, k]] along one axis.

    index : (n_out, m) integers in [0, n_in]; n_in reads an appended zero
    weight : (n_out, m) floats, or None when every weight is 1
    n_in : the input's length along the axis
    """

    index: np.ndarray
    weight: np.ndarray | None
    n_in: int


def gather(x, amap: AxisMap, axis: int):
    """Apply `amap` along `axis` of x: (..., n_in, ...) -> (..., n_out, ...)."""
    xp = array_namespace(x)
    axis = axis % x.ndim
    n_out, m = amap.index.shape
    if np.any(amap.index == amap.n_in):  # some entries read the appended zero
        shape = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
        zero = xp.zeros(shape, dtype=x.dtype, device=device(x))
        x = xp.concat([x, zero], axis=axis)
    taken = xp.take(x, asarray_like(amap.index.reshape(-1), x, xp.int64), axis=axis)
    if m == 1 and amap.weight is None:
        return taken
    # (..., n_out * m, ...) -> (..., n_out, m, ...): the m inputs of each output together
    taken = xp.reshape(taken, x.shape[:axis] + (n_out, m) + x.shape[axis + 1 :])
    if amap.weight is not None:
        trailing = (1,) * (x.ndim - axis - 1)
        taken = taken * asarray_like(amap.weight.reshape((n_out, m) + trailing), x)
    return xp.sum(taken, axis=axis + 1)


def transpose(amap: AxisMap) -> AxisMap:
    """The map of A^T: for every input j, the outputs that read it (and their weights)."""
    n_out, m = amap.index.shape
    out_pos = np.repeat(np.arange(n_out), m)
    src = amap.index.reshape(-1)
    w = np.ones(src.shape) if amap.weight is None else amap.weight.reshape(-1)
    keep = (src < amap.n_in) & (w != 0)  # zero weights and appended zeros pass nothing back
    out_pos, src, w = out_pos[keep], src[keep], w[keep]
    order = np.argsort(src, kind="stable")
    out_pos, src, w = out_pos[order], src[order], w[order]
    counts = np.bincount(src, minlength=amap.n_in)
    width = max(1, int(counts.max(initial=0)))
    rank = np.arange(src.size) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.full((amap.n_in, width), n_out, dtype=np.int64)  # n_out: the appended zero
    index[src, rank] = out_pos
    if amap.weight is None:
        return AxisMap(index, None, n_out)
    weight = np.zeros((amap.n_in, width), dtype=amap.weight.dtype)
    weight[src, rank] = w
    return AxisMap(index, weight, n_out)


def as_matrix(amap: AxisMap) -> np.ndarray:
    """The (n_out, n_in) matrix A of the map (for reading and testing)."""
    n_out, m = amap.index.shape
    a = np.zeros((n_out, amap.n_in + 1))
    w = np.ones(amap.index.shape) if amap.weight is None else amap.weight
    np.add.at(a, (np.repeat(np.arange(n_out), m), amap.index.reshape(-1)), w.reshape(-1))
    return a[:, : amap.n_in]
