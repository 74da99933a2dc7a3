"""The base class of every layer: parameters, buffers, sub-modules, forward and backward.

A ``Module`` follows torch's bookkeeping. Assigning a ``Parameter`` or a ``Module`` to an
attribute registers it (``self.weight = Parameter(...)``), so ``parameters()`` yields the
parameters in registration order (a layer's weight before its bias, then its children's).
``register_buffer`` records state that is saved but not trained (BatchNorm's running
statistics). What torch's autograd does for you is spelled out here instead: ``forward(x)``
keeps a cache, ``backward(dout)`` adds each parameter's gradient to ``Parameter.grad`` and
returns the gradient of the input.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from cnnlib.backend import asarray_like, is_torch, to_numpy
from cnnlib.nn.parameter import Parameter

__all__ = ["Module"]


class Module:
    """Base class of layers and models.

    Subclasses implement ``forward(x)`` (store what backward needs, set ``self.out``,
    return the output) and ``backward(dout)`` (accumulate parameter gradients, return dx).
    ``module(x)`` calls ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "out", None)
        object.__setattr__(self, "cache", None)

    # ----- registration -------------------------------------------------------------
    def _registry(self, name):
        if "_parameters" not in self.__dict__:
            Module.__init__(self)
        return self.__dict__[name]

    def __setattr__(self, name, value):
        params, buffers, modules = (
            self._registry(k) for k in ("_parameters", "_buffers", "_modules")
        )
        if isinstance(value, (Parameter, Module)):
            for d in (params, buffers, modules, self.__dict__):
                d.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in params or name in modules:  # only None may replace these
            if value is not None:
                kind = "parameter" if name in params else "sub-module"
                raise TypeError(
                    f"cannot assign {type(value).__name__} as {kind} '{name}' of "
                    f"{type(self).__name__} (use nn.Parameter / a Module, or None)"
                )
            (params if name in params else modules)[name] = None
        elif name in buffers:
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param) -> None:
        """Register `param` (a Parameter or None) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None")
        self.__dict__.pop(name, None)
        self._registry("_parameters")[name] = param

    def register_buffer(self, name: str, array) -> None:
        """Register `array` as saved, non-trained state (it appears in ``state_dict``)."""
        self.__dict__.pop(name, None)
        self._registry("_buffers")[name] = array

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        self.__dict__.pop(name, None)
        self._registry("_modules")[name] = module

    # ----- forward and backward -------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _check_dout(self, dout):
        """Raise a clear error if backward comes before forward or `dout` has the wrong shape."""
        name = type(self).__name__
        if self.out is None:
            raise RuntimeError(f"{name}.backward called before forward: run {name}(x) first")
        if tuple(dout.shape) != tuple(self.out.shape):
            raise ValueError(
                f"{name}.backward: dout has shape {tuple(dout.shape)} but the forward output "
                f"had shape {tuple(self.out.shape)}"
            )
        return dout

    # ----- traversal ----------------------------------------------------------------
    def named_children(self):
        for name, m in self._registry("_modules").items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(name, Parameter) pairs: this module's in registration order, then its children's."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, m in mods:
            for name, p in m._registry("_parameters").items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for mod_name, m in self.named_modules(prefix):
            for name, b in m._registry("_buffers").items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    # ----- modes and gradients ---------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (BatchNorm uses batch statistics, Dropout drops) for every module."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad * 0

    # ----- saving and loading ---------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Parameter values and buffers by dotted name, as in torch (the arrays, not copies)."""
        out = OrderedDict()
        for mod_name, m in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name, p in m._registry("_parameters").items():
                if p is not None:
                    out[pre + name] = p.data
            for name, b in m._registry("_buffers").items():
                if b is not None:
                    out[pre + name] = b
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from `state_dict` (NumPy arrays or torch tensors, e.g. a torch model's).

        Each value is converted to the library, device and dtype of the array it replaces.
        Raises RuntimeError listing missing keys, unexpected keys and shape mismatches.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = [
            f"{k}: checkpoint has shape {tuple(state_dict[k].shape)}, "
            f"the model has {tuple(own[k].shape)}"
            for k in own
            if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)
        ]
        errors = wrong + (
            [f"missing keys: {missing}", f"unexpected keys: {unexpected}"] if strict else []
        )
        errors = [e for e in errors if not e.endswith(": []")]
        if errors:
            raise RuntimeError(
                f"load_state_dict for {type(self).__name__} failed:\n  " + "\n  ".join(errors)
            )
        for mod_name, m in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name, p in m._registry("_parameters").items():
                if p is not None and pre + name in state_dict:
                    p.data = _copy_like(state_dict[pre + name], p.data)
            for name, b in m._registry("_buffers").items():
                if b is not None and pre + name in state_dict:
                    m._buffers[name] = _copy_like(state_dict[pre + name], b)
        return self

    # ----- moving between libraries, devices and dtypes -----------------------------------
    def to(self, device=None, dtype=None):
        """Convert every parameter (and its gradient) and buffer; returns self.

        device: "numpy", "torch" (CPU), "cpu", "cuda", "cuda:1" or a torch.device; None
        keeps each array's library and device. dtype: a NumPy or torch dtype or its name
        ("float64"); it applies to floating-point arrays only, as in torch.
        """
        for m in self.modules():
            for p in m._registry("_parameters").values():
                if p is not None:
                    p.data = _convert(p.data, device, dtype)
                    if p.grad is not None:
                        p.grad = _convert(p.grad, device, dtype)
            for name, b in m._registry("_buffers").items():
                if b is not None:
                    m._buffers[name] = _convert(b, device, dtype)
        return self

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    def cuda(self):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def numpy(self):
        return self.to("numpy")

    # ----- printing -------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra and self._modules else []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _copy_like(value, like):
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


def _convert(a, device, dtype):
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
