"""``{eval}`expression` `` on the static site, from the values the notebook glued.

jupyterlab-myst evaluates ``{eval}`` roles in the reader's kernel, so in JupyterLab and Binder
the prose shows the numbers of the reader's own run. MyST-NB evaluates them only in its inline
execution mode; the book executes notebooks through jupyter-cache instead, where MyST-NB's role
has no kernel and fails. This role takes its place: it evaluates the expression with the names
in it bound to the values the notebook recorded with ``cnnlib.viz.glue`` (under the variable's
own name) while it was executed. A name that was not glued, or an expression that fails, is a
build warning, which the strict build turns into an error.
"""

import ast

from docutils import nodes
from myst_nb.core.variables import RetrievalError
from myst_nb.ext.glue.utils import retrieve_glue_data
from myst_nb.ext.utils import RoleBase
from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

# What an expression in the prose may call: formatting and rounding, nothing else.
SAFE_BUILTINS = {f.__name__: f for f in (abs, round, int, float, str, min, max, len, sum)}


def free_names(tree) -> set:
    """The names an expression reads that it does not bind itself (a comprehension's loop
    variable is bound inside it, so ``", ".join(f"{a:.0%}" for a in accs)`` needs only
    ``accs``)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
    return loaded - bound - SAFE_BUILTINS.keys()


def evaluate(expression: str, lookup):
    """The value of `expression`, its free names bound to ``lookup(name)`` (a literal's repr,
    as ``cnnlib.viz.glue`` records it); only SAFE_BUILTINS are callable by name."""
    tree = ast.parse(expression, mode="eval")
    values = {name: ast.literal_eval(lookup(name)) for name in sorted(free_names(tree))}
    # globals, not locals: a comprehension's own scope sees globals only
    scope = {"__builtins__": SAFE_BUILTINS, **values}
    return eval(compile(tree, "<eval role>", "eval"), scope)


class EvalFromGlue(RoleBase):
    def run(self):
        expression = self.text

        def lookup(name):
            return retrieve_glue_data(self.document, name).data["text/plain"]

        try:
            result = evaluate(expression, lookup)
        except (
            RetrievalError, SyntaxError, ValueError, KeyError, TypeError, NameError, IndexError
        ) as exc:  # fmt: skip
            message = f"{{eval}}`{expression}`: {exc} (glue each name with cnnlib.viz.glue)"
            LOGGER.warning(message, location=(self.document["source"], self.line))
            return [], []
        text = str(result)
        node = nodes.inline(text, text, classes=["pasted-text"])
        self.set_source_info(node)
        return [node], []


def setup(app: Sphinx):
    # Loaded after myst_nb (a local extension), so this replaces MyST-NB's kernel-only role.
    app.add_role("eval", EvalFromGlue(), override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
