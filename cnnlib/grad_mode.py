"""Gradient mode: whether a forward pass keeps what its backward pass needs.

By default every layer's forward keeps a cache (its inputs, masks, ...) so that backward
can run later. Inside ``with cnnlib.no_grad():`` (torch's name) forward keeps nothing:
evaluation and inference then cost no memory beyond the outputs, and a backward through
such a call is an error. Like torch's, the mode is per thread.

>>> with cnnlib.no_grad():
...     logits = model(x_test)          # no caches kept
>>> @cnnlib.no_grad()                   # or @cnnlib.no_grad
... def evaluate(model, x): ...
"""

from __future__ import annotations

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

_mode = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()`` (or ``set_grad_enabled(False)``)."""
    return getattr(_mode, "enabled", True)


def _set(mode: bool) -> None:
    _mode.enabled = mode


class _GradMode:
    """A context manager that sets the mode on entry and restores it on exit; called on a
    function it returns the function wrapped in the same mode (a decorator)."""

    _enabled = True

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is None:
            return self
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {orig_func!r}")
        self.__init__()
        return self(orig_func)  # used as a bare decorator: @no_grad

    def __init__(self, orig_func=None):
        self._prev = []

    def __enter__(self):
        self._prev.append(is_grad_enabled())
        _set(self._enabled)
        return None

    def __exit__(self, *exc) -> None:
        _set(self._prev.pop())

    def __call__(self, func):
        if not callable(func):
            raise TypeError(f"{type(self).__name__}(): can only decorate a function")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper

    def __repr__(self) -> str:
        return f"cnnlib.{type(self).__name__}()"


class no_grad(_GradMode):  # noqa: N801 (torch's name)
    """Forward passes inside keep no cache (no backward possible through them)."""

    _enabled = False


class enable_grad(_GradMode):  # noqa: N801 (torch's name)
    """Forward passes inside keep their caches, even within ``no_grad()``."""

    _enabled = True


class set_grad_enabled(_GradMode):  # noqa: N801 (torch's name)
    """``set_grad_enabled(False)`` is ``no_grad()``; works as a call, a context manager or
    a decorator. Called plainly it sets the mode at once (as torch's does)."""

    def __new__(cls, mode: bool):
        return super().__new__(cls)

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        super().__init__()
        self._enabled = mode
        self._prev.append(is_grad_enabled())
        _set(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        _set(self._prev.pop())

    def __call__(self, func):
        _set(self._prev.pop())  # as a decorator, the mode applies only inside `func`
        mode = self._enabled

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper
