"""Offline link check of the built site: every local href/src points at a file that exists,
and every #fragment at an id (or name) on the target page. External links are not followed.
Every page also carries the licences in its footer and loads the course's CSS.
BOOK_SITE points the tests at another built site (default: the repository's _build/html)."""

import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import booktools
import pytest
from booktools import toc_docnames

SITE = Path(os.environ.get("BOOK_SITE") or booktools.SITE).resolve()


def toc_pages():
    return [SITE / f"{docname}.html" for docname in toc_docnames()]


pytestmark = pytest.mark.book


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []  # (tag, attribute, value)
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            if (tag, name) in {
                ("a", "href"),
                ("link", "href"),
                ("img", "src"),
                ("script", "src"),
                ("source", "src"),
                ("iframe", "src"),
            }:
                self.links.append((tag, name, value))


def parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf8"))
    return page


def site_pages():
    if not SITE.is_dir():
        pytest.fail(f"{SITE} is missing: build the site first with `make book`")
    return sorted(p for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts)


def test_every_toc_document_has_a_page():
    missing = [str(p.relative_to(SITE)) for p in toc_pages() if not p.exists()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"


def test_every_local_link_and_anchor_resolves():
    pages = site_pages()
    assert len(pages) >= len(toc_pages())
    parsed = {}
    broken = []
    for page in pages:
        for tag, attribute, value in parse(page).links:
            url = urlsplit(value)
            if url.scheme or url.netloc or value.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not url.path else (page.parent / unquote(url.path)).resolve()
            if url.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(SITE)}: <{tag} {attribute}={value!r}>"
            if not target.is_file():
                broken.append(f"{where}: no file {target}")
                continue
            if url.fragment and target.suffix == ".html":
                if target not in parsed:
                    parsed[target] = parse(target).ids
                if unquote(url.fragment) not in parsed[target]:
                    broken.append(f"{where}: no id {url.fragment!r} in {target.name}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_every_page_shows_the_licences_and_loads_the_course_css():
    """The footer (html.extra_footer in _config.yml) and book/_static/course.css, on every page."""
    missing = []
    for page in toc_pages():
        html = page.read_text(encoding="utf8")
        links = {value for tag, _, value in parse(page).links}
        if not any(v.split("?")[0].endswith("_static/course.css") for v in links):
            missing.append(f"{page.relative_to(SITE)}: course.css not linked")
        for url in (
            "https://creativecommons.org/licenses/by/4.0/",
            "https://github.com/cnn-course/cnn-course/blob/main/LICENSE",
        ):
            if url not in links:
                missing.append(f"{page.relative_to(SITE)}: footer link {url} missing")
        if 'class="extra_footer"' not in html:
            missing.append(f"{page.relative_to(SITE)}: no extra footer")
    assert not missing, "\n".join(missing)
    assert (SITE / "_static" / "course.css").is_file()
