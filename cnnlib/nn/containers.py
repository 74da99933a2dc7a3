"""Modules made of modules: a chain, a list, a dict, a skip connection, parallel branches.

Each container's backward is the chain rule for its wiring:

* Sequential: y = f_n(...f_1(x)), so the gradient flows through the layers in reverse.
* Residual: y = body(x) + shortcut(x), so dx = body.backward(dy) + shortcut.backward(dy)
  (a variable used twice receives the sum of both gradients).
* Concat: y = cat([b_1(x), ..., b_k(x)], dim), so dy is split along dim into the
  branches' pieces and dx is the sum of the branches' input gradients.

Backward always visits the children in the reverse of the order forward called them: a
layer shared by two places pops its caches last-in first-out (see ``nn._graph``), so
each of its backward calls meets the cache of the matching forward call.
ModuleList and ModuleDict only hold modules (registered, so their parameters are found);
a model's own forward decides how to call them.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

from cnnlib.backend import namespace
from cnnlib.functional._inplace import shared_input
from cnnlib.nn.linear import Identity
from cnnlib.nn.module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "Residual", "Concat"]


def _check_modules(modules, fn):
    for i, m in enumerate(modules):
        if not isinstance(m, Module):
            raise TypeError(f"{fn}: argument {i} must be a Module, got {type(m).__name__}")


class _Indexed(Module):
    """Children named "0", "1", ... with list-style access (Sequential, ModuleList)."""

    def _index(self, idx) -> int:
        n, i = len(self), operator.index(idx)
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for {n}")
        return i % n

    def _key(self, idx) -> str:
        return list(self._modules)[self._index(idx)]

    def _renumber(self) -> None:
        modules = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx, module) -> None:
        _check_modules([module], f"{type(self).__name__}.__setitem__")
        self.add_module(self._key(idx), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        for key in keys[idx] if isinstance(idx, slice) else [self._key(idx)]:
            del self._modules[key]
        self._renumber()

    def append(self, module):
        _check_modules([module], f"{type(self).__name__}.append")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module):
        _check_modules([module], f"{type(self).__name__}.insert")
        modules = list(self._modules.values())
        modules.insert(operator.index(index), module)
        self._modules.clear()
        self.extend(modules)
        return self

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def __add__(self, other):
        return self._new([*self, *other])

    def __iadd__(self, other):
        return self.extend(other)


class Sequential(_Indexed):
    """Layers applied one after another; children are named "0", "1", ... like torch's, or
    by the keys of one OrderedDict: ``Sequential(OrderedDict(conv=..., relu=...))``."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            _check_modules(list(args[0].values()), "Sequential")
            for name, layer in args[0].items():
                self.add_module(name, layer)
            return
        _check_modules(args, "Sequential")
        for i, layer in enumerate(args):
            self.add_module(str(i), layer)

    @staticmethod
    def _new(modules):
        return Sequential(*modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):  # keeps the children's names, as torch does
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key(idx)]

    def __mul__(self, other: int):
        n = operator.index(other)
        if n < 1:
            raise ValueError(f"Sequential: can only be multiplied by a positive int, got {n}")
        return self._new(list(self) * n)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        self.out = x
        return x

    def backward(self, dout):
        for layer in reversed(list(self._modules.values())):
            dout = layer.backward(dout)
        return dout


class ModuleList(_Indexed):
    """A list of modules whose parameters are registered ("0", "1", ...); no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @staticmethod
    def _new(modules):
        return ModuleList(modules)

    def __repr__(self) -> str:
        """torch's: a run of equal children prints once, as "(1-3): 3 x Linear(...)"."""
        runs = []  # [first index, last index, repr]
        for i, m in enumerate(self):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        if not runs:
            return "ModuleList()"
        lines = [
            (f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + t.replace("\n", "\n  ")
            for a, b, t in runs
        ]
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered by key; no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str):
        return self._modules[key]

    def __setitem__(self, key: str, module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {key!r}")
        _check_modules([module], f"ModuleDict[{key!r}]")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            key, module = pair
            self[key] = module


class Residual(Module):
    """out = body(x) + shortcut(x), with the identity shortcut when `shortcut` is None.

    No activation is applied after the sum; put one after the block if you want ResNet's.
    """

    def __init__(self, body, shortcut=None):
        super().__init__()
        _check_modules([body] + ([] if shortcut is None else [shortcut]), "Residual")
        self.body = body
        self.shortcut = Identity() if shortcut is None else shortcut

    def forward(self, x):
        with shared_input(x, "Residual"):  # no in-place write into x: both branches read it
            main, skip = self.body(x), self.shortcut(x)
        if tuple(main.shape) != tuple(skip.shape):
            raise ValueError(
                f"Residual: body output {tuple(main.shape)} and shortcut output "
                f"{tuple(skip.shape)} differ; use a shortcut that matches (e.g. a 1x1 conv)"
            )
        self.out = main + skip
        return self.out

    def backward(self, dout):
        d_skip = self.shortcut.backward(dout)  # forward ran body first: backward it last
        return self.body.backward(dout) + d_skip


def _check_joinable(outs, dim):
    """Concat's branches must agree on every axis but `dim` (torch.cat's rule)."""
    shapes = [tuple(o.shape) for o in outs]
    ndim = len(shapes[0])
    if any(len(s) != ndim for s in shapes) or not -ndim <= dim < ndim:
        raise ValueError(
            f"Concat: every branch must return an array with the same number of axes, "
            f"and dim={dim} must be one of them; the branches returned shapes {shapes}"
        )
    axis = dim % ndim
    trimmed = {s[:axis] + s[axis + 1 :] for s in shapes}
    if len(trimmed) > 1:
        raise ValueError(
            f"Concat: the branches' outputs must have equal sizes on every axis except "
            f"dim={dim}, got shapes {shapes} (a skip connection whose two sides were pooled "
            "and upsampled to different sizes gives this: pad or crop one side)"
        )


class ConcatCache(NamedTuple):
    sizes: tuple  # each branch's width along dim


class Concat(Module):
    """Branches applied to the same input, outputs joined along `dim` (channels by default)."""

    def __init__(self, *branches, dim=1):
        super().__init__()
        _check_modules(branches, "Concat")
        if not branches:
            raise ValueError("Concat: needs at least one branch")
        self.dim = operator.index(dim)
        for i, b in enumerate(branches):
            self.add_module(str(i), b)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x):
        with shared_input(x, "Concat"):  # no in-place write into x: every branch reads it
            outs = [b(x) for b in self._modules.values()]
        xp = namespace(*outs, fn="Concat")
        _check_joinable(outs, self.dim)
        self.cache = ConcatCache(tuple(o.shape[self.dim] for o in outs))
        self.out = xp.concat(outs, axis=self.dim)
        return self.out

    def backward(self, dout):
        dim = self.dim % dout.ndim
        starts = [sum(self.cache.sizes[:i]) for i in range(len(self.cache.sizes))]
        pieces = list(zip(self._modules.values(), starts, self.cache.sizes))
        dx = None
        for branch, start, size in reversed(pieces):  # the reverse of forward's order
            index = (slice(None),) * dim + (slice(start, start + size),)
            g = branch.backward(dout[index])
            dx = g if dx is None else dx + g
        return dx
