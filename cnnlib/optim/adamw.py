"""AdamW (Loshchilov and Hutter, 2019): Adam with weight decay decoupled from the gradient."""

from __future__ import annotations

from cnnlib.optim.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters directly, as ``torch.optim.AdamW``.

    Each step first decays, then takes Adam's step (see `Adam`) with the raw gradient g::

        theta <- (1 - lr lambda) theta
        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
        theta <- theta - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    In Adam with an L2 penalty the decay term lambda theta passes through m / sqrt(v), so
    parameters with large gradients are decayed less; here every parameter shrinks by the
    same factor. The default weight_decay is 1e-2, as in torch.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        foreach=None,
        capturable=False,
        differentiable=False,
        fused=None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict) -> None:
        """As `Optimizer.load_state_dict`; the decay stays decoupled (as in torch)."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
