"""MyST in JupyterLab (and so on Binder, which installs the same jupyterlab-myst): a chapter's
learning-goals callout renders as a callout, {cite} and {term} render as a citation and a term
link instead of raw text, and {eval} roles show their values once the cells above have run.

JupyterLab runs on a copy of book/ (the `lab` fixture of test_lab.py), driven in headless
Chromium; nothing is written into the tree."""

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from booktools import REPO, notebook_source, toc_notebooks
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_lab import lab  # noqa: F401 - the fixture: JupyterLab on a copy of book/

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 300_000
GOALS = ":::{admonition} Learning goals"
EVAL = re.compile(r"\{eval\}`([^`]+)`")
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def first_notebook(*needles):
    for path in toc_notebooks():
        source = notebook_source(path)
        if all(needle in source for needle in needles):
            return path
    return None


def markdown_sources(path):
    nb = json.loads(path.read_text(encoding="utf8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def show_every_cell(settings):
    """JupyterLab renders only the cells near the viewport; render all of them."""
    folder = settings / "@jupyterlab" / "notebook-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')


def open_notebook(chromium, url, token, relative):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    page.goto(f"{url}lab/tree/{relative}?token={token}", wait_until="domcontentloaded")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext",
        timeout=120_000,
    )
    try:
        page.wait_for_function(RENDERED, timeout=120_000)
    except PlaywrightTimeout:
        context.close()
        pytest.fail(
            f"{relative}: jupyterlab-myst did not render the markdown cells within 2 minutes"
            " (is the extension installed and enabled? `jupyter labextension list`)"
        )
    return context, page


# Every markdown cell of the open notebook rendered by jupyterlab-myst (its `.myst` widget).
RENDERED = f"""() => {{
  const cells = document.querySelectorAll('{PANEL} .jp-MarkdownCell');
  return cells.length > 0 && Array.from(cells).every((c) => {{
    const myst = c.querySelector('.myst');
    return myst && myst.textContent.trim().length > 0;
  }});
}}"""

MARKDOWN = f"""() => Array.from(document.querySelectorAll('{PANEL} .jp-MarkdownCell')).map((c) => {{
  const myst = c.querySelector('.myst');
  const goals = Array.from(myst.querySelectorAll('aside.myst-admonition')).map((a) => ({{
    title: (a.querySelector('.myst-admonition-header') || {{}}).textContent || '',
    classes: a.className,
    items: a.querySelectorAll('.myst-admonition-body li').length,
  }}));
  return {{
    text: myst.textContent,
    admonitions: goals,
    cites: Array.from(myst.querySelectorAll('.cite-group')).map((e) => e.textContent.trim()),
    terms: Array.from(myst.querySelectorAll('a.hover-link')).map((e) => e.textContent.trim()),
  }};
}})"""

RAW = [":::{", "{cite}", "{term}", "{eval}", "{glue"]


def test_myst_renders_in_jupyterlab(chromium, lab, artifacts, tmp_path):  # noqa: F811
    notebook = first_notebook(GOALS, "{cite}`", "{term}`")
    if notebook is None:
        pytest.skip("no chapter has learning goals, a {cite} and a {term} yet")
    url, token, _ = lab
    show_every_cell(tmp_path / "settings")
    relative = notebook.relative_to(REPO).as_posix()
    sources = markdown_sources(notebook)
    context, page = open_notebook(chromium, url, token, relative)
    try:
        cells = page.evaluate(MARKDOWN)
        assert len(cells) == len(sources), f"{relative}: {len(cells)} markdown cells rendered"
        raw = [(i, s) for i, cell in enumerate(cells) for s in RAW if s in cell["text"]]
        assert not raw, f"{relative}: MyST shown as raw text in markdown cells: {raw}"

        goals = [a for cell in cells for a in cell["admonitions"] if "Learning goals" in a["title"]]
        assert goals, f"{relative}: no learning-goals callout rendered"
        assert "tip" in goals[0]["classes"].split(), goals[0]["classes"]
        assert goals[0]["items"] > 0, "the learning goals' list did not render inside the callout"
        assert cells[0]["admonitions"], "the learning goals are not in the first markdown cell"

        cited = {k.strip() for s in sources for m in re.findall(r"\{cite\}`([^`]+)`", s)
                 for k in m.split(",")}  # fmt: skip
        shown = {k for cell in cells for group in cell["cites"] for k in cited if k in group}
        assert shown, f"{relative}: no citation rendered (cited: {sorted(cited)[:5]})"
        termed = {m.split("<")[-1].rstrip(">").strip() for s in sources
                  for m in re.findall(r"\{term\}`([^`]+)`", s)}  # fmt: skip
        links = {t for cell in cells for t in cell["terms"]}
        assert termed & links, f"{relative}: no glossary term rendered as a link: {sorted(termed)}"
        page.screenshot(path=str(artifacts / "jupyterlab__myst.png"))
    finally:
        context.close()


RUN_EVERY_CELL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  // Every cell in order, markdown cells too: running a markdown cell is what makes
  // jupyterlab-myst evaluate its {eval} roles in the kernel.
  const notebook = panel.content;
  for (let i = 0; i < notebook.widgets.length; i++) {
    notebook.activeCellIndex = i;
    await app.commands.execute("notebook:run-cell");
  }
  const kernel = panel.sessionContext.session.kernel;
  const sleep = () => new Promise((r) => setTimeout(r, 250));
  while (kernel.status !== "idle") { await sleep(); }
  // The results of a markdown cell's expressions arrive after its run command returns.
  const pending = () => notebook.widgets.some((w) => w.model.type === "markdown"
    && w.model.sharedModel.getSource().includes("{eval}`")
    && !(w.model.getMetadata("user_expressions") || []).length);
  for (let waited = 0; pending() && waited < 120; waited++) { await sleep(); }
  const read = () => {
    const cells = [];
    notebook.widgets.forEach((widget, i) => {
      if (widget.model.type !== "markdown") return;
      const myst = widget.node.querySelector(".myst");
      cells.push({index: i, expressions: widget.model.getMetadata("user_expressions") || [],
                  text: myst ? myst.textContent : ""});
    });
    return cells;
  };
  // A cell re-renders with its values after the metadata arrives: wait (at most 30 s) until
  // every value that evaluated shows, as shown_as below writes it, so a cell still
  // re-rendering is not mistaken for one that does not show its value.
  const shown = (result) => {
    const t = (result.data || {})["text/plain"] || "";
    const quoted = t.length > 1 && (t[0] === "'" || t[0] === '"') && t.at(-1) === t[0];
    return quoted ? t.slice(1, -1) : t;
  };
  const rendered = (cells) => cells.every((c) => c.expressions.every(
    (e) => !e.result || e.result.status !== "ok" || c.text.includes(shown(e.result))));
  let cells = read();
  for (let waited = 0; !rendered(cells) && waited < 120; waited++) {
    await sleep();
    cells = read();
  }
  return cells;
}"""

# Used when no chapter has an {eval} role yet: the book's convention in a notebook of its own.
EVAL_EXAMPLE = [
    ("code", "from cnnlib.viz.glue import glue\n\nacc = 0.9731\nn = 3 * 4\nglue('acc', acc)"),
    ("markdown", 'Accuracy {eval}`f"{acc:.1%}"` on {eval}`n` images, {eval}`round(acc, 2)`.'),
]


def shown_as(text_plain):
    """What jupyterlab-myst shows for a result: a str without its quotes, the rest as repr."""
    try:
        value = ast.literal_eval(text_plain)
    except (ValueError, SyntaxError):
        return text_plain
    return value if isinstance(value, str) else text_plain


# Every chapter that uses {eval}; before any does, the convention's own example.
EVAL_NOTEBOOKS = [p for p in toc_notebooks() if "{eval}`" in notebook_source(p)] or [None]


@pytest.mark.parametrize(
    "notebook", EVAL_NOTEBOOKS, ids=lambda p: p.relative_to(REPO).as_posix() if p else "example"
)
def test_eval_roles_show_their_values_after_running(chromium, lab, artifacts, tmp_path, notebook):  # noqa: F811
    """Run All, markdown cells included, as a reader does: every {eval} shows its value. A role
    whose name is computed only in a cell *below* it fails here (NameError in the kernel), as it
    does for the reader, although the static site, which reads the glued values, shows it."""
    url, token, root = lab
    show_every_cell(tmp_path / "settings")
    if notebook is not None:
        relative = notebook.relative_to(REPO).as_posix()
    else:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}  # fmt: skip
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
        nb.cells = [make[kind](source) for kind, source in EVAL_EXAMPLE]
        relative = "book/eval_example.ipynb"
        nbformat.write(nb, root / relative)
    context, page = open_notebook(chromium, url, token, relative)
    try:
        page.set_default_timeout(RUN_TIMEOUT_MS)
        cells = page.evaluate(RUN_EVERY_CELL)
        checked, wrong = 0, []
        for cell, source in zip(cells, markdown_sources(root / relative), strict=True):
            results = {e["expression"]: e["result"] for e in cell["expressions"]}
            for expression in EVAL.findall(source):
                where = f"cell {cell['index']}: {{eval}}`{expression}`"
                result = results.get(expression)
                if result is None:
                    wrong.append(f"{where} was not evaluated")
                elif result["status"] != "ok":
                    wrong.append(
                        f"{where}: {result.get('ename')}: {result.get('evalue')}"
                        " (computed in a cell below it? the reader's Run All meets it first)"
                    )
                elif (value := shown_as(result["data"]["text/plain"])) not in cell["text"]:
                    wrong.append(f"{where}: {value!r} not shown")
                checked += 1
            if "{eval}" in cell["text"]:
                wrong.append(f"cell {cell['index']}: raw {{eval}} shown")
        page.screenshot(path=str(artifacts / f"jupyterlab__eval__{Path(relative).stem}.png"))
        assert checked, f"{relative}: no {{eval}} role checked"
        assert not wrong, f"{relative} in JupyterLab after running every cell:\n" + "\n".join(wrong)
    finally:
        context.close()
