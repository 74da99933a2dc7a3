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


@pytest.mark.parametrize("value", [np.zeros(3), {"a": 1}, object()])
def test_glue_refuses_what_the_site_cannot_read_back(shown, value):
    with pytest.raises(TypeError, match="glue: 'acc' must be a number"):
        glue("acc", value)


@pytest.mark.parametrize("name", ["two words", "1x", 3])
def test_glue_name_is_a_variable_name(shown, name):
    with pytest.raises(TypeError, match="name must be a variable name"):
        glue(name, 1.0)
