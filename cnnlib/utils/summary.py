"""A layer-by-layer table of a model: output shapes, parameters, MACs and receptive field.

Shapes are propagated with each layer type's output-size formula, without running the
network, so even VGG-16 at 224x224 is summarised instantly. Layers the table does not know
are run once on a zero batch of one to learn their output shape.

Conventions:

* MACs (multiply-accumulates) per image count only convolutions and fully connected
  layers: a conv producing (C_out, H_out, W_out) costs C_out H_out W_out (C_in/groups) kH kW.
* Receptive field r and jump j (the input-pixel distance between neighbouring outputs)
  follow the conv/pool path: a layer with kernel k, dilation d and stride s gives
  r <- r + d (k - 1) j and j <- j s (along the height). Branches (Residual, Concat)
  take the largest r.
  After an adaptive pool that changes the size, Flatten or Linear, every output sees
  the whole input ("-"). A Linear on a channels-last map (H, W, C), as in ConvNeXt's
  block, acts on each position alone and keeps the field.

Wiring: a Sequential (or a subclass, such as the models of ``cnnlib.models``) is walked
child by child; Residual and Concat branch. A block with other wiring (BasicBlock,
Inception, DenseLayer, SqueezeExcitation, ...) describes it in ``_summary_plan()``, built
from the names of its children:

* ``"conv1"``: the child of that name (None, as a missing downsample, is the identity;
  a Parameter, as ConvNeXt's layer_scale, is a row of its own that keeps the shape);
* ``[p1, p2, ...]``: one after the other (``[]`` is the identity);
* ``("+", p1, p2, ...)``, ``("cat", ...)``, ``("*", ...)``: each applied to the same
  input, the outputs added, concatenated along the channels, or multiplied (broadcast);
* ``("side", p)``: a branch whose output leaves the network (an auxiliary classifier):
  its rows are listed, the main path goes on with its input.
"""

from __future__ import annotations

import math
from html import escape
from typing import NamedTuple

import numpy as np

__all__ = ["summary", "Summary", "Row"]

_ELEMENTWISE = {
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ScaledTanh", "Dropout", "BatchNorm2d",
    "BatchNorm1d", "LocalResponseNorm", "Identity", "Softmax", "LogSoftmax", "ReLU6",
    "Hardsigmoid", "Hardswish", "SiLU", "GELU", "LayerNorm", "LayerNorm2d", "GroupNorm",
    "StochasticDepth",
}  # fmt: skip
_POOLS = {"MaxPool2d", "AvgPool2d", "Subsample"}


class Row(NamedTuple):
    """One leaf layer; shape excludes the batch axis; rf/jump are None off the conv path."""

    name: str
    kind: str
    shape: tuple
    params: int
    macs: int
    rf: int | None
    jump: int | None


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _n_params(module, recurse=True):
    ps = module.parameters() if recurse else []
    return sum(math.prod(tuple(p.data.shape)) for p in ps)


def _children(module):
    if hasattr(module, "named_children"):
        return list(module.named_children())
    return list(getattr(module, "_modules", {}).items())


def _window_out(size, k, s, p, d, ceil_mode=False):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # torch: the last window must start inside
        out -= 1
    return out


class Summary:
    """The result of `summary`: `rows`, totals, a text table (`str`) and an HTML table."""

    def __init__(self, rows, input_shape, output_shape, total_params, trainable_params):
        self.rows = rows
        self.input_shape, self.output_shape = input_shape, output_shape
        self.total_params, self.trainable_params = total_params, trainable_params
        self.total_macs = sum(r.macs for r in rows)

    def __getitem__(self, name):
        """The row of the layer called `name` (as in named_modules)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def _cells(self):
        head = ["layer", "type", "output shape", "params", "MACs", "RF", "jump"]
        body = [
            [r.name, r.kind, str(r.shape), f"{r.params:,}", f"{r.macs:,}",
             "-" if r.rf is None else str(r.rf), "-" if r.jump is None else str(r.jump)]
            for r in self.rows
        ]  # fmt: skip
        foot = [
            f"input {self.input_shape} -> output {self.output_shape}",
            f"parameters: {self.total_params:,} (trainable {self.trainable_params:,})",
            f"MACs per image: {self.total_macs:,}",
        ]
        return head, body, foot

    def __str__(self):
        head, body, foot = self._cells()
        widths = [max(len(c) for c in col) for col in zip(head, *body)]
        right = [False, False, False, True, True, True, True]

        def line(cells):
            return "  ".join(
                c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)
            ).rstrip()

        rule = "-" * len(line(head))
        return "\n".join([line(head), rule, *map(line, body), rule, *foot])

    __repr__ = __str__

    def _repr_html_(self):
        head, body, foot = self._cells()
        th = "".join(f"<th>{escape(h)}</th>" for h in head)
        trs = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>" for cells in body
        )
        return (
            f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"
            f"<p>{'<br>'.join(escape(f) for f in foot)}</p>"
        )


class _Walker:
    def __init__(self):
        self.rows = []

    def walk(self, module, shape, rf, name):
        kind = type(module).__name__
        children = _children(module)
        if hasattr(module, "_summary_plan"):
            return self.plan(module, module._summary_plan(), shape, rf, name)
        if any(c.__name__ == "Sequential" for c in type(module).__mro__):
            for child_name, child in children:
                shape, rf = self.walk(child, shape, rf, f"{name}.{child_name}".lstrip("."))
            return shape, rf
        if kind in ("Residual", "Concat"):
            outs = []
            for child_name, child in children:
                outs.append(self.walk(child, shape, rf, f"{name}.{child_name}".lstrip(".")))
            if kind == "Residual":
                if len(outs) == 1:  # identity shortcut held implicitly
                    outs.append((shape, rf))
                out_shape = outs[0][0]
            else:
                dim = getattr(module, "dim", 1) - 1  # shapes here exclude the batch axis
                out_shape = list(outs[0][0])
                out_shape[dim] = sum(s[dim] for s, _ in outs)
                out_shape = tuple(out_shape)
            rfs = [r for _, r in outs]
            if any(r is None for r in rfs):
                return out_shape, None
            return out_shape, (max(r[0] for r in rfs), max(r[1] for r in rfs))
        out_shape, macs, window = self.leaf(module, kind, shape)
        if isinstance(window, str):  # "same": elementwise layers keep the field
            new_rf = rf
        elif window is None or rf is None:
            new_rf = None
        else:
            k, s, d = window
            new_rf = (rf[0] + d * (k - 1) * rf[1], rf[1] * s)
        self.rows.append(
            Row(name or kind, kind, tuple(out_shape), _n_params(module), int(macs),
                None if new_rf is None else new_rf[0], None if new_rf is None else new_rf[1])
        )  # fmt: skip
        return tuple(out_shape), new_rf

    def plan(self, module, plan, shape, rf, name):
        """Walk `module` along its `_summary_plan` (see the module docstring)."""
        if isinstance(plan, str):
            child, child_name = getattr(module, plan), f"{name}.{plan}".lstrip(".")
            if child is None:
                return shape, rf
            if not hasattr(child, "named_children"):  # a Parameter, e.g. a layer scale
                n = math.prod(tuple(child.data.shape))
                self.rows.append(Row(child_name, "Parameter", tuple(shape), n, 0,
                                     None if rf is None else rf[0],
                                     None if rf is None else rf[1]))  # fmt: skip
                return shape, rf
            return self.walk(child, shape, rf, child_name)
        if isinstance(plan, list):
            for step in plan:
                shape, rf = self.plan(module, step, shape, rf, name)
            return shape, rf
        op, *parts = plan
        outs = [self.plan(module, part, shape, rf, name) for part in parts]
        if op == "side":
            return shape, rf
        shapes = [s for s, _ in outs]
        if op == "cat":
            out_shape = (sum(s[0] for s in shapes), *shapes[0][1:])
        elif op == "*":
            out_shape = tuple(np.broadcast_shapes(*shapes))
        else:  # "+"
            out_shape = shapes[0]
        rfs = [r for _, r in outs]
        if any(r is None for r in rfs):
            return out_shape, None
        return out_shape, (max(r[0] for r in rfs), max(r[1] for r in rfs))

    def leaf(self, m, kind, shape):
        """(output shape, MACs, window) with window (k, s, d), "same" (no change) or None."""
        if kind in _ELEMENTWISE:
            return shape, 0, "same"
        if kind == "Linear":
            return (
                (*shape[:-1], m.out_features),
                math.prod(shape[:-1]) * m.in_features * m.out_features,
                "same" if len(shape) >= 3 else None,  # channels-last: per position
            )
        if kind == "Permute":
            return tuple(shape[d - 1] for d in m.dims[1:]), 0, "same"
        if kind == "RBF":
            n_out = m.centres.shape[0]
            return (*shape[:-1], n_out), math.prod(shape) * n_out, None
        if kind == "Flatten":
            start = getattr(m, "start_dim", 1) - 1
            return (*shape[:start], math.prod(shape[start:])), 0, None
        if kind in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
            oh, ow = _pair(m.output_size)
            oh = shape[1] if oh is None else oh
            ow = shape[2] if ow is None else ow
            same = (oh, ow) == tuple(shape[1:])  # an adaptive pool to the input size is a no-op
            return (shape[0], oh, ow), 0, "same" if same else None
        if kind == "ConvTranspose2d":
            (kh, kw), (sh, sw) = _pair(m.kernel_size), _pair(m.stride)
            (ph, pw), (dh, dw) = _pair(m.padding), _pair(m.dilation)
            (oph, opw) = _pair(getattr(m, "output_padding", 0))
            h = (shape[1] - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
            w = (shape[2] - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
            macs = math.prod(shape) * (m.out_channels // m.groups) * kh * kw
            return (m.out_channels, h, w), macs, None
        if hasattr(m, "kernel_size") and (kind in _POOLS or hasattr(m, "out_channels")):
            return self.windowed(m, kind, shape)
        if kind == "Subsample":
            return (shape[0], shape[1] // 2, shape[2] // 2), 0, (2, 2, 1)
        return self.run(m, shape), 0, None

    def windowed(self, m, kind, shape):
        (kh, kw) = _pair(m.kernel_size)
        stride = getattr(m, "stride", None)
        (sh, sw) = _pair(m.kernel_size if stride is None else stride)
        (dh, dw) = _pair(getattr(m, "dilation", 1))
        padding = getattr(m, "padding", 0)
        if padding == "same":  # torch allows it only with stride 1: the size is kept
            h, w = shape[1], shape[2]
        else:
            (ph, pw) = (0, 0) if padding == "valid" else _pair(padding)
            ceil = getattr(m, "ceil_mode", False)
            h = _window_out(shape[1], kh, sh, ph, dh, ceil)
            w = _window_out(shape[2], kw, sw, pw, dw, ceil)
        if kind in _POOLS:
            return (shape[0], h, w), 0, (kh, sh, dh)
        c_out = m.out_channels
        per_pixel = math.prod(tuple(m.weight.data.shape))  # connected inputs x outputs
        return (c_out, h, w), per_pixel * h * w, (kh, sh, dh)

    def run(self, m, shape):
        """Unknown layer: learn its output shape from a forward pass on zeros."""
        was_training = getattr(m, "training", False)
        if hasattr(m, "eval"):
            m.eval()
        params = list(m.parameters()) if hasattr(m, "parameters") else []
        dtype = params[0].data.dtype if params else np.float32
        x = np.zeros((1, *shape), dtype=dtype)
        if params and not isinstance(params[0].data, np.ndarray):
            from cnnlib.backend import asarray_like

            x = asarray_like(x, params[0].data)
        out = m(x)
        if was_training and hasattr(m, "train"):
            m.train()
        return tuple(out.shape[1:])


def summary(model, input_shape) -> Summary:
    """Summarise `model` for inputs of shape `input_shape` = (C, H, W) (or (N, C, H, W)).

    Returns a Summary: `.rows` (one Row per leaf layer: name, type, output shape without
    the batch axis, parameters, MACs per image, receptive field and jump), `.total_params`,
    `.trainable_params`, `.total_macs`, `.output_shape`; print it for a text table.
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 4:
        shape = shape[1:]
    if len(shape) not in (1, 3):
        raise ValueError(
            f"summary: input_shape must be (C, H, W) or (N, C, H, W), got {input_shape}"
        )
    walker = _Walker()
    out_shape, _ = walker.walk(model, shape, (1, 1) if len(shape) == 3 else None, "")
    params = list(model.parameters())
    total = sum(math.prod(tuple(p.data.shape)) for p in params)
    trainable = sum(
        math.prod(tuple(p.data.shape)) for p in params if getattr(p, "requires_grad", True)
    )
    return Summary(walker.rows, shape, out_shape, total, trainable)
