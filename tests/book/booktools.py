"""What the book tests share: the table of contents, the built site, and offline CDN copies.

Run as a script, it prints the notebooks listed in ``_toc.yml`` (one path a line), which is
what ``make test-notebooks`` hands to nbval.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sphinx_external_toc.parsing import parse_toc_yaml

# The book root; BOOK_ROOT points the tests at another checkout or a trial book.
REPO = Path(os.environ.get("BOOK_ROOT") or Path(__file__).resolve().parents[2]).resolve()
TOC = REPO / "_toc.yml"
# The built site; BOOK_SITE points the browser tests at another build (e.g. a small trial book
# with only the pages being worked on).
SITE = Path(os.environ.get("BOOK_SITE") or REPO / "_build" / "html").resolve()
NPM = Path(__file__).resolve().parent / "npm"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, which floods a closed
# network with requests that can never succeed.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPOSITORY = "cnn-course/cnn-course"
BRANCH = "main"


def toc_docnames() -> list[str]:
    """Every document in _toc.yml, root first, as paths without extension ('book/intro')."""
    return list(parse_toc_yaml(TOC).keys())


def toc_notebooks() -> list[Path]:
    """The notebooks among the documents in _toc.yml, in table-of-contents order."""
    notebooks = []
    for docname in toc_docnames():
        path = REPO / f"{docname}.ipynb"
        if path.exists():
            notebooks.append(path)
    return notebooks


def toc_pages() -> list[Path]:
    """The built HTML page of every document in _toc.yml."""
    return [SITE / f"{docname}.html" for docname in toc_docnames()]


def notebook_source(path: Path) -> str:
    """All cell sources of a notebook joined, to find which notebook uses what."""
    nb = json.loads(path.read_text(encoding="utf8"))
    return "\n".join("".join(cell["source"]) for cell in nb["cells"])


# --- the built site over HTTP -------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is http.server's
        pass


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve `directory` on a free local port in a daemon thread; returns (server, base URL)."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# --- CDN URLs served from the npm copies ----------------------------------------------------

# https://cdn.jsdelivr.net/npm/<package>@<version>/<file>, the package possibly scoped.
_JSDELIVR = re.compile(r"^https://cdn\.jsdelivr\.net/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.+)$")


def version_matches(wanted: str, installed: str) -> bool:
    """Whether npm version `installed` satisfies `wanted` as a CDN URL writes it: an exact
    version ("2.3.8"), a wildcard ("0.11.*") or a tilde range ("~0.11.*", "~0.11.2": the same
    major and minor, patch at least as given). html-manager asks for anywidget@~0.11.*, the
    module version anywidget's widgets declare."""
    tilde = wanted.startswith("~")
    want = wanted.lstrip("~").split(".")
    have = installed.split(".")
    if len(have) != 3 or not 1 <= len(want) <= 3:
        return False
    for i, part in enumerate(want):
        if part in ("*", "x"):
            continue
        if tilde and i == 2:
            return part.isdigit() and int(have[2]) >= int(part)
        if part != have[i]:
            return False
    return tilde or len(want) == 3 or "*" in want or "x" in want


def npm_file(url: str) -> Path | None:
    """The local copy of a jsdelivr npm URL, or None when the URL is not one.

    Raises LookupError when the URL names a package or version that tests/book/npm does not
    hold, so a version bump in _config.yml without one in package.json is reported, not masked.
    """
    match = _JSDELIVR.match(url.split("?", 1)[0].split("#", 1)[0])
    if match is None:
        return None
    package, version, file = match.groups()
    root = NPM / "node_modules" / package
    manifest = root / "package.json"
    if not manifest.exists():
        raise LookupError(f"{url}: npm package {package} is not in {NPM / 'package.json'}")
    installed = json.loads(manifest.read_text(encoding="utf8"))["version"]
    if not version_matches(version, installed):
        raise LookupError(f"{url}: the site asks for {package}@{version}, npm has {installed}")
    return root / file


def content_type(path: Path) -> str:
    kind, _ = mimetypes.guess_type(path.name)
    if path.suffix == ".js":
        return "application/javascript"
    return kind or "application/octet-stream"


if __name__ == "__main__":
    if sys.argv[1:] != ["--notebooks"]:
        sys.exit("usage: python tests/book/booktools.py --notebooks")
    for notebook in toc_notebooks():
        print(notebook.relative_to(REPO))
