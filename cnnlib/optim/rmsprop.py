"""RMSprop (Hinton's lecture 6e, 2012; centred form after Graves, 2013), as torch.optim.RMSprop."""

from __future__ import annotations

from cnnlib.backend import namespace
from cnnlib.optim.adam import _lerp
from cnnlib.optim.optimizer import Optimizer, _check_number, _floats

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Divide each gradient coordinate by a running root mean square of its past values.

    With learning rate lr, smoothing constant alpha, eps, weight decay lambda and momentum
    mu, each step updates a parameter theta with gradient g (-g when ``maximize``)::

        g <- g + lambda theta
        v <- alpha v + (1 - alpha) g^2              (square_avg)
        a <- alpha a + (1 - alpha) g                (grad_avg; centered only)
        s <- sqrt(v - a^2) + eps  (centered)   or   sqrt(v) + eps
        b <- mu b + g / s,   theta <- theta - lr b  (mu > 0; momentum_buffer b starts at 0)
        theta <- theta - lr g / s                   (mu = 0)

    The centred form divides by an estimate of the gradient's standard deviation instead
    of its root mean square. Unlike Adam there is no bias correction, so v starts small and
    the first steps are large. ``capturable``, ``foreach`` and ``differentiable`` are
    torch's implementation switches, accepted at their defaults.
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            _check_number("RMSprop", name, group[name])

    def _update(self, p, grad, state: dict, group: dict) -> None:
        xp = namespace(p.data)
        lr, alpha, eps, wd, mu = _floats(group, "lr", "alpha", "eps", "weight_decay", "momentum")
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * p.data
        v = state["square_avg"] = state["square_avg"] * alpha + (1 - alpha) * (grad * grad)
        if group["centered"]:
            a = state["grad_avg"] = _lerp(state["grad_avg"], grad, 1 - alpha)
            s = xp.sqrt(v - a * a) + eps
        else:
            s = xp.sqrt(v) + eps
        if mu > 0:
            state["momentum_buffer"] = state["momentum_buffer"] * mu + grad / s
            p.data -= lr * state["momentum_buffer"]
        else:
            p.data -= lr * (grad / s)
