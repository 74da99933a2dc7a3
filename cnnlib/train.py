"""The training loop: forward, loss, backward, step, repeated over mini-batches.

`fit` is the loop the book writes by hand in the training chapter, packaged with a
history and a progress line::

    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)     # forward
        model.backward(loss_fn.backward())  # backward: fills every Parameter.grad
        optimizer.step()                   # update

The progress line is not a widget. In a Jupyter kernel it is one output, redrawn in place
through an IPython display id, and replaced by a one-line summary when `fit` returns.
JupyterLab shows the bar while training runs; a notebook executed by nbclient (nbval,
nbconvert, Jupyter Book) applies each redraw to the one stored output, so the saved page
keeps only the summary. Nothing depends on guessing whether a person or a build runs the
kernel: both get the same output. (tqdm's notebook bars are ipywidgets instead: a build saves
the state of every bar, closed or not, and the page draws each as an empty box.)
"""

from __future__ import annotations

import html
import sys
import time

import numpy as np

from cnnlib.backend import to_numpy
from cnnlib.grad_mode import no_grad

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

    loss_fn defaults to cross-entropy. The forward passes run inside ``cnnlib.no_grad()``, so
    they keep no cache for backward (and leave the caches of a pending forward alone). The
    model's train/eval mode is restored afterwards.
    """
    if loss_fn is None:
        from cnnlib.nn import CrossEntropyLoss

        loss_fn = CrossEntropyLoss()
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0.0, 0
    try:
        with no_grad():
            for xb, yb in loader:
                logits = model(xb)
                n = len(yb)
                total_loss += float(loss_fn(logits, yb)) * n
                correct += accuracy(logits, yb) * n
                count += n
    finally:
        if was_training:
            model.train()
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return total_loss / count, correct / count


def fit(model, loss_fn, optimizer, train_loader, epochs=1, val_loader=None, progress=True):
    """Train `model` for `epochs` passes over `train_loader`.

    Parameters
    ----------
    model : Module
    loss_fn : loss Module, e.g. ``nn.CrossEntropyLoss()``
    optimizer : optimizer over ``model.parameters()``
    train_loader : iterable of (xb, yb) batches (a ``DataLoader``, a list, ...)
    epochs : int
    val_loader : iterable of (xb, yb) batches, or None
        Evaluated (with `evaluate`) after every epoch.
    progress : bool
        Show how far training has got, and leave one summary line when done. In a Jupyter
        kernel: one output, redrawn in place (a bar, the epoch, the batch, the latest loss)
        at most every 0.2 s, then replaced by the summary, so a notebook executed by a
        build saves only the summary and no widget. Elsewhere: on stderr, redrawn with
        ``\\r`` on a terminal, and only the summary when stderr is not a terminal.

    Returns
    -------
    history : dict
        Per epoch "loss" and "accuracy" (means over the epoch's batches, weighted by batch
        size), "val_loss" and "val_accuracy" (when `val_loader` is given), "time" (seconds);
        per step "step_loss".
    """
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "time": []}
    history["step_loss"] = []
    line = _Progress(epochs, _length(train_loader)) if progress else None
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            model.train()
            total_loss, correct, count = 0.0, 0.0, 0
            for step, (xb, yb) in enumerate(train_loader, 1):
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
                if line is not None:
                    line.step(epoch + 1, step, loss)
            history["loss"].append(total_loss / max(count, 1))
            history["accuracy"].append(correct / max(count, 1))
            if val_loader is not None:
                val_loss, val_acc = evaluate(model, val_loader, loss_fn)
                history["val_loss"].append(val_loss)
                history["val_accuracy"].append(val_acc)
            history["time"].append(time.perf_counter() - start)
    except BaseException:
        if line is not None:
            line.close(
                f"stopped in epoch {len(history['loss']) + 1}/{epochs} after "
                f"{len(history['step_loss'])} steps"
            )
        raise
    if line is not None:
        line.close(_summary(history, epochs))
    return history


def _length(loader):
    """Batches per epoch, or None for a loader without len()."""
    try:
        return len(loader)
    except TypeError:
        return None


def _summary(history, epochs) -> str:
    """One line: epochs, steps, seconds, and the last epoch's numbers (under 80 characters)."""
    text = f"{epochs} epochs, {len(history['step_loss'])} steps, {sum(history['time']):.1f} s"
    if history["loss"]:
        text += f": loss {history['loss'][-1]:.4f}, acc {history['accuracy'][-1]:.3f}"
    if history["val_loss"]:
        text += f"; val {history['val_loss'][-1]:.4f}, {history['val_accuracy'][-1]:.3f}"
    return text


class _Progress:
    """The progress line of `fit`: redrawn while training runs, then one summary line."""

    interval = 0.2  # seconds between redraws

    def __init__(self, epochs, batches):
        self.epochs, self.batches = epochs, batches  # batches per epoch, None if unknown
        self.start = time.perf_counter()
        self.drawn = -float("inf")
        self.out = _kernel_line() or _StreamLine(sys.stderr)

    def step(self, epoch, batch, loss):
        now = time.perf_counter()
        last = self.batches is not None and batch == self.batches
        if now - self.drawn < self.interval and not last:
            return
        self.drawn = now
        of = f"/{self.batches}" if self.batches is not None else ""
        text = (
            f"epoch {epoch}/{self.epochs}, batch {batch}{of}, loss {loss:.4f}, "
            f"{now - self.start:.0f} s"
        )
        bar = None
        if self.batches:
            done, total = (epoch - 1) * self.batches + batch, self.epochs * self.batches
            bar = f'<progress value="{done}" max="{total}"></progress>'
        self.out.show(text, bar)

    def close(self, summary):
        self.out.close(summary)


def _kernel_line():
    """A `_DisplayLine` when running in a Jupyter kernel, else None."""
    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return _DisplayLine()


class _DisplayLine:
    """One output of a notebook cell, redrawn through its display id."""

    def __init__(self):
        self.handle = None

    def _draw(self, data):
        from IPython.display import display

        if self.handle is None:
            self.handle = display(data, raw=True, display_id=True)
        else:
            self.handle.update(data, raw=True)

    def show(self, text, bar=None):
        data = {"text/plain": text}
        if bar is not None:
            data["text/html"] = f"{bar} <code>{html.escape(text)}</code>"
        self._draw(data)

    def close(self, summary):
        self._draw({"text/plain": summary})  # text only: the bar is gone from the page


class _StreamLine:
    """The line on a text stream: redrawn with carriage returns on a terminal only."""

    def __init__(self, stream):
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.width = 0

    def _write(self, text, end=""):
        self.stream.write("\r" + text.ljust(self.width) + end)
        self.stream.flush()
        self.width = len(text)

    def show(self, text, bar=None):
        if self.live:
            self._write(text)

    def close(self, summary):
        if self.live:
            self._write(summary, end="\n")
        else:
            self.stream.write(summary + "\n")
            self.stream.flush()


if __name__ == "__main__":  # python -m cnnlib.train --help
    from cnnlib.cli import main

    raise SystemExit(main())
