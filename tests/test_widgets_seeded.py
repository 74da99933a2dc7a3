"""The explorers' seeded generator in Python reproduces the browser's numbers (js/common.js).

The known values below were printed by the JavaScript generator (node, and Chromium in the
browser tests); tests/test_widgets_js.py compares the two implementations directly too.
"""

import numpy as np
import pytest

from cnnlib.widgets.seeded import SeededRandom, mulberry32

# mulberry32(seed)() called five and three times in JavaScript
UNIFORM_0 = [
    0.26642920868471265,
    0.0003297457005828619,
    0.2232720274478197,
    0.1462021479383111,
    0.46732782293111086,
]
UNIFORM_123456789 = [0.2577907438389957, 0.9707721115555614, 0.7853280142880976]
# normals(0)() called four times: Box-Muller on the uniform pairs above and after
NORMAL_0 = [0.7871846599200555, 0.43143961704601397, -1.0777012643800048, -0.8195174925420556]


def test_uniforms_are_bit_for_bit_the_browsers():
    assert mulberry32(0, 5).tolist() == UNIFORM_0
    assert mulberry32(123456789, 3).tolist() == UNIFORM_123456789


def test_the_stream_can_be_read_in_pieces():
    whole = mulberry32(7, 1000)
    np.testing.assert_array_equal(
        np.concatenate([mulberry32(7, 300), mulberry32(7, 700, 300)]), whole
    )
    rng = SeededRandom(7)
    np.testing.assert_array_equal(np.concatenate([rng.uniform(10), rng.uniform(990)]), whole)
    assert rng.drawn == 1000


def test_normals_are_box_muller_on_pairs():
    u = np.array(UNIFORM_0[:4]).reshape(2, 2)
    by_hand = np.sqrt(-2 * np.log(1 - u[:, 0])) * np.cos(2 * np.pi * u[:, 1])
    z = SeededRandom(0).normal((4,))
    np.testing.assert_array_equal(z[:2], by_hand)
    # log and cos may differ in the last bit between C and JavaScript libraries
    np.testing.assert_allclose(z, NORMAL_0, rtol=1e-15)
    rng = SeededRandom(0)
    assert rng.normal((2,), std=3.0).tolist() == (3.0 * z[:2]).tolist() and rng.drawn == 4


def test_uniforms_are_uniform_and_normals_normal():
    u = mulberry32(1, 200_000)
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
    z = SeededRandom(2).normal((100_000,))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.005


def test_seed_must_be_an_integer():
    with pytest.raises(TypeError, match="seed must be an integer"):
        mulberry32(1.5, 3)
    assert mulberry32(-1, 2).tolist() == mulberry32(2**32 - 1, 2).tolist()  # seed | 0 in JS
