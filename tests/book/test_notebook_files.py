"""Chapters are committed without outputs and with the kernelspec the launch buttons, Thebe and
nbval need: the build and the reader's kernel produce the outputs, never the repository."""

import json

import pytest
from booktools import REPO, toc_notebooks

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
