"""Numbers for the book's prose, recorded by the cell that computes them.

A chapter's text quotes a measured number with the MyST role ``{eval}`acc` `` (or an
expression such as ``{eval}`f"{acc:.1%}"` ``). In JupyterLab and Binder, jupyterlab-myst
evaluates the expression in the reader's kernel once the cells above have run. On the
static website no kernel runs: the book's Sphinx extension (``book/_ext/eval_glue.py``)
evaluates the same expression over the values the notebook recorded with :func:`glue`
while it was executed. So a re-run that changes a number changes the text with it.

    acc = evaluate(model, test)
    glue("acc", acc)          # the text says {eval}`f"{acc:.1%}"`
"""

from __future__ import annotations

from numbers import Integral, Real

__all__ = ["glue"]

# The MIME prefix and metadata MyST-NB reads glued values from (myst_nb.glue writes the same),
# so that the value is stored in the notebook without being shown on the page.
_PREFIX = "application/papermill.record/"


def glue(name: str, value) -> None:
    """Record `value` under `name` (the variable's own name) for ``{eval}`` roles on the site.

    value: a Python or NumPy scalar (stored as a plain int/float/bool), a str, or a tuple,
    list or dict (str or int keys) of those; anything else is a TypeError, because the site
    must read the value back exactly (``ast.literal_eval`` of its repr).
    """
    from IPython.display import display

    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"glue: name must be a variable name, got {name!r}")
    display(
        {_PREFIX + "text/plain": repr(_plain(value, name))},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": _PREFIX}},
    )


def _plain(value, name):
    """`value` as built-in Python types whose repr ``ast.literal_eval`` reads back."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v, name) for v in value)
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {k if isinstance(k, str) else int(k): _plain(v, name) for k, v in value.items()}
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # 0-d array or tensor
        return _plain(value.item(), name)
    raise TypeError(
        f"glue: {name!r} must be a number, a str, or a tuple/list/dict of them, "
        f"got {type(value).__name__}"
    )
