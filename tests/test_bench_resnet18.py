"""The ResNet-18 benchmark runs in quick mode and writes a well-formed record (no speed tested)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


def test_quick_resnet18_benchmark_writes_a_record(tmp_path):
    out = tmp_path / "r18.json"
    script = ROOT / "benchmarks" / "resnet18_cifar.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads(out.read_text())
    cnnlib, torch_ = record["results"]["cnnlib"], record["results"]["torch"]
    # the same architecture on both sides, timed over the same number of images
    assert cnnlib["parameters"] == torch_["parameters"] > 0
    assert cnnlib["images_per_s"] > 0 and torch_["images_per_s"] > 0
    expected = torch_["images_per_s"] / cnnlib["images_per_s"]
    assert record["ratio_torch_over_cnnlib"] == pytest.approx(expected)
    assert record["device"] == "cpu" and record["timed_steps"] == 2
    assert "images/s" in proc.stdout


def test_torch_resnet18_has_the_reference_parameter_count():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from resnet18_cifar import torch_resnet18
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from cnnlib.cli import build_model

    n_torch = sum(p.numel() for p in torch_resnet18().parameters())
    n_cnnlib = sum(p.data.size for p in build_model("resnet18", 3).parameters())
    # torchvision's 11,689,512 minus the 7x7 stem plus the 3x3 stem, with 10 classes
    assert n_torch == n_cnnlib == 11_689_512 - 64 * 3 * 49 + 64 * 3 * 9 - 512 * 990 - 990
