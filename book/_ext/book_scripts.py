"""Three small fixes to the scripts Jupyter Book 1 puts on every page, found by the browser tests.

1. Inline scripts added by extensions (sphinx-thebe's ``const THEBE_JS_URL = ...``,
   sphinx-togglebutton's selector) reach the page twice; a repeated ``const`` is a SyntaxError
   that stops the second copy. sphinx-thebe's constants are declared with ``var`` instead.
2. The ipywidgets HTML manager bundles several AMD modules, and each loads its fonts from the
   folder of the URL require.js derives for its name, relative to the page, not to the CDN the
   bundle came from, so they 404. ``paths`` entries (a global ``require`` set before require.js
   loads is its configuration) and ``__jupyter_widgets_assets_path__`` map every bundled module
   into the manager's ``dist/`` folder on the CDN, where the fonts are. The modules are defined
   by the bundle itself, so require.js never fetches these URLs.
3. The HTML manager typesets widget labels with MathJax 2's ``MathJax.Hub.Queue``; the book
   loads MathJax 3, which has no ``Hub``. A two-line ``Hub`` forwards to MathJax 3.
"""

import re

from sphinx.application import Sphinx

WIDGET_GLUE = """
var require = {{paths: {{
  "@jupyter-widgets/html-manager/dist": "{assets}",
  "@jupyter-widgets/html-manager": "{assets}/html-manager",
  "@jupyter-widgets/base": "{assets}/base",
  "@jupyter-widgets/base7": "{assets}/base7",
  "@jupyter-widgets/controls": "{assets}/controls",
  "@jupyter-widgets/controls7": "{assets}/controls7",
}}}};
window.__jupyter_widgets_assets_path__ = "{assets}/";
document.addEventListener("DOMContentLoaded", function () {{
  if (window.MathJax && MathJax.startup && !MathJax.Hub) {{
    MathJax.Hub = {{Queue: function () {{
      for (const command of arguments) {{
        if (Array.isArray(command) && command[0] === "Typeset" && command[2]) {{
          const element = command[2];
          MathJax.startup.promise.then(() => MathJax.typesetPromise([element]));
        }}
      }}
    }}}};
  }}
}});
""".strip()


def _widget_assets(app: Sphinx) -> str | None:
    for url in app.config.nb_ipywidgets_js:
        if url.endswith("/embed-amd.js"):
            return url.rsplit("/", 1)[0]
    return None


def _page_scripts(app, pagename, templatename, context, doctree):
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        body = attributes.get("body", "")
        if body.startswith("const THEBE_JS_URL"):
            # Shared by both copies of the script on the page: declare with var, which may repeat.
            attributes["body"] = re.sub(r"\bconst (\w+) =", r"var \1 =", body)


def _add_widget_glue(app: Sphinx):
    assets = _widget_assets(app)
    if assets is not None:
        # Priority below myst-nb's widget scripts (500) so it runs before the manager loads.
        app.add_js_file(None, body=WIDGET_GLUE.format(assets=assets), priority=400)


def setup(app: Sphinx):
    app.connect("builder-inited", _add_widget_glue)
    app.connect("html-page-context", _page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
