"""What each chapter costs to run: wall time, the kernel's peak memory, the slowest cells.

    python benchmarks/notebook_costs.py                    # every notebook in _toc.yml
    python benchmarks/notebook_costs.py book/03_kernels.ipynb --out /tmp/one.json

Each notebook runs alone, in a fresh kernel started in ``book/`` (as the book build runs
them), with nbclient recording the start and end of every cell. The kernel's peak resident
memory is its ``VmHWM`` ("high water mark") from ``/proc/<pid>/status``, read after every
cell, so it covers the whole run. Processes a notebook starts itself (e.g. ``torchrun``
workers) are not included. The record, with a description of the machine, goes to
``benchmarks/results/notebooks.json``; the "For teachers" page reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
    peak = {"mb": 0.0}

    def after_cell(**_):
        peak["mb"] = max(peak["mb"], peak_rss_mb(client.km.provisioner.pid))

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=after_cell,
    )
    start = time.perf_counter()
    client.execute(cwd=str(cwd))
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
        "slowest_cells": [
            {"index": i, "seconds": round(s, 2), "first_line": src.strip().splitlines()[0][:80]}
            for s, i, src in top
            if src.strip()
        ],
    }


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
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
        print(f"{row['notebook']:45s} {row['seconds']:7.1f} s {row['peak_rss_mb']:8.1f} MiB")
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
