"""The training loop: forward, loss, backward, step, repeated over mini-batches.

`fit` is the loop the book writes by hand in the training chapter, packaged with a
history and a progress bar::

    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)     # forward
        model.backward(loss_fn.backward())  # backward: fills every Parameter.grad
        optimizer.step()                   # update
"""

from __future__ import annotations

import time

import numpy as np

from cnnlib.backend import to_numpy

__all__ = ["fit", "evaluate", "accuracy"]


def accuracy(logits, target) -> float:
    """Fraction of rows of logits : (N, K) whose largest entry is at target : (N,).

    target may also be (N, K) class probabilities (mixup, cutmix, label smoothing): a row
    counts as right when its largest logit is at the target's largest probability.
    """
    target = to_numpy(target)
    if target.ndim == 2:
        target = target.argmax(axis=1)
    return float(np.mean(to_numpy(logits).argmax(axis=1) == target))


def evaluate(model, loader, loss_fn=None):
    """(mean loss, accuracy) of `model` over all batches of `loader`, in eval mode.

    loss_fn defaults to cross-entropy. The model's train/eval mode is restored afterwards.
    """
    if loss_fn is None:
        from cnnlib.nn import CrossEntropyLoss

        loss_fn = CrossEntropyLoss()
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0.0, 0
    for xb, yb in loader:
        logits = model(xb)
        n = len(yb)
        total_loss += float(loss_fn(logits, yb)) * n
        correct += accuracy(logits, yb) * n
        count += n
    if was_training:
        model.train()
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return total_loss / count, correct / count


def fit(model, loss_fn, optimizer, train_loader, epochs=1, val_loader=None, progress=True):
    """Train `model` for `epochs` passes over `train_loader`.

    Returns a history dict: per epoch "loss" and "accuracy" (means over the epoch's
    batches, weighted by batch size), "val_loss" and "val_accuracy" (when `val_loader` is
    given), "time" (seconds); per step "step_loss".
    """
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "time": []}
    history["step_loss"] = []
    if progress:
        from tqdm.auto import tqdm
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        batches = train_loader
        if progress:
            batches = tqdm(train_loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        total_loss, correct, count = 0.0, 0.0, 0
        for xb, yb in batches:
            optimizer.zero_grad()
            logits = model(xb)
            loss = float(loss_fn(logits, yb))
            model.backward(loss_fn.backward())
            optimizer.step()
            n = len(yb)
            history["step_loss"].append(loss)
            total_loss += loss * n
            correct += accuracy(logits, yb) * n
            count += n
            if progress:
                batches.set_postfix(loss=f"{loss:.4f}")
        history["loss"].append(total_loss / max(count, 1))
        history["accuracy"].append(correct / max(count, 1))
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
        history["time"].append(time.perf_counter() - start)
        if progress:
            batches.close()
    return history


if __name__ == "__main__":  # python -m cnnlib.train --help
    from cnnlib.cli import main

    raise SystemExit(main())
