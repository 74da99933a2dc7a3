"""Adam (Kingma and Ba, 2015), with AMSGrad and decoupled weight decay, as torch.optim.Adam."""

from __future__ import annotations

from cnnlib.backend import namespace
from cnnlib.optim.optimizer import Optimizer, _check_number, _floats

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam: steps scaled per coordinate by running moments of the gradient.

    With learning rate lr, betas (b1, b2), eps and weight decay lambda, step t (t = 1, 2,
    ...) updates a parameter theta with gradient g (-g when ``maximize``)::

        g <- g + lambda theta                    (or theta <- (1 - lr lambda) theta when
                                                  decoupled_weight_decay: AdamW)
        m <- b1 m + (1 - b1) g                   (first moment, exp_avg)
        v <- b2 v + (1 - b2) g^2                 (second moment, exp_avg_sq)
        v_max <- max(v_max, v)                   (amsgrad only; then v_max replaces v below)
        theta <- theta - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    m and v start at 0; dividing by 1 - b^t removes the bias towards 0 of their first
    steps. The state per parameter is ``step``, ``exp_avg``, ``exp_avg_sq`` (and
    ``max_exp_avg_sq`` with amsgrad). ``foreach``, ``capturable``, ``differentiable`` and
    ``fused`` are torch's implementation switches, accepted at their defaults.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=False,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            _check_number(name, key, group[key])
        if len(group["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair (b1, b2), got {group['betas']}")
        for i, b in enumerate(group["betas"]):
            _check_number(name, f"beta parameter at index {i}", b, high=1.0)

    def _update(self, p, grad, state: dict, group: dict) -> None:
        xp = namespace(p.data)
        lr, wd, eps = _floats(group, "lr", "weight_decay", "eps")
        b1, b2 = (float(b) for b in group["betas"])
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        state["exp_avg"] = _lerp(state["exp_avg"], grad, 1 - b1)
        state["exp_avg_sq"] = state["exp_avg_sq"] * b2 + (1 - b2) * (grad * grad)
        v = state["exp_avg_sq"]
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], v)
        step_size = lr / (1 - b1**t)
        denom = xp.sqrt(v) / (1 - b2**t) ** 0.5 + eps
        p.data -= step_size * (state["exp_avg"] / denom)


def _lerp(start, end, weight: float):
    """start + weight (end - start), computed as torch's lerp does (from the nearer end)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)
