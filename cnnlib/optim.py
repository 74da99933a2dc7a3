"""Optimizers: update each Parameter from its gradient, with torch.optim's exact rules.

``step()`` reads ``p.grad`` for every parameter that has one and changes ``p.data`` in place;
``zero_grad()`` clears the gradients before the next backward pass.
"""

from __future__ import annotations

import math

import numpy as np

from cnnlib.backend import asarray_like, is_torch, to_numpy
from cnnlib.nn.parameter import Parameter

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Holds the parameter list and per-parameter state (momentum buffers, moments)."""

    def __init__(self, params, defaults: dict):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, "
                    "expected nn.Parameter (pass model.parameters())"
                )
        self.defaults = defaults
        self.state = [{} for _ in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None if set_to_none or p.grad is None else p.grad * 0

    def step(self) -> None:
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p, p.grad, state)

    def _update(self, p, grad, state) -> None:
        raise NotImplementedError

    # ----- saving and resuming ----------------------------------------------------------
    def state_dict(self) -> dict:
        """The hyperparameters and per-parameter state, laid out as in torch.optim.

        ``{"state": {i: {"momentum_buffer": ...} or {"step": t, "exp_avg": ..., ...}},
        "param_groups": [{**hyperparameters, "params": [0, 1, ...]}]}``: parameter i is the
        i-th of the list the optimizer was built with; parameters without state are left
        out. Arrays are NumPy copies, so the dict pickles without torch.
        """
        state = {
            i: {k: (np.array(to_numpy(v)) if _is_array(v) else v) for k, v in s.items()}
            for i, s in enumerate(self.state)
            if s
        }
        group = dict(self.defaults, params=list(range(len(self.params))))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict` saved; arrays follow each parameter's library and device."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            sizes = [len(g["params"]) for g in groups]
            raise ValueError(
                f"{name}.load_state_dict: the saved state has parameter groups of sizes {sizes}, "
                f"but this optimizer has one group of {len(self.params)} parameters"
            )
        hyper = {k: v for k, v in groups[0].items() if k != "params"}
        unknown = sorted(set(hyper) - set(self.defaults))
        if unknown:
            raise ValueError(f"{name}.load_state_dict: unknown hyperparameters {unknown}")
        for k, v in hyper.items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
            self.defaults[k] = getattr(self, k)
        self.state = [{} for _ in self.params]
        for i, s in state_dict["state"].items():
            p = self.params[int(i)].data
            self.state[int(i)] = {
                k: (asarray_like(np.array(to_numpy(v), copy=True), p) if _is_array(v) else v)
                for k, v in s.items()
            }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


def _is_array(v) -> bool:
    return is_torch(v) or isinstance(v, np.ndarray) or hasattr(v, "__array_namespace__")


def _check(name, value, fn, low=0.0):
    if not value >= low:
        raise ValueError(f"{fn}: invalid {name} {value} (must be >= {low})")


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as torch.optim.SGD.

    g = grad + weight_decay * p
    buf = g on the first step, then buf = momentum * buf + (1 - dampening) * g
    d = g + momentum * buf (nesterov) or buf (momentum > 0) or g
    p = p - lr * d
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        _check("lr", lr, "SGD")
        _check("momentum", momentum, "SGD")
        _check("weight_decay", weight_decay, "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening = 0")
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, state) -> None:
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * p.data
        if self.momentum != 0:
            if "momentum_buffer" not in state:
                buf = grad * 1  # a copy
            else:
                buf = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * grad
            state["momentum_buffer"] = buf
            grad = grad + self.momentum * buf if self.nesterov else buf
        p.data -= self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as torch.optim.Adam (without amsgrad).

    g = grad + weight_decay * p;  m = m + (1 - b1) (g - m);  v = b2 v + (1 - b2) g^2
    p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _check("lr", lr, "Adam")
        _check("eps", eps, "Adam")
        _check("weight_decay", weight_decay, "Adam")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Adam: invalid beta parameter at index {i}: {b}")
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _update(self, p, grad, state) -> None:
        b1, b2 = self.betas
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * p.data
        if "step" not in state:
            state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, grad * 0, grad * 0
        state["step"] += 1
        t = state["step"]
        state["exp_avg"] = state["exp_avg"] + (1 - b1) * (grad - state["exp_avg"])
        state["exp_avg_sq"] = b2 * state["exp_avg_sq"] + (1 - b2) * grad * grad
        step_size = self.lr / (1 - b1**t)
        denom = state["exp_avg_sq"] ** 0.5 / math.sqrt(1 - b2**t) + self.eps
        p.data -= step_size * state["exp_avg"] / denom
