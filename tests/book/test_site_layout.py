"""The built site's layout, in headless Chromium and offline, at a desktop (1280 px) and a phone
(390 px) width: nothing is cut off or too small to read.

- no display equation is wider than its column (1280 and 390 px);
- no code cell's source, and no text output, scrolls sideways at 1280 px (the notebooks keep
  code lines to 80 characters; book/_static/course.css makes 80 fit);
- the page itself never scrolls sideways (1280 and 390 px);
- figures are not scaled down so far that 9-pt text in them drops below about 9 px (1280 px);
- no progress-bar widgets (tqdm's) are saved in a page;
- the theme CSS is loaded: the CJK fallback fonts for the glossary's Chinese terms.

Every test lists all its offenders, page by page; "code cell k" counts the code cells of the page
from 0 (markdown cells not counted). BOOK_SITE points the tests at another built
site (e.g. `jupyter-book build --path-output /tmp/x .` then BOOK_SITE=/tmp/x/_build/html);
the default is the repository's _build/html.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from booktools import SITE, serve, toc_docnames
from conftest import attach_offline_routes
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_site import ALL_SAVED_WIDGETS_RENDERED, WAIT_FOR_MATH

HTML = Path(os.environ.get("BOOK_SITE") or SITE).resolve()
DOCS = toc_docnames()
DESKTOP, PHONE = 1280, 390
# A 9-pt label in a figure saved at `dpi` is 9 * dpi / 72 pixels high in the image; scaled by
# the page, it must stay readable. "About 9 px": flag below 8.5.
MIN_LABEL_PX = 8.5
LABEL_PT = 9
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei"]


@pytest.fixture(scope="module")
def layout_site():
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML} has no index.html: build the site first (`make book`, or BOOK_SITE)")
    server, url = serve(HTML)
    yield url
    server.shutdown()


# --- one visit per page and width, measured once, read by every test ----------------------------

MEASURE = """() => {
  const article = document.querySelector("article") || document.body;
  const round = (x) => Math.round(x * 10) / 10;
  const describe = (el) => el.tagName.toLowerCase()
    + (el.id ? "#" + el.id : "")
    + (el.className && typeof el.className === "string"
       ? "." + el.className.trim().split(/\\s+/).slice(0, 3).join(".") : "");
  // MathJax keeps each formula's TeX beside the element it typeset.
  const tex = new Map();
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      if (item.typesetRoot) tex.set(item.typesetRoot, item.math);
    }
  }
  const equations = Array.from(article.querySelectorAll('mjx-container[display="true"]'))
    .map((c) => {
      const math = c.querySelector("mjx-math") || c;
      const column = c.parentElement.getBoundingClientRect().width;
      return {width: round(math.getBoundingClientRect().width), column: round(column),
              tex: (tex.get(c) || c.textContent).trim().replace(/\\s+/g, " ")};
    });
  const lineOf = (pre) => {
    const lines = pre.textContent.split("\\n");
    return lines.reduce((a, b) => (b.length > a.length ? b : a), "");
  };
  const scrolls = (selector) => Array.from(article.querySelectorAll(selector))
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
    .map((pre) => ({overflow: pre.scrollWidth - pre.clientWidth,
                    line: lineOf(pre).trim().slice(0, 100), length: lineOf(pre).length}));
  const cellIndex = (el) => {
    const cell = el.closest(".cell");
    return cell ? Array.from(document.querySelectorAll(".cell")).indexOf(cell) : -1;
  };
  const code = Array.from(article.querySelectorAll(".cell_input div.highlight pre"))
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
    .map((pre) => ({cell: cellIndex(pre), overflow: pre.scrollWidth - pre.clientWidth,
                    line: lineOf(pre).trim().slice(0, 100), length: lineOf(pre).length}));
  const outputs = Array.from(article.querySelectorAll(".cell_output pre"))
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
    .map((pre) => ({cell: cellIndex(pre), overflow: pre.scrollWidth - pre.clientWidth,
                    line: lineOf(pre).trim().slice(0, 100), length: lineOf(pre).length}));
  // What sticks out of the viewport: the outermost elements whose right edge passes it.
  const wide = [];
  const walk = (el) => {
    for (const child of el.children) {
      const r = child.getBoundingClientRect();
      if (r.right > innerWidth + 1 && r.width > 0) {
        const style = getComputedStyle(child);
        if (style.overflowX === "auto" || style.overflowX === "scroll"
            || style.overflowX === "hidden") continue;  // scrolls or clips inside itself
        wide.push(describe(child) + " right edge " + Math.round(r.right) + " px: "
                  + child.textContent.trim().replace(/\\s+/g, " ").slice(0, 80));
        if (wide.length < 20) walk(child);
      } else if (r.width > 0 && child.scrollWidth > child.clientWidth) {
        walk(child);
      }
    }
  };
  const page = {scrollWidth: document.scrollingElement.scrollWidth, innerWidth};
  if (page.scrollWidth > innerWidth) walk(document.body);
  const images = Array.from(article.querySelectorAll(".cell_output img, figure img, img.image"))
    .filter((img) => !img.closest(".jupyter-widgets") && img.naturalWidth > 0)
    .map((img) => ({src: img.currentSrc || img.src, natural: img.naturalWidth,
                    shown: round(img.getBoundingClientRect().width), cell: cellIndex(img)}));
  return {equations, code, outputs, page, wide: wide.slice(-8), images,
          bodyFont: getComputedStyle(document.body).fontFamily,
          codeFont: getComputedStyle(document.querySelector("pre") || document.body).fontFamily,
          sheets: Array.from(document.styleSheets).map((s) => s.href || "")};
}"""

_measured: dict[tuple[str, int], dict] = {}


def measure(chromium, url, docname, width):
    key = (docname, width)
    if key not in _measured:
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            attach_offline_routes(page, url)
            response = page.goto(f"{url}{docname}.html", wait_until="load")
            assert response is not None and response.status == 200, f"{docname}.html"
            page.evaluate(WAIT_FOR_MATH)
            try:  # widgets that render change the layout; ones that do not are test_site's
                page.wait_for_function(ALL_SAVED_WIDGETS_RENDERED, timeout=30_000)
            except PlaywrightTimeout:
                pass
            page.evaluate(
                """async () => { const images = Array.from(document.images);
                images.forEach((img) => { img.loading = "eager"; });
                await Promise.all(images.map((img) => img.decode().catch(() => null))); }"""
            )
            _measured[key] = page.evaluate(MEASURE)
        finally:
            context.close()
    return _measured[key]


def ids(value):
    return str(value)


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=lambda w: f"{w}px")
@pytest.mark.parametrize("docname", DOCS)
def test_display_equations_fit_their_column(chromium, layout_site, docname, width):
    found = measure(chromium, layout_site, docname, width)["equations"]
    wide = [e for e in found if e["width"] > e["column"] + 1]
    assert not wide, f"{docname} at {width} px: display equations wider than their column:\n" + (
        "\n".join(f"  {e['width']:.0f} px in {e['column']:.0f} px: {e['tex'][:160]}" for e in wide)
    )


@pytest.mark.browser
@pytest.mark.parametrize("docname", DOCS)
def test_code_cells_do_not_scroll_sideways(chromium, layout_site, docname):
    found = measure(chromium, layout_site, docname, DESKTOP)["code"]
    assert not found, f"{docname} at {DESKTOP} px: code cells cut at the right edge:\n" + "\n".join(
        f"  code cell {c['cell']}: {c['overflow']} px hidden,"
        f" longest line {c['length']} characters: {c['line']}"
        for c in found
    )


@pytest.mark.browser
@pytest.mark.parametrize("docname", DOCS)
def test_text_outputs_do_not_scroll_sideways(chromium, layout_site, docname):
    found = measure(chromium, layout_site, docname, DESKTOP)["outputs"]
    assert not found, f"{docname} at {DESKTOP} px: outputs cut at the right edge:\n" + "\n".join(
        f"  code cell {c['cell']}: {c['overflow']} px hidden,"
        f" longest line {c['length']} characters: {c['line']}"
        for c in found
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=lambda w: f"{w}px")
@pytest.mark.parametrize("docname", DOCS)
def test_the_page_does_not_scroll_sideways(chromium, layout_site, docname, width):
    found = measure(chromium, layout_site, docname, width)
    page = found["page"]
    assert page["scrollWidth"] <= page["innerWidth"], (
        f"{docname} at {width} px: the page is {page['scrollWidth'] - page['innerWidth']} px wider"
        " than the window; sticking out:\n  " + "\n  ".join(found["wide"])
    )


def png_dpi(path: Path) -> float | None:
    from PIL import Image

    with Image.open(path) as image:
        dpi = image.info.get("dpi")
    return float(dpi[0]) if dpi else None


def local_file(src: str) -> Path | None:
    path = HTML / unquote(urlsplit(src).path).lstrip("/")
    return path if path.is_file() else None


@pytest.mark.browser
@pytest.mark.parametrize("docname", DOCS)
def test_figures_are_not_shrunk_below_readable_text(chromium, layout_site, docname):
    small = []
    for image in measure(chromium, layout_site, docname, DESKTOP)["images"]:
        scale = image["shown"] / image["natural"]
        path = local_file(image["src"])
        dpi = (png_dpi(path) if path is not None and path.suffix == ".png" else None) or 100.0
        label = LABEL_PT * dpi / 72 * scale
        if label < MIN_LABEL_PX:
            name = path.name[:16] if path is not None else image["src"][-40:]
            small.append(
                f"  code cell {image['cell']}: {image['natural']} px wide at {dpi:.0f} dpi,"
                f" shown at {image['shown']:.0f} px (scale {scale:.2f}):"
                f" 9-pt text becomes {label:.1f} px"
                f" ({name}…)"
            )
    assert not small, (
        f"{docname} at {DESKTOP} px: figures scaled so far that 9-pt text is under"
        f" {MIN_LABEL_PX} px (make the figure narrower or its text larger):\n" + "\n".join(small)
    )


WIDGET_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.DOTALL
)
PROGRESS = {"FloatProgressModel", "IntProgressModel"}


def progress_bars(html: str) -> int:
    count = 0
    for block in WIDGET_STATE.findall(html):
        state = json.loads(block).get("state", {})
        count += sum(1 for m in state.values() if m.get("model_name") in PROGRESS)
    return count


@pytest.mark.book
@pytest.mark.parametrize("docname", DOCS)
def test_no_progress_bars_are_saved_in_the_page(docname):
    """tqdm's notebook bars are widgets; saved, each closed bar leaves an empty box on the page."""
    path = HTML / f"{docname}.html"
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the site first")
    count = progress_bars(path.read_text(encoding="utf8"))
    assert count == 0, (
        f"{docname}: {count} progress-bar widgets saved in the page (pass progress=False, or"
        " use tqdm's text bar, when the notebook is executed by the build)"
    )


def test_progress_bar_detection():
    state = {
        "state": {
            "a": {"model_name": "FloatProgressModel", "state": {}},
            "b": {"model_name": "HTMLModel", "state": {}},
        }
    }
    page = f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(state)}</script>'
    assert progress_bars(page) == 1
    assert progress_bars(page.replace("FloatProgressModel", "SliderModel")) == 0


@pytest.mark.browser
@pytest.mark.parametrize("docname", ["book/glossary"] if "book/glossary" in DOCS else DOCS[:1])
def test_the_theme_css_names_cjk_fonts(chromium, layout_site, docname):
    found = measure(chromium, layout_site, docname, DESKTOP)
    assert any(s.split("?")[0].endswith("/_static/course.css") for s in found["sheets"]), (
        f"{docname}: course.css is not loaded: {found['sheets']}"
    )
    for font in CJK_FONTS:
        assert font in found["bodyFont"], f"{font} missing from the text's fonts"
    assert "Noto Sans CJK SC" in found["codeFont"], found["codeFont"]
    # The theme's own fonts come first: CJK fonts only fill in what they lack.
    assert found["bodyFont"].split(",")[0].strip() == "system-ui", found["bodyFont"]
