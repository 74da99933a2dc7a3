"""The built website in headless Chromium, offline: every page in _toc.yml loads without errors,
its math is typeset, its images decode, no cell shows an error it was not meant to, every widget
whose state was saved at build time renders, and notebook pages link to Binder and Colab."""

import pytest
from booktools import BRANCH, REPO, REPOSITORY, toc_docnames, toc_notebooks
from conftest import attach_offline_routes

pytestmark = pytest.mark.browser

NOTEBOOK_DOCS = [str(p.relative_to(REPO).with_suffix("")) for p in toc_notebooks()]
# A few pages are kept as pictures: the front page, the first two chapters, and widget pages.
SCREENSHOT = {toc_docnames()[0], *NOTEBOOK_DOCS[:2]}

WAIT_FOR_MATH = """async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  return Boolean(window.MathJax && MathJax.startup);
}"""

MATH_REPORT = """() => {
  const root = document.querySelector("article") || document.body;
  const untypeset = Array.from(root.querySelectorAll(".math"))
    .filter((el) => !el.querySelector("mjx-container"))
    .map((el) => el.textContent.trim().slice(0, 80));
  const errors = Array.from(root.querySelectorAll("mjx-merror"))
    .map((el) => el.getAttribute("data-mjx-error") || el.textContent);
  const prose = root.cloneNode(true);
  prose.querySelectorAll("pre, code, script, style, textarea, .highlight")
    .forEach((el) => el.remove());
  const text = prose.textContent;
  return {
    count: root.querySelectorAll(".math").length,
    untypeset, errors,
    raw: ["$$", "\\\\[", "\\\\(", "\\\\begin{"].filter((s) => text.includes(s)),
  };
}"""

IMAGES_THAT_DO_NOT_DECODE = """async () => {
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  const results = await Promise.all(images.map((img) =>
    img.decode().then(() => (img.naturalWidth > 0 ? null : img.src), () => img.src)));
  return {count: images.length, broken: results.filter((src) => src !== null)};
}"""

ERROR_OUTPUTS = """() => {
  const outside = (el) => !el.closest(".tag_raises-exception");
  const bad = Array.from(document.querySelectorAll(
      ".output.traceback, .output.error, .system-message, .problematic,"
      + " .jupyter-widgets-error-widget, .widget-error"))
    .filter(outside).map((el) => el.className + ": " + el.textContent.trim().slice(0, 200));
  Array.from(document.querySelectorAll(".cell_output")).filter(outside).forEach((el) => {
    if (el.textContent.includes("Traceback (most recent call last)")) {
      bad.push("traceback: " + el.textContent.trim().slice(0, 200));
    }
  });
  return bad;
}"""

# The element a rendered widget view draws into: ipywidgets' controls mark theirs
# .jupyter-widgets; anywidget's views (the explorers) are plain Lumino widgets (.lm-Widget).
WIDGET_STATE = """() => {
  const state = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const views = Array.from(
    document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  const saved = state ? Object.keys(JSON.parse(state.textContent).state) : [];
  return {
    saved: saved.length,
    views: views.map((v) => {
      const id = JSON.parse(v.textContent).model_id;
      const widget = v.parentElement.querySelector(".jupyter-widgets, .lm-Widget");
      return {id, hasState: saved.includes(id),
              rendered: Boolean(widget && widget.offsetWidth > 0 && widget.offsetHeight > 0)};
    }),
  };
}"""

ALL_SAVED_WIDGETS_RENDERED = """() => Array.from(
    document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
  .every((v) => { const w = v.parentElement.querySelector(".jupyter-widgets, .lm-Widget");
                  return w && w.offsetWidth > 0; })"""


@pytest.mark.parametrize("docname", toc_docnames())
def test_page(docname, offline_page, site_url, artifacts):
    page = offline_page
    traffic = attach_offline_routes(page, site_url)
    response = page.goto(f"{site_url}{docname}.html", wait_until="load")
    assert response is not None and response.status == 200, f"{docname}.html did not load"

    has_mathjax = page.evaluate(WAIT_FOR_MATH)
    math = page.evaluate(MATH_REPORT)
    if math["count"]:
        assert has_mathjax, f"{docname}: the page has math but MathJax did not start"
    assert not math["untypeset"], f"{docname}: math left untypeset: {math['untypeset']}"
    assert not math["errors"], f"{docname}: MathJax errors: {math['errors']}"
    assert not math["raw"], f"{docname}: raw TeX delimiters in the prose: {math['raw']}"

    widgets = page.evaluate(WIDGET_STATE)
    if widgets["views"]:
        missing = [v["id"] for v in widgets["views"] if not v["hasState"]]
        assert not missing, f"{docname}: widget views without saved state: {missing}"
        page.wait_for_function(ALL_SAVED_WIDGETS_RENDERED, timeout=30_000)
        widgets = page.evaluate(WIDGET_STATE)
        blank = [v["id"] for v in widgets["views"] if not v["rendered"]]
        assert not blank, f"{docname}: saved widgets that did not render: {blank}"

    images = page.evaluate(IMAGES_THAT_DO_NOT_DECODE)
    assert not images["broken"], f"{docname}: images that do not decode: {images['broken']}"
    errors = page.evaluate(ERROR_OUTPUTS)
    assert not errors, f"{docname}: error output on the page:\n" + "\n".join(errors)

    if docname in SCREENSHOT or widgets["views"]:
        page.screenshot(path=str(artifacts / f"{docname.replace('/', '__')}.png"), full_page=True)

    problems = traffic.problems()
    assert not problems, f"{docname}:\n" + "\n".join(problems)


@pytest.mark.parametrize("docname", NOTEBOOK_DOCS)
def test_notebook_page_launches_on_binder_and_colab(docname, offline_page, site_url):
    page = offline_page
    attach_offline_routes(page, site_url)
    page.goto(f"{site_url}{docname}.html", wait_until="domcontentloaded")
    # the launch buttons, not links the page's own text makes (the teachers' page shows one)
    launch = "links => links.filter(a => !a.closest('article')).map(a => a.href)"
    binder = page.eval_on_selector_all('a[href^="https://mybinder.org/"]', launch)
    expected = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{docname}.ipynb"
    assert binder == [expected], f"{docname}: Binder links {binder}"
    assert (REPO / f"{docname}.ipynb").is_file()
    colab = page.eval_on_selector_all('a[href^="https://colab.research.google.com/"]', launch)
    assert colab == [
        f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{docname}.ipynb"
    ]
    assert page.locator(".btn-launch-thebe, button[onclick*='initThebe']").count() >= 1


def test_the_offline_routing_serves_the_pinned_cdn_scripts(offline_page, site_url):
    """The front page's MathJax comes from the npm copy (so the routing is really in use)."""
    page = offline_page
    traffic = attach_offline_routes(page, site_url)
    page.goto(f"{site_url}{toc_docnames()[0]}.html", wait_until="load")
    page.evaluate(WAIT_FOR_MATH)
    assert any("/npm/mathjax@" in url for url in traffic.served_from_npm), traffic
    assert not traffic.problems(), traffic.problems()
