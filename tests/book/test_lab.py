"""Local JupyterLab, driven in headless Chromium the way a reader uses it: open the chapter with
the kernel explorer, run all cells on the project's kernel, choose a preset and type a kernel
value in the explorer, and check that what its JavaScript shows is cnnlib's result and that the
kernel received it (the settings and the output are traits synced back to Python). JupyterLab
runs on a copy of book/, so nothing is written into the tree."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from booktools import REPO, notebook_source, toc_notebooks

from cnnlib import viz
from cnnlib.kernels import KERNELS
from cnnlib.widgets.kernel_explorer import image_uint8

pytestmark = pytest.mark.browser

WIDGET = "KernelExplorer"
RUN_TIMEOUT_MS = 300_000


def explorer_notebook():
    for path in toc_notebooks():
        if WIDGET in notebook_source(path):
            return path
    return None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a copy of book/ (with _toc.yml and the benchmark records) and the venv's
    kernel; yields (base URL, token, root)."""
    root = tmp_path / "lab"
    shutil.copytree(
        REPO / "book", root / "book", ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints")
    )
    # what the appendices and the teachers' page read from the repository a reader has cloned
    shutil.copy(REPO / "_toc.yml", root / "_toc.yml")
    shutil.copytree(REPO / "benchmarks" / "results", root / "benchmarks" / "results")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")
    # No "get notified about news?" prompt over the notebook.
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
                time.sleep(0.5)
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  // Every cell in order, as Run All would; one at a time because JupyterLab's Run All stops
  // after any cell that raises, even one tagged raises-exception.
  const notebook = panel.content;
  for (let i = 0; i < notebook.widgets.length; i++) {
    if (notebook.widgets[i].model.type !== "code") continue;
    notebook.activeCellIndex = i;
    await app.commands.execute("notebook:run-cell");
  }
  const kernel = panel.sessionContext.session.kernel;
  const settled = () => kernel.status === "idle"
    && !panel.content.widgets.some((w) => w.model.type === "code" && w.promptNode
                                          && w.promptNode.textContent.includes("*"));
  while (!settled()) { await new Promise((resolve) => setTimeout(resolve, 250)); }
  const cells = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== "code") continue;
    const tags = cell.getMetadata("tags") || [];
    const outputs = cell.outputs.toJSON();
    cells.push({
      count: cell.executionCount,
      raises: tags.includes("raises-exception"),
      errors: outputs.filter((o) => o.output_type === "error")
                     .map((o) => o.ename + ": " + o.evalue),
    });
  }
  return {kernel: panel.sessionContext.session?.kernel?.name, cells};
}"""

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden) .cnn-kernel"
DATA = f"() => JSON.parse(document.querySelector('{PANEL} pre.cnn-data').textContent)"
ASK_KERNEL = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code});
  let text = "";
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream") text += msg.content.text;
    if (msg.header.msg_type === "error") text += msg.content.ename + ": " + msg.content.evalue;
  };
  await future.done;
  return text;
}"""
# What the kernel's explorer holds after the reader's changes: the settings the browser sent,
# and whether the output the browser computed (synced back as a trait) equals cnnlib's.
KERNEL_SIDE = """
import json
_shape = tuple(explorer.output_shape)
print(json.dumps([explorer.preset, explorer.kernel, list(_shape),
                  bool(np.array_equal(np.reshape(explorer.output, _shape), explorer.compute()))]))
"""


def test_kernel_explorer_runs_and_reacts_in_jupyterlab(chromium, lab, artifacts):
    notebook = explorer_notebook()
    if notebook is None:
        pytest.skip(f"no notebook in _toc.yml uses cnnlib.widgets.{WIDGET} yet")
    url, token, _ = lab
    relative = notebook.relative_to(REPO).as_posix()

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    # JupyterLab needs nothing from outside; whatever it asks for (news, fonts) is refused.
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    try:
        page.goto(f"{url}lab/tree/{relative}?token={token}", wait_until="domcontentloaded")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext",
            timeout=120_000,
        )
        page.set_default_timeout(RUN_TIMEOUT_MS)
        result = page.evaluate(RUN_ALL)
        assert result["kernel"] == "python3"
        cells = result["cells"]
        assert cells, f"{relative} has no code cells"
        not_run = [i for i, cell in enumerate(cells) if cell["count"] is None]
        assert not not_run, f"code cells that did not run: {not_run}"
        errors = [(i, c["errors"]) for i, c in enumerate(cells) if c["errors"] and not c["raises"]]
        assert not errors, f"cells that raised: {errors}"

        # The explorer is drawn by its JavaScript; the reader picks a preset and types a value.
        page.wait_for_selector(f"{PANEL} pre.cnn-data", state="attached", timeout=60_000)
        page.locator(PANEL).scroll_into_view_if_needed()
        pixels = image_uint8("grace_hopper", 96).astype(np.float64)
        page.locator(f'{PANEL} select[data-name="preset"]').select_option("sobel y")
        page.wait_for_function(f"() => ({DATA})().settings.preset === 'sobel y'")
        data = page.evaluate(DATA)
        expected = viz.filter_image(pixels, KERNELS["sobel y"])
        np.testing.assert_array_equal(np.reshape(data["output"], data["shape"]), expected)
        page.locator(f"{PANEL} .cnn-grid input").first.fill("3")
        page.wait_for_function(f"() => ({DATA})().settings.preset === 'custom'")
        typed = KERNELS["sobel y"].copy()
        typed[0, 0] = 3
        data = page.evaluate(DATA)
        np.testing.assert_array_equal(
            np.reshape(data["output"], data["shape"]), viz.filter_image(pixels, typed)
        )
        # ... and the kernel received the settings and the browser's output
        answer = json.loads(page.evaluate(ASK_KERNEL, KERNEL_SIDE))
        assert answer == ["custom", typed.tolist(), [94, 94], True]
        page.screenshot(path=str(artifacts / "jupyterlab__kernel_explorer.png"))
    finally:
        context.close()
