"""The optimizer base class: parameter groups, per-parameter state, saving and resuming.

An optimizer holds ``param_groups``, a list of dicts: each has ``"params"`` (a list of
``Parameter``) and the group's hyperparameters (``"lr"``, ``"weight_decay"``, ...), which
may differ between groups and may be changed during training (a learning-rate scheduler
does exactly that). ``state[p]`` keeps what the update rule remembers for parameter ``p``
(a momentum buffer, Adam's moment estimates). ``step()`` updates, in place, every
parameter whose ``.grad`` is not None; a frozen parameter (``requires_grad=False``) never
gets a gradient, so it is skipped.

``state_dict()`` has torch.optim's layout, with parameters numbered in group order::

    {"state": {0: {"momentum_buffer": array}, ...},
     "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}, {"lr": 0.01, ..., "params": [2]}]}
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import defaultdict
from itertools import chain
from numbers import Real

import numpy as np

from cnnlib.backend import asarray_like, is_torch, namespace, to_numpy
from cnnlib.nn.parameter import Parameter

__all__ = ["Optimizer"]

# torch's implementation switches: cnnlib has one plain update per parameter. `foreach`
# (loop vs. batched kernels) gives the same numbers either way, so any value is accepted;
# the others change what is computed and only their defaults are.
_SWITCHES = ("fused", "differentiable", "capturable")


class Optimizer:
    """Base class: `params` is an iterable of Parameters, of (name, Parameter) pairs, or of
    dicts that each define a parameter group; `defaults` fills each group's missing
    hyperparameters. Subclasses implement ``_update(p, grad, state, group)`` and
    ``_check_group(group)``.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        name = type(self).__name__
        if isinstance(params, (Parameter, dict)) or _is_array(params):
            raise TypeError(
                f"{name}: params must be an iterable of Parameters or dicts, got a single "
                f"{type(params).__name__} (pass model.parameters(), [p] or [group])"
            )
        # a set is refused by add_param_group, which says why
        groups = [{"params": params}] if isinstance(params, set) else list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Append a group (a dict with ``"params"`` and optional hyperparameters); the
        hyperparameters it leaves out take the constructor's values. Fine-tuning uses it to
        start training layers that were frozen."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                f"{name}: parameters must come in an ordered collection (a list), not a set, "
                "whose order changes between runs"
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError(f"{name}: give every parameter a name, or none of them")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{name}: parameter {i} of group {len(self.param_groups)} is a "
                    f"{type(p).__name__}, expected nn.Parameter (pass model.parameters())"
                )
        param_group["params"] = params
        if names:
            param_group["param_names"] = names
        for key, value in self.defaults.items():
            param_group.setdefault(key, value)
        self._check_group(param_group)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(f"{name}: a parameter group lists a parameter twice", stacklevel=2)
        for group in self.param_groups:
            if ("param_names" in group) != bool(names):
                raise ValueError(f"{name}: all parameter groups must be named, or none")
            if {id(p) for p in group["params"]} & {id(p) for p in params}:
                raise ValueError(f"{name}: some parameters appear in more than one group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every gradient: ``.grad = None`` (default), or zeros of the same shape."""
        for p in self._params():
            if p.grad is not None:
                p.grad = None if set_to_none else namespace(p.grad).zeros_like(p.grad)

    def step(self, closure=None):
        """Update every parameter that has a gradient; `closure` (optional) recomputes the
        loss first and its value is returned."""
        loss = None if closure is None else closure()
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is not None:
                    self._check_grad(p, f"parameter {i} of group {g}")
                    self._update(p, p.grad, self.state[p], group)
        self._opt_called = True  # lets a learning-rate scheduler check the call order
        return loss

    def _update(self, p, grad, state: dict, group: dict) -> None:
        raise NotImplementedError

    def _check_group(self, group: dict) -> None:
        """Reject invalid hyperparameters (subclasses add their own rules)."""
        for switch in _SWITCHES:
            if group.get(switch):
                raise ValueError(
                    f"{type(self).__name__}: {switch}={group[switch]!r} is not supported; "
                    f"cnnlib updates each parameter with plain array operations, so leave "
                    f"{switch} at its default"
                )

    def _check_grad(self, p, where: str) -> None:
        if tuple(p.grad.shape) != tuple(p.data.shape) or p.grad.dtype != p.data.dtype:
            raise ValueError(
                f"{type(self).__name__}.step: {where} has shape {tuple(p.data.shape)} and "
                f"dtype {p.data.dtype} but its .grad has shape {tuple(p.grad.shape)} and dtype "
                f"{p.grad.dtype}; a gradient must match its parameter"
            )

    def _params(self):
        return chain.from_iterable(g["params"] for g in self.param_groups)

    # ----- saving and resuming ----------------------------------------------------------
    def state_dict(self) -> dict:
        """The hyperparameters and per-parameter state in torch.optim's layout (see above).

        Parameters are numbered in the order of the groups; parameters without state are
        left out. Arrays are NumPy copies, so the dict pickles without torch and later
        steps do not change it.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            start = len(index)
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            (index[id(p)] if isinstance(p, Parameter) else p): {
                k: (np.array(to_numpy(v)) if _is_array(v) else copy.deepcopy(v))
                for k, v in s.items()
            }
            for p, s in self.state.items()
            if s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict` saved (from cnnlib, or torch's with tensors or NumPy
        arrays): the groups' hyperparameters replace the current ones, and each saved array
        becomes an array of its parameter's library, device and dtype."""
        name = f"{type(self).__name__}.load_state_dict"
        saved = copy.deepcopy(state_dict["param_groups"])
        own = [len(g["params"]) for g in self.param_groups]
        theirs = [len(g["params"]) for g in saved]
        if own != theirs:
            raise ValueError(
                f"{name}: the saved parameter groups hold {theirs} parameters, but this "
                f"optimizer's groups hold {own}; build the optimizer over the same parameters"
            )
        params = dict(zip(chain.from_iterable(g["params"] for g in saved), self._params()))
        state: defaultdict = defaultdict(dict)
        for key, values in state_dict["state"].items():
            p = params.get(key)
            if p is None:
                state[key] = copy.deepcopy(values)
                continue
            state[p] = {
                k: _restore(v, k, p, f"{name}: state[{key}][{k!r}]") for k, v in values.items()
            }
        for group, new in zip(self.param_groups, saved):
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            for key, value in self.defaults.items():  # a state saved before a key existed
                new.setdefault(key, value)
            self._check_group(new)
        self.param_groups, self.state = saved, state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _is_array(v) -> bool:
    return is_torch(v) or isinstance(v, np.ndarray) or hasattr(v, "__array_namespace__")


def _restore(value, key, p, where: str):
    """A saved state entry for parameter `p`: the step count as a Python number, arrays of
    p's shape as arrays like p.data (torch's rule: floating arrays take p's dtype)."""
    if not _is_array(value):
        return copy.deepcopy(value)
    array = np.array(to_numpy(value), copy=True)
    if key == "step":
        t = float(array)
        return int(t) if t.is_integer() else t
    if array.shape != tuple(p.data.shape):
        raise ValueError(
            f"{where} has shape {array.shape} but its parameter has shape {tuple(p.data.shape)}"
        )
    return asarray_like(array, p.data)


def _floats(group: dict, *keys) -> tuple:
    """The group's hyperparameters as Python floats: a NumPy float64 scalar would otherwise
    turn float32 state into float64."""
    return tuple(float(group[k]) for k in keys)


def _check_number(fn: str, name: str, value, low: float = 0.0, high: float = math.inf):
    """`value` must be a real number with low <= value < high (high exclusive)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(value).__name__}")
    if not low <= value < high:
        bound = f"in [{low}, {high})" if high < math.inf else f">= {low}"
        raise ValueError(f"{fn}: invalid {name} {value} (must be {bound})")
