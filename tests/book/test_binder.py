"""binder/ builds the environment the website's launch buttons open; keep it in step with the
root requirements (the versions tested here) and free of anything only this machine has.
constraints.txt pins every package those pull in: the venv the tests run in is exactly that set,
and Binder installs through it too."""

import json
import re
import stat
import sys
from importlib import metadata
from importlib.metadata import distributions
from pathlib import Path

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


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    """{normalised name: version} of the requirement lines; options (-c, --...) are skipped."""
    found = {}
    for line in requirement_lines(path):
        if line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not pinned with ==: {line!r}"
        name = normalise(match.group(1))
        assert name not in found, f"{path.name}: {name} pinned twice"
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


# --- constraints.txt: the whole installed set ---------------------------------------------------

CONSTRAINTS = REPO / "constraints.txt"
# pip (upgraded on its own by `make setup`) and the project itself (installed from the checkout).
# setuptools and wheel are pinned: torch and sphinx-togglebutton depend on them.
NOT_FROZEN = {"pip", "cnnlib"}


def test_constraints_pin_every_package_with_plain_versions():
    lines = requirement_lines(CONSTRAINTS)
    assert not [line for line in lines if line.startswith("-")], "options in constraints.txt"
    constraints = pins(CONSTRAINTS)
    assert len(constraints) > 100, "constraints.txt should hold the transitive dependencies"
    assert "cnnlib" not in constraints
    local = {name: v for name, v in constraints.items() if "+" in v}
    assert not local, f"local version labels make the file platform-specific: {local}"


def test_requirements_and_constraints_agree():
    constraints = pins(CONSTRAINTS)
    for name, version in pins(REPO / "requirements.txt").items():
        assert name in constraints, f"{name} is in requirements.txt but not in constraints.txt"
        assert constraints[name] == version, (
            f"{name}: requirements.txt {version}, constraints.txt {constraints[name]}"
        )


def installed():
    """{normalised name: version} of the environment running the tests (torch's +cpu dropped)."""
    found = {}
    for dist in distributions():
        name = normalise(dist.metadata["Name"])
        if name not in NOT_FROZEN:
            found[name] = dist.version.split("+")[0]
    return found


def test_the_environment_is_exactly_the_constraints():
    """The venv `make setup` built holds the pinned set: nothing missing, extra or drifted.
    After a deliberate upgrade, `make constraints` rewrites the file from the venv."""
    constraints, env = pins(CONSTRAINTS), installed()
    assert sorted(set(env) - set(constraints)) == [], "installed but not in constraints.txt"
    assert sorted(set(constraints) - set(env)) == [], "in constraints.txt but not installed"
    drifted = {n: (env[n], constraints[n]) for n in env if env[n] != constraints[n]}
    assert not drifted, f"installed vs constraints.txt: {drifted}"


def test_binder_installs_through_the_root_constraints():
    lines = requirement_lines(BINDER / "requirements.txt")
    options = [line.split() for line in lines if line.startswith(("-c", "--constraint"))]
    assert options == [["-c", "../constraints.txt"]], options
    # pip reads a nested -c path relative to the file that names it.
    target = (BINDER / "requirements.txt").parent / options[0][1]
    assert target.resolve() == CONSTRAINTS.resolve()
    assert Path(options[0][1]).parts[0] == "..", "the path stays inside the repository"
    constraints = pins(CONSTRAINTS)
    for name, version in pins(BINDER / "requirements.txt").items():
        assert constraints[name] == version.split("+")[0], name


def test_jupyterlab_myst_reaches_binder_as_a_prebuilt_extension():
    """MyST renders in Binder's JupyterLab because pip installs jupyterlab-myst with its prebuilt
    front-end (no `jupyter lab build`, so postBuild needs nothing for it); nothing disables it."""
    installed = metadata.version("jupyterlab-myst")
    assert pins(BINDER / "requirements.txt")["jupyterlab-myst"] == installed
    manifest = Path(sys.prefix) / "share/jupyter/labextensions/jupyterlab-myst/package.json"
    assert manifest.is_file(), f"{manifest} is missing: not a prebuilt extension"
    package = json.loads(manifest.read_text(encoding="utf8"))
    assert package["version"] == installed
    assert package["jupyterlab"]["_build"]["load"], "no prebuilt bundle"
    post_build = (BINDER / "postBuild").read_text(encoding="utf8")
    assert "labextension disable" not in post_build and "lab build" not in post_build
    for folder in (Path(sys.prefix) / "etc/jupyter/labconfig", BINDER):
        for config in folder.glob("page_config.json"):
            disabled = json.loads(config.read_text(encoding="utf8")).get("disabledExtensions", {})
            assert not any("jupyterlab-myst" in name for name in disabled), config
