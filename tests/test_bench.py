"""The benchmark script runs (quick mode) and writes a well-formed record; no speed is asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_writes_a_record(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads(out.read_text())
    assert record["matmul_gflops_ceiling"] > 0
    kinds = {r["kind"] for r in record["results"]}
    assert kinds == {"conv2d", "pool", "train_step"}
    for r in record["results"]:
        assert r["seconds"] > 0 and r["ratio_to_torch"] > 0
        assert r["device"] in ("cpu", "cuda")
        if r["impl"] == "cnnlib-numpy":  # NumPy's allocations were traced
            assert r["extra"]["peak_mib"] > 0
    assert "conv2d/cnnlib-numpy" in record["geomean_ratio_to_torch"]
    machine = record["machine"]
    for key in ("cpu_model", "logical_cpus", "numpy", "torch", "blas", "git_commit"):
        assert key in machine
    cpu = record["summary"]["cpu"]
    assert set(cpu["geomean_ratio_to_torch"]) == {"conv2d", "pool", "train_step"}
    for kind, value in cpu["geomean_ratio_to_torch"].items():
        assert value == pytest.approx(record["geomean_ratio_to_torch"][f"{kind}/cnnlib-numpy"])
        assert cpu["meets_goal"][kind] == (value <= cpu["goal"][kind])
    assert ("cuda" in record["summary"]) == ("cuda" in record["devices"])


RECORDS = ["cpu.json", "gpu.json", "resnet18_cifar_gpu.json"]


@pytest.mark.parametrize("name", RECORDS)
def test_committed_records_name_the_commit_they_measured(name):
    """Appendix A prints each record's commit and counts the library's commits since: the
    commit must be a clean one in this repository's history."""
    record = json.loads((ROOT / "benchmarks" / "results" / name).read_text())
    commit = record["machine"]["git_commit"]
    assert isinstance(commit, str) and len(commit) == 40 and int(commit, 16) >= 0
    assert record["machine"].get("git_dirty") in (False, None)
    assert record["command"].startswith("python benchmarks/")
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("no git repository here")
    git = subprocess.run(
        ["git", "merge-base", "--is-ancestor", commit, "HEAD"], cwd=ROOT, capture_output=True
    )
    assert git.returncode == 0, f"{name} was made at {commit}, which HEAD does not contain"
