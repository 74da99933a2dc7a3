"""What each chapter costs to run: wall time, the kernel's peak memory, the slowest cells.

    python benchmarks/notebook_costs.py                    # every notebook in _toc.yml
    python benchmarks/notebook_costs.py book/03_kernels.ipynb --out /tmp/one.json

Each notebook runs alone, in a fresh kernel started in ``book/`` (as the book build runs
them), with nbclient recording the start and end of every cell. The kernel's peak resident
memory is its ``VmHWM`` ("high water mark") from ``/proc/<pid>/status``, read after every
cell, so it covers the whole run. Processes the kernel starts (``torchrun`` and its workers
in appendix B) have their own memory: a thread samples it every 0.1 s while the notebook runs,
as the proportional set size (PSS: each shared page divided among the processes sharing it,
so that pages shared with the kernel or between workers are not counted twice), summed over
all the kernel's descendants, and keeps the largest sum (``peak_children_mb``, 0 when the
notebook starts none). The kernel's peak plus that is what the chapter needs at most. The
record, with a description of the machine and the git commit it measured, goes to
``benchmarks/results/notebooks.json``; the "For teachers" page reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "notebooks.json"


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks listed in `root`/_toc.yml, in table-of-contents order."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    docnames = parse_toc_yaml(root / "_toc.yml").keys()
    return [root / f"{d}.ipynb" for d in docnames if (root / f"{d}.ipynb").exists()]


def peak_rss_mb(pid: int) -> float:
    """The high-water mark of process `pid`'s resident memory, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # the value is in kB
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def descendants(pid: int) -> list[int]:
    """The processes started by `pid`, by its children, and so on (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we read
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def pss_mb(pid: int) -> float:
    """Process `pid`'s proportional set size in MiB; 0 if it has ended (Linux)."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024  # kB
    return 0.0


class ChildrenMemory(threading.Thread):
    """Samples the summed PSS of `pid`'s descendants every `interval` s; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_mb = 0.0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self):
        self.peak_mb = max(self.peak_mb, sum(pss_mb(p) for p in descendants(self.pid)))

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak_mb


def cell_seconds(cell) -> float | None:
    """Seconds from the kernel receiving the cell to its reply, from nbclient's timing."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def title(nb) -> str:
    """The notebook's first '# ' heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def measure(path: Path, cwd: Path, timeout: int = 600, slowest: int = 3) -> dict:
    """Run the notebook at `path` in a fresh kernel in `cwd`; its costs as a dict."""
    nb = nbformat.read(path, as_version=4)
    peak, sampler = {"mb": 0.0}, {}

    def after_cell(**_):
        peak["mb"] = max(peak["mb"], peak_rss_mb(client.km.provisioner.pid))

    def kernel_started(**_):  # the kernel runs now: watch what it starts
        sampler["thread"] = ChildrenMemory(client.km.provisioner.pid)
        sampler["thread"].start()

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=after_cell,
        on_notebook_start=kernel_started,
    )
    start = time.perf_counter()
    try:
        client.execute(cwd=str(cwd))
    finally:
        children_mb = sampler["thread"].stop() if "thread" in sampler else 0.0
    seconds = time.perf_counter() - start
    timed = [
        (cell_seconds(c), i, c.source)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and cell_seconds(c) is not None
    ]
    top = sorted(timed, key=lambda t: -t[0])[:slowest]
    try:
        name = str(path.resolve().relative_to(ROOT))
    except ValueError:
        name = str(path)
    return {
        "notebook": name,
        "title": title(nb),
        "seconds": round(seconds, 2),
        "cells_seconds": round(sum(t[0] for t in timed), 2),
        "code_cells": len(timed),
        "peak_rss_mb": round(peak["mb"], 1),
        "peak_children_mb": round(children_mb, 1),
        "slowest_cells": [
            {"index": i, "seconds": round(s, 2), "first_line": src.strip().splitlines()[0][:80]}
            for s, i, src in top
            if src.strip()
        ],
    }


def git(*args: str) -> str | None:
    """The output of `git args` in the repository, or None without git or a repository."""
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def machine() -> dict:
    dirty = git("status", "--porcelain", "--untracked-files=no")
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(dirty) if dirty is not None else None,
    }
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()[0]
        info["memory_gb"] = round(int(meminfo.split()[1]) / 1024**2, 1)
    except (OSError, IndexError, ValueError):
        pass
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--cwd", type=Path, default=ROOT / "book", help="the kernels' working folder")
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = p.parse_args(argv)
    notebooks = args.notebooks or toc_notebooks()
    record = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "notebooks": [],
    }
    for path in notebooks:
        row = measure(path, args.cwd, args.timeout)
        record["notebooks"].append(row)
        print(
            f"{row['notebook']:45s} {row['seconds']:7.1f} s {row['peak_rss_mb']:8.1f} MiB"
            + (f" + {row['peak_children_mb']:.1f} MiB started" if row["peak_children_mb"] else "")
        )
    rows = record["notebooks"]
    record["total_seconds"] = round(sum(r["seconds"] for r in rows), 2)
    record["max_peak_rss_mb"] = max((r["peak_rss_mb"] for r in rows), default=0.0)
    print(f"{'total':45s} {record['total_seconds']:7.1f} s {record['max_peak_rss_mb']:8.1f} MiB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
