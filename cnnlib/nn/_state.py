"""Helpers for saving, loading and moving a module's arrays: what ``load_state_dict``
returns, and conversions between libraries, devices and dtypes (``Module.to``)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlib.backend import asarray_like, is_torch, to_numpy

__all__ = ["_IncompatibleKeys", "convert", "copy_like"]


class _Keys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class _IncompatibleKeys(_Keys):
    """What ``load_state_dict`` returns: ``(missing_keys, unexpected_keys)``, as torch's."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def copy_like(value, like):
    """A fresh copy of `value` in the library, device and dtype of `like`."""
    return asarray_like(np.array(to_numpy(value), copy=True), like)


def _dtype_name(dtype) -> str | None:
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return dtype
    if type(dtype).__module__ == "torch":
        return str(dtype).split(".")[-1]
    return np.dtype(dtype).name


def _is_float(a) -> bool:
    if is_torch(a):
        return a.is_floating_point()
    return np.issubdtype(np.dtype(str(a.dtype)), np.floating)


def convert(a, device, dtype):
    """`a` on `device` (see Module.to) with floating-point arrays cast to `dtype`."""
    name = _dtype_name(dtype) if _is_float(a) else None
    if (device is None and not is_torch(a)) or (isinstance(device, str) and device == "numpy"):
        out = to_numpy(a)
        return out.astype(name) if name is not None else out
    import torch

    t = a if is_torch(a) else torch.from_numpy(np.array(to_numpy(a), order="C"))
    if device is None:
        device = t.device
    elif isinstance(device, str) and device == "torch":
        device = "cpu"
    return t.to(device=torch.device(device), dtype=getattr(torch, name) if name else None)
