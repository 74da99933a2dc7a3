"""What the explorers share: an anywidget whose JavaScript computes, and a picture for readers
without JavaScript.

Each explorer is an ``anywidget.AnyWidget``: its traits (the settings) are synced with a small
ES module in ``js/`` that draws the controls, computes and draws the result in the browser. So
it works wherever the widget's saved state is rendered -- in JupyterLab with a kernel and on the
static website without one. The module is ``js/common.js`` followed by the explorer's own file;
its text is saved with every instance, so the files stay small and import nothing.

The JavaScript arithmetic is a second implementation of cnnlib's: each explorer has a Python
method that computes the same numbers with cnnlib, and the browser tests compare the two.

Displaying an explorer also writes a ``<noscript>`` picture of its initial state, computed in
Python: a reader whose browser runs no JavaScript sees that picture instead of an empty space,
and everyone else sees only the live explorer.
"""

from __future__ import annotations

import base64
import inspect
import io
from pathlib import Path

import anywidget
import numpy as np

JS = Path(__file__).parent / "js"


def module_source(name: str) -> str:
    """The ES module of explorer ``name``: common.js, then js/<name>.js."""
    return (
        (JS / "common.js").read_text(encoding="utf8")
        + "\n"
        + (JS / f"{name}.js").read_text(encoding="utf8")
    )


def figure_png(fig, dpi=80) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def int_in(lo, hi):
    """A rule: an integer (not a bool) in [lo, hi]."""
    return lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi


def number_in(lo, hi):
    """A rule: a real number (not a bool) in [lo, hi]."""
    real = (int, float, np.integer, np.floating)
    return lambda v: isinstance(v, real) and not isinstance(v, bool) and lo <= v <= hi


class Explorer(anywidget.AnyWidget):
    """Base class: subclasses set ``_esm = module_source(name)``, the ``_rules`` of their
    settings ({name: (rule in words, predicate)}) and ``static_figure()``. A trait set to a
    value against its rule raises ValueError, from Python or from the browser."""

    _css = (JS / "explorer.css").read_text(encoding="utf8")
    _rules: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # traitlets defines __new__(*args, **kwargs), which help() and the API reference would
        # show as the signature; show __init__'s parameters instead.
        sig = inspect.signature(cls.__init__)
        cls.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])

    def _check(self, name, value):
        where = type(self).__name__
        if name not in self._rules:
            raise ValueError(f"{where}.set: unknown setting {name!r}")
        rule, ok = self._rules[name]
        if not ok(value):
            raise ValueError(f"{where}: {name} must be {rule}, got {value!r}")

    def set(self, **settings):
        """Change several settings at once; all are checked before any changes."""
        for name, value in settings.items():
            self._check(name, value)
        with self.hold_sync():
            for name, value in settings.items():
                setattr(self, name, value)

    def settings(self) -> dict:
        """The current value of every setting."""
        return {name: getattr(self, name) for name in self._rules}

    def static_figure(self):
        """A matplotlib figure of the current state, for the ``<noscript>`` picture."""
        raise NotImplementedError

    def noscript_html(self) -> str:
        png = base64.b64encode(figure_png(self.static_figure())).decode("ascii")
        return (
            "<noscript><p>This explorer needs JavaScript; here is its initial state.</p>"
            f'<img alt="{type(self).__name__}, initial state" style="max-width:100%" '
            f'src="data:image/png;base64,{png}"></noscript>'
        )

    def _ipython_display_(self):
        from IPython.display import HTML, display

        bundle = self._repr_mimebundle_()  # anywidget's is (data, metadata)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        display(data, metadata=metadata, raw=True)
        display(HTML(self.noscript_html()))
