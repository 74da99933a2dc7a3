"""The base class of every layer: parameters, buffers, sub-modules, forward and backward.

A ``Module`` follows torch's bookkeeping. Assigning a ``Parameter`` or a ``Module`` to an
attribute registers it (``self.weight = Parameter(...)``), so ``parameters()`` yields the
parameters in registration order (a layer's weight before its bias, then its children's).
``register_buffer`` records state that is saved but not trained (BatchNorm's running
statistics). What torch's autograd does for you is spelled out here instead: ``forward(x)``
keeps a cache, ``backward(dout)`` adds each parameter's gradient to ``Parameter.grad`` and
returns the gradient of the input. Every call keeps its own cache (see ``nn._graph``), so a
module may be used several times in one forward pass, as in torch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from cnnlib.functional._checks import _check_dout
from cnnlib.nn._graph import graph_backward, graph_forward
from cnnlib.nn._state import _IncompatibleKeys, convert, copy_like
from cnnlib.nn.parameter import Parameter

__all__ = ["Module"]


class Module:
    """Base class of layers and models.

    Subclasses implement ``forward(x)`` (store what backward needs in ``self.cache``, set
    ``self.out``, return the output) and ``backward(dout)`` (read ``self.cache``, accumulate
    parameter gradients, return dx). ``module(x)`` calls ``forward``. Both are wrapped for
    every subclass so that each call's ``(out, cache)`` is kept until its own backward.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, wrap in (("forward", graph_forward), ("backward", graph_backward)):
            fn = cls.__dict__.get(name)
            if callable(fn) and not getattr(fn, "_graph_wrapped", False):
                setattr(cls, name, wrap(fn))

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
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
            own = params if isinstance(value, Parameter) else modules
            for d in (params, buffers, modules, self.__dict__):
                if d is not own:  # as torch: a replaced child keeps its place in order
                    d.pop(name, None)
            own[name] = value
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

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register an array as state that is not trained (saved in ``state_dict`` unless
        `persistent` is False)."""
        self.__dict__.pop(name, None)
        self._registry("_buffers")[name] = tensor
        (set.discard if persistent else set.add)(
            self._registry("_non_persistent_buffers_set"), name
        )

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        self.__dict__.pop(name, None)
        self._registry("_modules")[name] = module

    def register_module(self, name: str, module) -> None:
        self.add_module(name, module)

    # ----- forward and backward -------------------------------------------------------
    def forward(self, *input):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _check_dout(self, dout):
        """Raise a clear error if backward comes before forward or `dout` does not have the
        output's shape and dtype; returns `dout`."""
        name = type(self).__name__
        if self.out is None:
            raise RuntimeError(f"{name}.backward called before forward: run {name}(x) first")
        _check_dout(dout, self.out, f"{name}.backward")
        return dout

    # ----- traversal ----------------------------------------------------------------
    def named_children(self):
        memo = set()
        for name, m in self._registry("_modules").items():
            if m is not None and m not in memo:
                memo.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for this module and every descendant, each module once
        (unless remove_duplicate=False); this module's name is `prefix` ("")."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._registry("_modules").items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                           remove_duplicate)  # fmt: skip

    def modules(self, remove_duplicate: bool = True):
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mod_name, m in mods:
            for name, v in m._registry(registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_name}.{name}" if mod_name else name), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):  # fmt: skip
        """(name, Parameter) pairs: this module's in registration order, then its children's;
        a parameter shared by two layers appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):  # fmt: skip
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str):
        """The module at dotted path `target` ("layer1.0.conv1"); "" is this module."""
        mod = self
        for item in target.split(".") if target else []:
            if not hasattr(mod, item):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str):
        """The Parameter at dotted path `target` ("layer1.0.conv1.weight")."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        if not isinstance(getattr(mod, name), Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return getattr(mod, name)

    def apply(self, fn):
        """Call ``fn(m)`` on every child (recursively), then on this module; returns self.
        Typical use: custom initialisation, ``model.apply(init_weights)``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients ---------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (BatchNorm uses batch statistics, Dropout drops) for every module."""
        if not isinstance(mode, bool):
            raise ValueError(
                f"{type(self).__name__}.train: training mode is expected to be boolean, "
                f"got {mode!r}"
            )
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        """Freeze (False) or unfreeze every parameter: a frozen parameter's backward adds
        nothing, so its ``.grad`` stays None and optimizers skip it. Returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad * 0

    # ----- saving and loading ---------------------------------------------------------
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameter values and persistent buffers by dotted name, as in torch (the arrays,
        not copies; the Parameters themselves with keep_vars=True)."""
        if args:
            raise TypeError("state_dict: pass destination, prefix and keep_vars by keyword")
        out = OrderedDict() if destination is None else destination
        for name, p in self._registry("_parameters").items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.data
        skip = self._registry("_non_persistent_buffers_set")
        for name, b in self._registry("_buffers").items():
            if b is not None and name not in skip:
                out[prefix + name] = b
        for name, m in self._registry("_modules").items():
            if m is not None:
                m.state_dict(destination=out, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from `state_dict` (NumPy arrays or torch tensors, e.g. a torch model's).

        Each value is converted to the library, device and dtype of the array it replaces
        (with assign=True the given array itself is used). Raises RuntimeError naming each
        key whose shape differs, and with strict=True (the default) the missing and
        unexpected keys; nothing is loaded then. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected state_dict to be dict-like (name -> array), "
                f"got {type(state_dict).__name__}"
            )
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k in own:
            if k not in state_dict:
                continue
            value = state_dict[k]
            value = value.data if isinstance(value, Parameter) else value
            if not (hasattr(value, "shape") and hasattr(value, "dtype")):
                raise TypeError(
                    f"load_state_dict: the value for '{k}' must be an array (NumPy or torch), "
                    f"got {type(value).__name__}"
                )
            target = own[k].data if isinstance(own[k], Parameter) else own[k]
            if tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {k}: copying a param with shape {tuple(value.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(target.shape)}."
                )
        if strict:
            listed = {"Missing": missing, "Unexpected": unexpected}
            errors = [
                f"{what} key(s) in state_dict: " + ", ".join(f'"{k}"' for k in keys) + "."
                for what, keys in listed.items()
                if keys
            ] + errors
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        self._load(state_dict, "", assign)
        return _IncompatibleKeys(missing, unexpected)

    def _load(self, state_dict, prefix, assign):
        for name, p in self._registry("_parameters").items():
            if p is not None and prefix + name in state_dict:
                value = state_dict[prefix + name]
                value = value.data if isinstance(value, Parameter) else value
                p.data = value if assign else copy_like(value, p.data)
        skip = self._registry("_non_persistent_buffers_set")
        for name, b in self._registry("_buffers").items():
            if b is not None and name not in skip and prefix + name in state_dict:
                value = state_dict[prefix + name]
                self._buffers[name] = value if assign else copy_like(value, b)
        for name, m in self._registry("_modules").items():
            if m is not None:
                m._load(state_dict, f"{prefix}{name}.", assign)

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
                    p.data = convert(p.data, device, dtype)
                    if p.grad is not None:
                        p.grad = convert(p.grad, device, dtype)
            for name, b in m._registry("_buffers").items():
                if b is not None:
                    m._buffers[name] = convert(b, device, dtype)
        return self

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    def cuda(self, device=None):
        """To the GPU: the current one, or `device` (an index, "cuda:1", a torch.device)."""
        return self.to(f"cuda:{device}" if isinstance(device, int) else device or "cuda")

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
