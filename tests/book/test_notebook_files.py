"""Chapters are committed without outputs and with the kernelspec the launch buttons, Thebe and
nbval need: the build and the reader's kernel produce the outputs, never the repository. Their
sources also hold what the reader sees to the book's rules: code lines that fit the page, no
formatter comments, the learning goals in the common callout, sources cited as works."""

import json
import re

import pytest
from booktools import REPO, toc_docnames, toc_notebooks

pytestmark = pytest.mark.book

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text(encoding="utf8"))
    assert nb["metadata"].get("kernelspec") == KERNELSPEC
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"cells committed with outputs or execution counts: {dirty}"
    assert "widgets" not in nb["metadata"], "saved widget state belongs to the build"
    titles = [line for cell in nb["cells"] for line in headings(cell)]
    assert len(titles) == 1, f"one '# Title' per chapter, found {titles}"


def headings(cell):
    """The level-1 headings of a markdown cell, outside fenced code."""
    if cell["cell_type"] != "markdown":
        return []
    found, fence = [], None
    for line in "".join(cell["source"]).splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        elif fence is None and line.startswith("# "):
            found.append(line)
    return found


# --- what the reader sees: line lengths, the learning goals, citations ----------------------------

# The code column of the page shows 80 characters at 1280 px (tests/book/test_site_layout.py
# checks the page); ruff formats the library at 100, the notebooks are held to 80 here.
MAX_CODE_LINE = 80
# Chapters and appendices open with their learning goals; the teachers' page does not.
CHAPTER = re.compile(r"^(\d\d|a\d)_")
GOALS = ":::{admonition} Learning goals\n:class: tip\n"
# Words that point at documents a reader does not have (issue 18 §3). A cell that uses them must
# cite the work with {cite} in the same cell.
UNCITED_SOURCE = re.compile(
    r"\bsources? 00\d|\bthe (?:lecture )?(?:slides|notes)\b|\bthe lecture notes\b", re.IGNORECASE
)
CHAPTERS = [p for p in toc_notebooks() if CHAPTER.match(p.name)]


def ids(path):
    return path.relative_to(REPO).as_posix()


def cells(path, kind):
    nb = json.loads(path.read_text(encoding="utf8"))
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == kind]


@pytest.mark.parametrize("path", toc_notebooks(), ids=ids)
def test_code_lines_fit_the_page(path):
    long = [
        f"cell {i} line {n}: {len(line)} characters: {line.strip()[:60]}"
        for i, source in cells(path, "code")
        for n, line in enumerate(source.splitlines(), 1)
        if len(line) > MAX_CODE_LINE
    ]
    assert not long, f"code lines over {MAX_CODE_LINE} characters:\n" + "\n".join(long)


@pytest.mark.parametrize("path", toc_notebooks(), ids=ids)
def test_no_formatter_comments_on_the_page(path):
    found = [
        f"cell {i}: {line.strip()}"
        for i, source in cells(path, "code")
        for line in source.splitlines()
        if re.search(r"#\s*fmt:\s*(skip|off|on)\b", line)
    ]
    assert not found, "formatter comments show on the page:\n" + "\n".join(found)


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_learning_goals_open_the_chapter_in_the_common_callout(path):
    """Right under the title: the admonition 'Learning goals' with class tip, a list, closed."""
    markdown = cells(path, "markdown")
    assert markdown, "no markdown cells"
    _, first = markdown[0]
    assert first.startswith("# "), f"the first markdown cell should open with the title: {first!r}"
    rest = first.split("\n", 1)[1].lstrip("\n") if "\n" in first else ""
    if not rest.strip() and len(markdown) > 1:  # the callout may be the next cell
        rest = markdown[1][1].lstrip("\n")
    opens_with_goals = rest.startswith(GOALS)
    assert opens_with_goals, (
        f"the chapter should open with\n{GOALS}...\n:::\nbut continues: {rest[:120]!r}"
    )
    body = rest[len(GOALS) :]
    assert re.search(r"^:::\s*$", body, re.MULTILINE), "the learning goals callout is not closed"
    callout = re.split(r"^:::\s*$", body, maxsplit=1, flags=re.MULTILINE)[0]
    assert re.search(r"^- \S", callout, re.MULTILINE), "the learning goals are not a list"


def prose(text):
    """Markdown without fenced code and inline code: words quoted as code are not claims."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def uncited(blocks):
    found = []
    for where, text in blocks:
        if "{cite" in text:
            continue
        found += [f"{where}: ...{m.group(0)}..." for m in UNCITED_SOURCE.finditer(prose(text))]
    return found


def toc_pages_markdown():
    return [REPO / f"{doc}.md" for doc in toc_docnames() if (REPO / f"{doc}.md").is_file()]


@pytest.mark.parametrize("path", toc_notebooks() + toc_pages_markdown(), ids=ids)
def test_sources_are_cited_not_pointed_at(path):
    """'the slides', 'the notes', 'source 002' mean nothing to a reader without a citation."""
    if path.suffix == ".ipynb":
        blocks = [(f"cell {i}", text) for i, text in cells(path, "markdown")]
    else:  # a page: each paragraph plays the part of a cell
        paragraphs = re.split(r"\n\s*\n", path.read_text(encoding="utf8"))
        blocks = [(f"paragraph {i}", text) for i, text in enumerate(paragraphs)]
    found = uncited(blocks)
    assert not found, "cite the work ({cite}`key`) where the text says:\n" + "\n".join(found)


def test_the_source_rule_catches_what_it_should():
    assert uncited([("c", "As the slides show, pooling halves the map.")])
    assert uncited([("c", "See source 002 for the derivation.")])
    assert uncited([("c", "The lecture notes write it without the floor.")])
    assert uncited([("c", "The Notes say so.")])
    assert not uncited([("c", "Lo's slides {cite}`lo2021reactor` round down.")])
    assert not uncited([("c", "Quoted as code, `the notes` is not a claim.")])
    assert not uncited([("c", "These footnotes and the notebook are fine.")])


# -- {eval} roles read variables the reader's kernel has -----------------------------------------

EVAL_ROLE = re.compile(r"\{eval\}`([^`]*)`")


def eval_names_not_yet_assigned(cells):
    """(cell index, expression, names) for each {eval} whose free names no code cell above it
    assigns (imports, defs and assignments count). jupyterlab-myst evaluates the expression in
    the reader's kernel, where a name that was only glued under a new name does not exist."""
    import ast
    import builtins

    assigned, problems = set(), []
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            code = "\n".join(
                line for line in source.splitlines() if not line.startswith(("%", "!"))
            )
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    assigned.add(node.id)
                elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    assigned.add(node.name)
                elif isinstance(node, ast.alias):
                    assigned.add((node.asname or node.name).split(".")[0])
        elif cell["cell_type"] == "markdown":
            for expression in EVAL_ROLE.findall(source):
                names = [n for n in ast.walk(ast.parse(expression, mode="eval"))
                         if isinstance(n, ast.Name)]  # fmt: skip
                bound = {n.id for n in names if isinstance(n.ctx, ast.Store)}
                free = {n.id for n in names} - bound - assigned - set(dir(builtins))
                if free:
                    problems.append((i, expression, sorted(free)))
    return problems


@pytest.mark.parametrize("path", toc_notebooks(), ids=ids)
def test_eval_roles_read_variables_assigned_above(path):
    cells = json.loads(path.read_text(encoding="utf8"))["cells"]
    assert not eval_names_not_yet_assigned(cells)


def test_the_eval_rule_catches_a_name_glued_under_a_new_name():
    def cell(kind, source):
        return {"cell_type": kind, "source": source}

    cells = [
        cell("code", 'acc = 0.9\nglue("acc", acc)\nglue("err", 1 - acc)'),
        cell("markdown", '{eval}`f"{acc:.0%}"` and {eval}`", ".join(str(a) for a in [acc])`'),
        cell("markdown", "{eval}`err` and {eval}`late`"),
        cell("code", "late = 1"),
    ]
    assert eval_names_not_yet_assigned(cells) == [(2, "err", ["err"]), (2, "late", ["late"])]
