"""Modules made of modules: a chain, a skip connection, parallel branches.

Each container's backward is the chain rule for its wiring:

* Sequential: y = f_n(...f_1(x)), so the gradient flows through the layers in reverse.
* Residual: y = body(x) + shortcut(x), so dx = body.backward(dy) + shortcut.backward(dy)
  (a variable used twice receives the sum of both gradients).
* Concat: y = cat([b_1(x), ..., b_k(x)], dim), so dy is split along dim into the
  branches' pieces and dx is the sum of the branches' input gradients.
"""

from __future__ import annotations

from cnnlib.backend import namespace
from cnnlib.nn.linear import Identity
from cnnlib.nn.module import Module

__all__ = ["Sequential", "Residual", "Concat"]


def _check_modules(modules, fn):
    for i, m in enumerate(modules):
        if not isinstance(m, Module):
            raise TypeError(f"{fn}: argument {i} must be a Module, got {type(m).__name__}")


class Sequential(Module):
    """Layers applied one after another; children are named "0", "1", ... like torch's."""

    def __init__(self, *layers):
        super().__init__()
        _check_modules(layers, "Sequential")
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def __getitem__(self, index):
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, layer):
        _check_modules([layer], "Sequential.append")
        self.add_module(str(len(self)), layer)
        return self

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        self.out = x
        return x

    def backward(self, dout):
        self._check_dout(dout)
        for layer in reversed(list(self._modules.values())):
            dout = layer.backward(dout)
        return dout


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
        main, skip = self.body(x), self.shortcut(x)
        if tuple(main.shape) != tuple(skip.shape):
            raise ValueError(
                f"Residual: body output {tuple(main.shape)} and shortcut output "
                f"{tuple(skip.shape)} differ; use a shortcut that matches (e.g. a 1x1 conv)"
            )
        self.out = main + skip
        return self.out

    def backward(self, dout):
        self._check_dout(dout)
        return self.body.backward(dout) + self.shortcut.backward(dout)


class Concat(Module):
    """Branches applied to the same input, outputs joined along `dim` (channels by default)."""

    def __init__(self, *branches, dim=1):
        super().__init__()
        _check_modules(branches, "Concat")
        if not branches:
            raise ValueError("Concat: needs at least one branch")
        self.dim = dim
        for i, b in enumerate(branches):
            self.add_module(str(i), b)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x):
        outs = [b(x) for b in self._modules.values()]
        xp = namespace(*outs, fn="Concat")
        self.sizes = [o.shape[self.dim] for o in outs]
        self.out = xp.concat(outs, axis=self.dim)
        return self.out

    def backward(self, dout):
        self._check_dout(dout)
        dim = self.dim % dout.ndim
        dx, start = None, 0
        for branch, size in zip(self._modules.values(), self.sizes):
            index = (slice(None),) * dim + (slice(start, start + size),)
            g = branch.backward(dout[index])
            dx = g if dx is None else dx + g
            start += size
        return dx
