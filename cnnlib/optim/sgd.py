"""Stochastic gradient descent with momentum, as torch.optim.SGD."""

from __future__ import annotations

from cnnlib.optim.optimizer import Optimizer, _check_number, _floats

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum, as ``torch.optim.SGD``.

    With learning rate lr, momentum mu, dampening tau and weight decay lambda, each step
    updates a parameter theta with gradient g (-g when ``maximize``)::

        g <- g + lambda theta                              (L2 penalty lambda/2 |theta|^2)
        b <- g                         on the first step
        b <- mu b + (1 - tau) g        afterwards          (the momentum buffer)
        d <- g + mu b  (nesterov)  or  b  (mu != 0)  or  g  (mu = 0)
        theta <- theta - lr d

    The buffer is kept per parameter in ``state[p]["momentum_buffer"]`` (only when
    mu != 0). Nesterov's form steps along g + mu b: the gradient plus the momentum the
    next step will add, a look-ahead that damps oscillation.
    ``foreach``, ``differentiable`` and ``fused`` are torch's implementation switches,
    accepted at their defaults.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("lr", "momentum", "weight_decay"):
            _check_number("SGD", name, group[name])
        _check_number("SGD", "dampening", group["dampening"], low=-float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening = 0")

    def _update(self, p, grad, state: dict, group: dict) -> None:
        lr, mu, tau, wd = _floats(group, "lr", "momentum", "dampening", "weight_decay")
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * p.data
        if mu != 0:
            if "momentum_buffer" not in state:
                buf = grad * 1  # a copy
            else:
                buf = state["momentum_buffer"] * mu + (1 - tau) * grad
            state["momentum_buffer"] = buf
            grad = grad + mu * buf if group["nesterov"] else buf
        p.data -= lr * grad
