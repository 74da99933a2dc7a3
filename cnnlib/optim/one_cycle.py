"""The 1cycle learning-rate policy (Smith and Topin, 2019), as torch's OneCycleLR."""

from __future__ import annotations

import math
from numbers import Integral, Real

from cnnlib.optim.lr_scheduler import LRScheduler
from cnnlib.optim.optimizer import Optimizer

__all__ = ["OneCycleLR"]


class OneCycleLR(LRScheduler):
    """One cycle per training run, stepped after every batch.

    The lr rises from max_lr / div_factor to max_lr over the first pct_start of the
    `total_steps` (or epochs * steps_per_epoch) steps, then falls to
    initial_lr / final_div_factor; the momentum (beta1 for Adam) moves the opposite way,
    between max_momentum and base_momentum. Each phase goes from a to b along::

        cos:     b + (a - b) (1 + cos(pi p)) / 2        linear:  a + (b - a) p

    where p in [0, 1] is the fraction of the phase done. ``three_phase=True`` makes the
    fall symmetric to the rise and adds a last phase down to the minimum.
    """

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start=0.3,
        anneal_strategy="cos",
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor=25.0,
        final_div_factor=1e4,
        three_phase=False,
        last_epoch=-1,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if total_steps is not None:
            self.total_steps = _positive("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _positive("epochs", epochs) * _positive(
                "steps_per_epoch", steps_per_epoch
            )
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        n, rise = self.total_steps, float(pct_start * self.total_steps)
        # (end step, lr from, lr to, momentum from, momentum to) of each phase
        up = (rise - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")
        if three_phase:
            down = (2 * rise - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum")
            phases = [up, down, (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [up, (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        self._schedule_phases = [dict(zip(keys, phase)) for phase in phases]
        if (
            isinstance(pct_start, bool)
            or not isinstance(pct_start, Real)
            or not 0 <= pct_start <= 1
        ):
            raise ValueError(f"OneCycleLR: pct_start must be a number in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group("max_momentum", optimizer, max_momentum)
            lows = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for high, low, group in zip(highs, lows, optimizer.param_groups):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal_func(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list:
        """The lr of each group at step ``last_epoch`` (and, as a side effect, its momentum)."""
        self._warn_if_called_directly()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lr = self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        self._set_momentum(
                            group,
                            self._anneal_func(
                                group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                            ),
                        )
                    break
                start = end
            lrs.append(lr)
        return lrs


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"OneCycleLR: {name} must be a positive int, got {value!r}")
    return int(value)


def _per_group(name: str, optimizer, value) -> list:
    """`value` for each parameter group: a list of one per group, or one for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"OneCycleLR: {name} has {len(value)} values, but the optimizer has "
                f"{len(optimizer.param_groups)} parameter groups"
            )
        return list(value)
    return [value] * len(optimizer.param_groups)
