"""Fixtures for the browser tests: headless Debian Chromium driven by Playwright, offline.

Every request a page makes is answered locally: the built site by a local HTTP server, the CDN
scripts (MathJax, require.js, the ipywidgets HTML manager and what they load) from the npm copies
in tests/book/npm. Any other external request is aborted and recorded; tests fail on it unless
it is listed in NONESSENTIAL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from booktools import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, NPM, SITE, content_type, npm_file, serve

# External requests a page may make that the course does not need, aborted without failing:
# none so far. (The Live Code button loads thebe from unpkg.com and Binder only when clicked;
# the tests do not click it. Links to GitHub, Binder and Colab are followed by people, not pages.)
NONESSENTIAL: list[re.Pattern] = []
# Console errors that are not errors of the course: the pydata theme logs this on a browser's
# first visit, when no colour mode is stored yet, and then picks "auto".
BENIGN_CONSOLE = [re.compile(r"^Got invalid theme mode: \. Resetting to auto\.$")]


@dataclass
class Traffic:
    """What one page did on the network and in its console."""

    local: str
    served_from_npm: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # CDN URLs without a local copy
    failed: list[str] = field(default_factory=list)  # local responses >= 400
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"no local copy of {url}" for url in self.missing]
        out += [f"HTTP error {url}" for url in self.failed]
        out += [f"console error: {text}" for text in self.console_errors]
        out += [f"page error: {text}" for text in self.page_errors]
        out += [
            f"external request {url}"
            for url in self.aborted
            if not any(p.search(url) for p in NONESSENTIAL)
        ]
        return out


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-setup` installs Debian's chromium")
    if not (NPM / "node_modules").is_dir():
        pytest.fail("tests/book/npm/node_modules is missing: `make browser-setup` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail(f"{SITE} has no index.html: build the site first with `make book`")
    server, url = serve(SITE)
    yield url
    server.shutdown()


def attach_offline_routes(page, local: str) -> Traffic:
    """Route every request of `page`: local ones through, CDN ones to npm, the rest aborted."""
    traffic = Traffic(local=local)

    def route(route):
        url = route.request.url
        if url.startswith(local) or url.startswith(("data:", "blob:")):
            return route.continue_()
        try:
            path = npm_file(url)
        except LookupError as error:
            traffic.missing.append(str(error))
            return route.abort()
        if path is not None:
            if not path.is_file():
                traffic.missing.append(url)
                return route.fulfill(status=404, body="")
            traffic.served_from_npm.append(url)
            return route.fulfill(
                status=200,
                body=path.read_bytes(),
                headers={
                    "Content-Type": content_type(path),
                    "Access-Control-Allow-Origin": "*",
                },
            )
        traffic.aborted.append(url)
        return route.abort()

    def on_console(message):
        if message.type == "error" and not any(p.search(message.text) for p in BENIGN_CONSOLE):
            traffic.console_errors.append(message.text)

    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and response.url.startswith(local)
            and traffic.failed.append(f"{response.status} {response.url}")
        ),
    )
    return traffic


@pytest.fixture
def offline_page(chromium):
    """A page in a fresh browser context (no stored state); route it with attach_offline_routes."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts():
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
