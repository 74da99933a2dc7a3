"""binder/ builds the environment the website's launch buttons open; keep it in step with the
root requirements (the versions tested here) and free of anything only this machine has."""

import re
import stat

import pytest
from booktools import REPO

pytestmark = pytest.mark.book

BINDER = REPO / "binder"
# What builds and tests the book but is not needed to read and run it.
DEV_ONLY = {"jupyter-book", "pytest", "pytest-xdist", "hypothesis", "nbval", "playwright", "ruff"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def requirement_lines(path):
    lines = []
    for raw in path.read_text(encoding="utf8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def pins(path):
    """{normalised name: version} of the requirement lines; options (--...) are skipped."""
    found = {}
    for line in requirement_lines(path):
        if line.startswith("--"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not pinned with ==: {line!r}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        found[name] = match.group(2)
    return found


def test_runtime_is_python_3_11():
    assert (BINDER / "runtime.txt").read_text(encoding="utf8").strip() == "python-3.11"


def test_binder_pins_the_root_versions_minus_the_dev_tools():
    root = pins(REPO / "requirements.txt")
    binder = pins(BINDER / "requirements.txt")
    expected = {name: version for name, version in root.items() if name not in DEV_ONLY}
    assert set(binder) == set(expected), (
        f"missing from binder: {sorted(set(expected) - set(binder))}, "
        f"extra in binder: {sorted(set(binder) - set(expected))}"
    )
    for name, version in expected.items():
        pinned = binder[name].split("+")[0]
        assert pinned == version, f"{name}: binder {binder[name]}, root {version}"


def test_binder_torch_is_the_cpu_build():
    lines = requirement_lines(BINDER / "requirements.txt")
    assert pins(BINDER / "requirements.txt")["torch"].endswith("+cpu")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines


def test_no_local_paths():
    for line in requirement_lines(BINDER / "requirements.txt"):
        assert not re.match(r"^(-e|--editable|\.|/|~|file:)", line), line
        assert "/work/" not in line and "\\" not in line, line
    post_build = (BINDER / "postBuild").read_text(encoding="utf8")
    assert "/work/" not in post_build and "/home/" not in post_build


def test_post_build_installs_cnnlib_from_the_repository():
    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "postBuild must be executable"
    text = post_build.read_text(encoding="utf8")
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    assert re.search(r"pip install .*-e \.$", text, re.MULTILINE), text
    assert (REPO / "pyproject.toml").read_text(encoding="utf8").count('name = "cnnlib"') == 1
