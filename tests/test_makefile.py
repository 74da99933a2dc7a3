"""The Makefile's own commands: where torch comes from, and `make lab` as root and as a user.

Nothing here installs anything: the install recipe is only printed (`make -n`), and `make lab`
is run with the install stamp taken as up to date (`-o`), so a stale stamp cannot trigger pip.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAMP = ".venv/.installed"
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make(*args, env=None, timeout=60, user=None):
    command = [MAKE, "--no-print-directory", "-C", str(REPO), *args]
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def cpu_index(tmp_path):
    """A local stand-in for PyTorch's CPU index: serves /whl/cpu/torch/ (PEP 503 layout)."""
    (tmp_path / "whl" / "cpu" / "torch").mkdir(parents=True)
    (tmp_path / "whl" / "cpu" / "torch" / "index.html").write_text("<html></html>")
    (tmp_path / "empty" / "cpu").mkdir(parents=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def torch_index(**variables):
    return make("-s", "torch-index", *[f"{k}={v}" for k, v in variables.items()]).strip()


def install_line(**variables):
    """The pip command `make setup` would run for the requirements (printed, not run)."""
    printed = make("-n", "-B", "setup", *[f"{k}={v}" for k, v in variables.items()])
    lines = [line for line in printed.splitlines() if "pip install -r requirements.txt" in line]
    assert len(lines) == 1, printed
    return lines[0]


def test_linux_x86_64_takes_torch_from_the_cpu_index_when_it_answers(cpu_index):
    url = f"{cpu_index}/whl/cpu"
    assert torch_index(PLATFORM="Linux-x86_64", TORCH_INDEX=url) == f"--extra-index-url {url}"
    line = install_line(PLATFORM="Linux-x86_64", TORCH_INDEX=url)
    assert line.split()[-6:] == [
        "-r", "requirements.txt", "-c", "constraints.txt", "--extra-index-url", url,
    ]  # fmt: skip


@pytest.mark.parametrize("platform", ["Darwin-arm64", "Linux-aarch64", "Darwin-x86_64"])
def test_other_platforms_use_the_usual_indexes(cpu_index, platform):
    """Only Linux x86_64's PyPI torch is the CUDA build."""
    assert torch_index(PLATFORM=platform, TORCH_INDEX=f"{cpu_index}/whl/cpu") == ""


def test_an_index_without_torch_is_not_used(cpu_index):
    assert torch_index(PLATFORM="Linux-x86_64", TORCH_INDEX=f"{cpu_index}/empty/cpu") == ""


def test_the_cpu_index_can_be_turned_off(cpu_index):
    assert torch_index(PLATFORM="Linux-x86_64", TORCH_INDEX="") == ""


def test_an_unreachable_index_falls_back_to_pypi_at_once():
    """No such host (RFC 6761's .invalid) and a closed port: no option, and no waiting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    for url in ["https://download.invalid/whl/cpu", f"http://127.0.0.1:{closed}/whl/cpu"]:
        start = time.monotonic()
        assert torch_index(PLATFORM="Linux-x86_64", TORCH_INDEX=url) == ""
        assert time.monotonic() - start < 8, url
        line = install_line(PLATFORM="Linux-x86_64", TORCH_INDEX=url)
        assert line.split()[-4:] == ["-r", "requirements.txt", "-c", "constraints.txt"]


@pytest.mark.slow
def test_an_index_that_never_answers_is_given_up_after_ten_seconds():
    """A firewall that swallows packets: the probe times out instead of hanging the install."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # connections queue up, nothing ever answers
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/whl/cpu"
        start = time.monotonic()
        assert torch_index(PLATFORM="Linux-x86_64", TORCH_INDEX=url) == ""
        assert 9 < time.monotonic() - start < 30


def test_the_pin_is_the_one_the_cpu_build_satisfies():
    """torch==2.13.0 (no local label) is matched by 2.13.0+cpu from PyTorch's index."""
    from packaging.requirements import Requirement

    pins = [
        line
        for name in ("requirements.txt", "constraints.txt")
        for line in (REPO / name).read_text(encoding="utf8").splitlines()
        if line.startswith("torch==")
    ]
    assert pins == ["torch==2.13.0", "torch==2.13.0"]
    assert Requirement(pins[0]).specifier.contains("2.13.0+cpu")


def lab_command(*args):
    printed = make("-n", "-o", STAMP, "lab", *args)
    lines = [line for line in printed.splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, printed
    return lines[0].split()


def test_make_lab_allows_root_only_for_root():
    assert "--allow-root" in lab_command("USER_ID=0")
    assert "--allow-root" not in lab_command("USER_ID=1000")
    expected = os.getuid() == 0
    assert ("--allow-root" in lab_command()) == expected, "USER_ID must default to `id -u`"


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("runuser"), reason="needs root")
def test_make_lab_as_an_ordinary_user_does_not_pass_allow_root():
    printed = make("-n", "-o", STAMP, "lab", user="nobody")
    command = next(line for line in printed.splitlines() if "jupyter lab" in line)
    assert command.split()[:3] == [".venv/bin/jupyter", "lab", "--notebook-dir=."]
    assert "--allow-root" not in command


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_jupyterlab(tmp_path):
    """`make lab` itself (as whoever runs the tests: root in containers) starts a server."""
    port, token = free_port(), secrets.token_hex(16)
    lab_args = " ".join(
        [
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    )
    env = dict(os.environ)
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(tmp_path / name.lower())
    log = (tmp_path / "make-lab.log").open("wb")
    server = subprocess.Popen(
        [MAKE, "--no-print-directory", "-C", str(REPO), "-o", STAMP, "lab", f"LAB_ARGS={lab_args}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: make, jupyter and the server
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/status?token={token}"
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        f"make lab exited {server.returncode}:\n"
                        + (tmp_path / "make-lab.log").read_text(errors="replace")
                    )
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        stop(server)
        log.close()


def stop(process):
    """End `process` and its group (make, jupyter and the server it started)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # already gone
        try:
            process.wait(timeout=20)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


# --- the README's commands ----------------------------------------------------------------------

README = (REPO / "README.md").read_text(encoding="utf8")


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"`make ((?:[a-z-]+ ?)+)", README))
    targets |= set(re.findall(r"^make ([a-z-]+)", README, re.MULTILINE))
    names = {name for group in targets for name in group.split()}
    assert {"lab", "book", "test", "setup", "torch-index"} <= names, names
    for name in sorted(names):
        # -n: print, do not run; -o: never reinstall for this check.
        make("-n", "-o", STAMP, name)


def test_the_quick_start_begins_with_git_clone():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert lines[0] == "git clone https://github.com/cnn-course/cnn-course"
    assert {"make lab", "make book", "make test"} <= set(lines)


def test_the_readme_python_example_runs():
    block = README.split("## Using cnnlib", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    assert namespace["out"].shape == (2, 8, 32, 32)
    assert namespace["db"] is None
