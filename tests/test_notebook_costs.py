"""benchmarks/notebook_costs.py measures a notebook's time, peak memory and slowest cells."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def test_costs_of_a_small_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A small notebook\n\nText."),
        nbformat.v4.new_code_cell("import os, time\nimport numpy as np\nprint(os.getcwd())"),
        # 200 MiB touched, then freed: only the high-water mark remembers it
        nbformat.v4.new_code_cell("a = np.ones(200 * 2**20 // 8)\ndel a"),
        nbformat.v4.new_code_cell("time.sleep(0.6)"),
        nbformat.v4.new_code_cell("x = 1"),
        # a child process holding 150 MiB for a second: the kernel's own peak does not see it
        nbformat.v4.new_code_cell(
            "import subprocess, sys\n"
            "subprocess.run([sys.executable, '-c', 'import numpy as np, time; "
            "a = np.ones(150 * 2**20 // 8); time.sleep(1.0)'], check=True)"
        ),
    ]
    path = tmp_path / "small.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "costs.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "notebook_costs.py"),
            str(path),
            "--out",
            str(out),
            "--cwd",
            str(tmp_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads(out.read_text())
    (row,) = record["notebooks"]
    assert row["title"] == "A small notebook" and row["code_cells"] == 5
    assert row["peak_rss_mb"] > 200 and record["max_peak_rss_mb"] == row["peak_rss_mb"]
    assert row["seconds"] >= row["cells_seconds"] >= 0.6
    slowest = {c["index"]: c["seconds"] for c in row["slowest_cells"]}
    assert len(slowest) == 3 and 4 not in slowest  # `x = 1` is the quickest cell
    assert slowest[3] >= 0.6  # the sleep
    assert record["total_seconds"] == row["seconds"] and record["machine"]["cpu_count"] >= 1
    # the child's 150 MiB, not the kernel's 200 MiB array (the kernel is not its own child)
    assert 150 < row["peak_children_mb"] < 200 + 150
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert record["machine"]["git_commit"] == head.stdout.strip()
    assert isinstance(record["machine"]["git_dirty"], bool)


def test_children_memory_sums_the_descendants_only():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from notebook_costs import ChildrenMemory, descendants
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    # a child that starts a grandchild holding 60 MiB, as torchrun starts its workers
    grandchild = "import numpy as np, time; a = np.ones(60 * 2**20 // 8); print(flush=True); "
    grandchild += "time.sleep(30)"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # the grandchild's array is allocated
        below_child = descendants(child.pid)
        assert len(below_child) == 1 and below_child[0] in descendants(os.getpid())
        for pid, expected in [(below_child[0], 0), (child.pid, 60), (os.getpid(), 60)]:
            sampler = ChildrenMemory(pid)
            sampler.sample()
            assert sampler.peak_mb >= expected and (expected or sampler.peak_mb == 0), pid
    finally:
        for pid in descendants(child.pid):
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.wait()


def test_reads_the_notebooks_of_the_table_of_contents():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from notebook_costs import toc_notebooks
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    notebooks = toc_notebooks()
    assert notebooks and all(p.suffix == ".ipynb" and p.exists() for p in notebooks)
    assert notebooks[0].name.startswith("01_")


def test_the_committed_record_covers_the_table_of_contents():
    """The teachers' page reads benchmarks/results/notebooks.json: it must hold every notebook
    of the table of contents, in order, and say which commit it measured (re-run `make costs`
    when this fails)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from notebook_costs import toc_notebooks
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    record = json.loads((ROOT / "benchmarks" / "results" / "notebooks.json").read_text())
    recorded = [row["notebook"] for row in record["notebooks"]]
    assert recorded == [str(p.relative_to(ROOT)) for p in toc_notebooks()]
    commit = record["machine"].get("git_commit")
    assert commit and len(commit) == 40, "the record predates the git_commit field"
    assert all("peak_children_mb" in row for row in record["notebooks"])
