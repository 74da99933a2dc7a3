"""Pictures of a training run: loss and accuracy curves, learned filters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from cnnlib.backend import to_numpy


def plot_history(history, figsize=(10, 3.2)):
    """Loss and accuracy per epoch from a `cnnlib.train.fit` history.

    Parameters
    ----------
    history : dict with lists "loss" and "accuracy", optionally "val_loss", "val_accuracy"
        and a per-step "step_loss" (drawn faintly behind the epoch means).

    Returns
    -------
    fig : matplotlib Figure with two axes (loss, accuracy)
    """
    for key in ("loss", "accuracy"):
        if key not in history or len(history[key]) == 0:
            raise ValueError(f"plot_history: history needs a non-empty {key!r} list")
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=figsize)
    steps = history.get("step_loss") or []
    if steps:
        t = np.arange(1, len(steps) + 1) * len(epochs) / len(steps)
        ax_loss.plot(t, steps, color="tab:blue", alpha=0.3, lw=0.8, label="train (per step)")
    ax_loss.plot(epochs, history["loss"], "o-", color="tab:blue", label="train (epoch mean)")
    ax_acc.plot(epochs, history["accuracy"], "o-", color="tab:blue", label="train")
    if history.get("val_loss"):
        ax_loss.plot(epochs, history["val_loss"], "s-", color="tab:orange", label="validation")
        ax_acc.plot(epochs, history["val_accuracy"], "s-", color="tab:orange", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_loss_curves(curves, ax=None, xlabel="step"):
    """Several per-step loss curves on one axes, e.g. cnnlib and torch trained side by side.

    Parameters
    ----------
    curves : dict name -> sequence of float
    """
    if not curves:
        raise ValueError("plot_loss_curves: need at least one curve")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    styles = ["-", "--", ":", "-."]
    for k, (name, values) in enumerate(curves.items()):
        ax.plot(np.arange(1, len(values) + 1), values, styles[k % 4], label=name)
    ax.set(xlabel=xlabel, ylabel="loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_filters(weight, ncols=8, size=1.0, cmap="RdBu_r"):
    """Show every kernel of a conv weight, on a colour scale symmetric about zero.

    Parameters
    ----------
    weight : (C_out, C_in, kH, kW) array
        One panel per filter. For C_in > 1 only each filter's kernel for input channel 0 is
        drawn, and the title says so.
    """
    w = np.asarray(to_numpy(weight), dtype=float)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: weight must be (C_out, C_in, kH, kW), got shape {w.shape}")
    kernels = w[:, 0]
    c = kernels.shape[0]
    ncols = min(ncols, c)
    nrows = -(-c // ncols)
    vmax = float(np.abs(kernels).max()) or 1.0
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.4), squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < c:
            ax.imshow(kernels[k], cmap=cmap, vmin=-vmax, vmax=vmax)
        else:
            ax.axis("off")
    title = f"{c} filters" + (" (input channel 0)" if w.shape[1] > 1 else "")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
