"""_config.yml and _toc.yml say what Jupyter Book 1 understands, and what the course needs.

Jupyter Book ignores keys it does not know, so a misspelt key silently does nothing. The known
keys are taken from jupyter_book's own files: the JSON schema it validates against and the
default configuration it documents as the master list (each lists a few keys the other lacks).
Keys under ``sphinx.config`` are Sphinx settings; they are checked against the configuration
values that Sphinx and the extensions Jupyter Book loads register.
"""

import json
from pathlib import Path

import jupyter_book
import pytest
import yaml
from booktools import REPO, toc_docnames
from jupyter_book.config import get_final_config, validate_yaml
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

pytestmark = pytest.mark.book

JB = Path(jupyter_book.__file__).parent
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf8"))
# Keys whose values are free-form mappings, checked elsewhere or not at all.
OPEN_KEYS = {"sphinx.config", "sphinx.local_extensions", "latex.latex_documents"}


def schema_keys(schema, prefix=""):
    keys = set()
    for name, sub in schema.get("properties", {}).items():
        keys.add(prefix + name)
        keys |= schema_keys(sub, prefix + name + ".")
    return keys


def default_keys(mapping, prefix=""):
    keys = set()
    for name, value in mapping.items():
        keys.add(prefix + name)
        if isinstance(value, dict) and prefix + name not in OPEN_KEYS:
            keys |= default_keys(value, prefix + name + ".")
    return keys


def user_keys(mapping, prefix=""):
    keys = []
    for name, value in mapping.items():
        keys.append(prefix + name)
        if isinstance(value, dict) and prefix + name not in OPEN_KEYS:
            keys += user_keys(value, prefix + name + ".")
    return keys


def known_keys():
    schema = json.loads((JB / "config_schema.json").read_text(encoding="utf8"))
    defaults = yaml.safe_load((JB / "default_config.yml").read_text(encoding="utf8"))
    return schema_keys(schema) | default_keys(defaults)


def test_the_key_lists_are_read_from_jupyter_book():
    known = known_keys()
    # A few keys each source holds, so an empty or misread list cannot pass the next test.
    assert {"execute.timeout", "launch_buttons.thebe", "repository.branch"} <= known
    assert "only_build_toc_files" in known  # only in default_config.yml
    assert "execute.raise_on_error" in known  # only in config_schema.json
    assert "execute.timeout_per_cell" not in known


def test_every_config_key_is_one_jupyter_book_knows():
    unknown = [key for key in user_keys(CONFIG) if key not in known_keys()]
    assert not unknown, f"_config.yml keys Jupyter Book 1 would silently ignore: {unknown}"


def test_config_validates_against_the_schema():
    validate_yaml(CONFIG, raise_on_errors=True)


def test_every_sphinx_config_key_is_a_registered_sphinx_setting(tmp_path):
    """Start (not run) Sphinx with the configuration Jupyter Book derives from _config.yml."""
    sphinx_config, _ = get_final_config(
        user_yaml=REPO / "_config.yml",  # a path, so local extension folders join sys.path
        cli_config={"latex_individualpages": False},
        sourcedir=REPO,
    )
    sphinx_config["external_toc_path"] = str(REPO / "_toc.yml")
    (tmp_path / "src").mkdir()
    with docutils_namespace():
        app = Sphinx(
            srcdir=tmp_path / "src",
            confdir=None,
            outdir=tmp_path / "out",
            doctreedir=tmp_path / "doctrees",
            buildername="html",
            confoverrides=sphinx_config,
            status=None,
            warning=None,
        )
    registered = set(app.config._options)
    assert {"mathjax_path", "nb_execution_mode", "bibtex_bibfiles"} <= registered
    unknown = sorted(set(CONFIG["sphinx"]["config"]) - registered)
    assert not unknown, f"sphinx.config keys no loaded extension registers: {unknown}"


def test_execution_and_launch_settings():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["raise_on_error"] is True
    assert 0 < execute["timeout"] <= 600
    assert CONFIG["only_build_toc_files"] is True
    launch = CONFIG["launch_buttons"]
    assert launch["notebook_interface"] == "jupyterlab"
    assert launch["thebe"] is True
    assert launch["binderhub_url"] and launch["colab_url"]
    assert CONFIG["repository"]["branch"] == "main"
    assert CONFIG["repository"]["path_to_book"] == ""


def test_exclude_patterns_keep_sphinx_out_of_the_rest_of_the_repository():
    patterns = set(CONFIG["exclude_patterns"])
    for name in [".venv", "tests", "binder", "cnnlib", "README.md", "_build"]:
        assert name in patterns, name


def test_toc_lists_existing_files_and_ends_with_the_appendices():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf8"))
    assert toc["format"] == "jb-book"
    for docname in toc_docnames():
        found = [p for p in (REPO / docname).parent.glob(Path(docname).name + ".*")]
        assert any(p.suffix in {".md", ".ipynb"} for p in found), f"{docname} is missing"
    captions = [part["caption"] for part in toc["parts"]]
    order = [
        "Part I — Convolution",
        "Part II — Layers",
        "Part III — Learning",
        "Part IV — Architectures",
        "Part V — Training practice",
        "Part VI — Beyond the classics",
        "Appendices",
    ]
    assert captions == [c for c in order if c in captions], captions
    assert captions[-1] == "Appendices"
    assert all(part.get("chapters") for part in toc["parts"]), "a part with no chapters"


# --- the licences in the footer, and the course's theme CSS -----------------------------------

LICENCE_LINKS = [
    "https://github.com/cnn-course/cnn-course/blob/main/LICENSE",
    "https://creativecommons.org/licenses/by/4.0/",
    "https://github.com/cnn-course/cnn-course/blob/main/LICENSE-text.md",
    "https://github.com/cnn-course/cnn-course/blob/main/cnnlib/data/bundled/README.md",
]


def final_sphinx_config():
    config, _ = get_final_config(
        user_yaml=REPO / "_config.yml", cli_config={"latex_individualpages": False}, sourcedir=REPO
    )
    return config


def test_the_footer_states_the_licences():
    """html.extra_footer reaches the theme (the key is checked against Jupyter Book's above)."""
    footer = final_sphinx_config()["html_theme_options"].get("extra_footer", "")
    assert footer == CONFIG["html"]["extra_footer"]
    for url in LICENCE_LINKS:
        assert f'href="{url}"' in footer, url
    assert "MIT" in footer and "CC BY 4.0" in footer
    assert (REPO / "LICENSE").read_text(encoding="utf8").startswith("MIT License")
    text = (REPO / "LICENSE-text.md").read_text(encoding="utf8")
    assert "Creative Commons Attribution 4.0 International Public License" in text
    assert (REPO / "cnnlib/data/bundled/README.md").is_file()
    assert 'license = { text = "MIT" }' in (REPO / "pyproject.toml").read_text(encoding="utf8")


def test_the_theme_css_is_registered_and_holds_no_scripts():
    config = final_sphinx_config()
    static = [REPO / p for p in config["html_static_path"]]
    files = config["html_css_files"]
    assert "course.css" in files
    assert any((folder / "course.css").is_file() for folder in static), static
    for folder in static:
        assert not list(folder.rglob("*.js")), f"no scripts vendored into {folder}"
