"""The API reference appendix documents every public name of every cnnlib module.

book/api_reference.md asks autodoc for one module per section. These tests read that page's
source to find the modules, and the built page to check that each name in a module's
``__all__`` got its own entry, so a new module or a new public function cannot be left out.
"""

import importlib
import inspect
import pkgutil
import re

import pytest
from booktools import REPO, SITE

import cnnlib

pytestmark = pytest.mark.book

SOURCE = REPO / "book" / "api_reference.md"
PAGE = SITE / "book" / "api_reference.html"
# Entry points and examples are run, not imported; they are described in the chapters.
NOT_DOCUMENTED = {"cnnlib.cli", "cnnlib.examples"}


def documented_modules() -> list[str]:
    return re.findall(r"^\.\. automodule:: (\S+)", SOURCE.read_text(encoding="utf8"), re.M)


def public_modules() -> list[str]:
    return [
        f"cnnlib.{m.name}"
        for m in pkgutil.iter_modules(cnnlib.__path__)
        if not m.name.startswith("_") and f"cnnlib.{m.name}" not in NOT_DOCUMENTED
    ]


def test_every_public_module_has_a_section():
    missing = sorted(set(public_modules()) - set(documented_modules()))
    assert not missing, f"book/api_reference.md has no automodule section for {missing}"


@pytest.fixture(scope="module")
def entries() -> set[str]:
    if not PAGE.exists():
        pytest.fail(f"{PAGE} is missing: build the site first with `make book`")
    html = PAGE.read_text(encoding="utf8")
    return set(re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', html))


@pytest.mark.parametrize("module", documented_modules())
def test_every_name_in_all_has_an_entry(module, entries):
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None) or [
        n
        for n, v in vars(mod).items()
        if not n.startswith("_") and getattr(v, "__module__", None) == module
    ]
    assert names, f"{module} exports nothing"
    submodules = [n for n in names if inspect.ismodule(getattr(mod, n))]
    missing = [n for n in names if n not in submodules and f"{module}.{n}" not in entries]
    missing += [n for n in submodules if f"{module}.{n}" not in documented_modules()]
    assert not missing, f"the API reference has no entry for {module}.{missing}"
