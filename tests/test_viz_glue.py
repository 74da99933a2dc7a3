"""cnnlib.viz.glue records values the site's {eval} role reads back with ast.literal_eval."""

import ast

import numpy as np
import pytest

from cnnlib.viz.glue import glue

torch = pytest.importorskip("torch")


@pytest.fixture
def shown(monkeypatch):
    """What glue displays: (data, metadata) of each call."""
    calls = []
    import IPython.display

    monkeypatch.setattr(
        IPython.display, "display", lambda data, raw, metadata: calls.append((data, metadata))
    )
    return calls


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.float32(0.25), 0.25),
        (np.int64(12000), 12000),
        (np.bool_(True), True),
        (np.array(3.5), 3.5),
        (torch.tensor(2.0), 2.0),
        ("97.3%", "97.3%"),
        ((np.int64(2), 0.5), (2, 0.5)),
        ({"none": [np.float64(0.8), 0.7], 3: "x"}, {"none": [0.8, 0.7], 3: "x"}),
    ],
)
def test_glue_stores_a_literal(shown, value, expected):
    glue("acc", value)
    ((data, metadata),) = shown
    ((mime, text),) = data.items()
    assert mime == "application/papermill.record/text/plain"
    assert metadata["scrapbook"] == {"name": "acc", "mime_prefix": "application/papermill.record/"}
    back = ast.literal_eval(text)
    assert back == expected and type(back) is type(expected)


@pytest.mark.parametrize("value", [np.zeros(3), {1.5: 1}, {"a": np.zeros(2)}, object()])
def test_glue_refuses_what_the_site_cannot_read_back(shown, value):
    with pytest.raises(TypeError, match="glue: 'acc' must be a number"):
        glue("acc", value)


@pytest.mark.parametrize("name", ["two words", "1x", 3])
def test_glue_name_is_a_variable_name(shown, name):
    with pytest.raises(TypeError, match="name must be a variable name"):
        glue(name, 1.0)


# -- the site's {eval} role (book/_ext/eval_glue.py) over glued values --------------------------


@pytest.fixture(scope="module")
def role():
    import importlib.util
    from pathlib import Path

    pytest.importorskip("myst_nb")
    path = Path(__file__).resolve().parent.parent / "book" / "_ext" / "eval_glue.py"
    spec = importlib.util.spec_from_file_location("eval_glue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GLUED = {"acc": "0.8125", "accs": "[0.5, 0.25]", "over": "{'none': [0.75, 0.5]}"}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('f"{acc:.1%}"', "81.2%"),
        ('", ".join(f"{a:.0%}" for a in accs)', "50%, 25%"),  # a is bound, not glued
        ("[round(100 * a) for a in accs]", [50, 25]),
        ("f\"{100 * over['none'][1]:.0f}\"", "50"),
        ("max(accs) - min(accs)", 0.25),
    ],
)
def test_the_site_role_evaluates_over_glued_values(role, expression, expected):
    assert role.evaluate(expression, GLUED.__getitem__) == expected


def test_the_site_role_reads_only_free_names_and_calls_only_safe_builtins(role):
    import ast

    tree = ast.parse('", ".join(f"{a}" for a in accs)', mode="eval")
    assert role.free_names(tree) == {"accs"}
    with pytest.raises(KeyError):  # not glued
        role.evaluate("missing + 1", GLUED.__getitem__)
    with pytest.raises(KeyError):  # not a safe builtin, so a glued name, which it is not
        role.evaluate("open('x')", GLUED.__getitem__)
    assert role.evaluate("len(accs)", GLUED.__getitem__) == 2
