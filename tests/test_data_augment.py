"""cnnlib.data.augment: each augmentation does what it says, seeded, without touching x."""

from functools import partial

import numpy as np
import pytest

from cnnlib.data import draw_shape
from cnnlib.data.augment import (
    affine,
    compose,
    gaussian_noise,
    random_crop,
    random_flip,
    random_rotation,
    random_scale,
    random_shift,
)


def _batch(n=8, c=2, h=12, w=12):
    return np.random.default_rng(0).random((n, c, h, w)).astype(np.float32)


def test_flip():
    x = _batch()
    out = random_flip(x, p=0.5, seed=0)
    flipped = [np.array_equal(o, i[:, :, ::-1]) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    np.testing.assert_array_equal(random_flip(x, p=1.0, horizontal=False), x[:, :, ::-1, :])
    np.testing.assert_array_equal(random_flip(x, seed=3), random_flip(x, seed=3))


def test_crop_and_shift_are_windows_of_the_padded_image():
    x = _batch()
    out = random_crop(x, 10, padding=1, seed=1)
    assert out.shape == (8, 2, 10, 10) and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for o, p in zip(out, padded):
        assert any(
            np.array_equal(o, p[:, i : i + 10, j : j + 10]) for i in range(5) for j in range(5)
        )
    s = random_shift(x, max_shift=2, seed=0)
    assert s.shape == x.shape
    # every shifted image keeps its pixel values, moved; total mass can only drop at borders
    assert np.all(s.sum(axis=(1, 2, 3)) <= x.sum(axis=(1, 2, 3)) + 1e-4)
    with pytest.raises(ValueError, match="larger than the padded image"):
        random_crop(x, 20)


def test_rotation_matches_exact_quarter_turn():
    img = draw_shape("triangle", 16, scale=0.6)[None, None]
    out = random_rotation(np.repeat(img, 3, 0), degrees=90, seed=0)  # angles in (-90, 90)
    quarter = affine(img, np.array([[[0.0, 1.0], [-1.0, 0.0]]]))
    np.testing.assert_allclose(quarter[0, 0], np.rot90(img[0, 0]), atol=1e-12)
    assert out.shape == (3, 1, 16, 16) and not np.allclose(out[0], out[1])
    np.testing.assert_allclose(random_rotation(img, 0.0, seed=0), img, atol=1e-12)


def test_scale_zooms_about_the_centre():
    img = draw_shape("circle", 32, scale=0.4)[None, None]
    big = random_scale(img, scale=(1.5, 1.5), seed=0)
    assert big.sum() == pytest.approx(img.sum() * 1.5**2, rel=0.05)
    np.testing.assert_allclose(random_scale(img, (1.0, 1.0)), img, atol=1e-12)


def test_noise_and_compose_are_seeded():
    x = _batch()
    n = gaussian_noise(x, std=0.1, clip=None, seed=0)
    assert (n - x).std() == pytest.approx(0.1, rel=0.05)
    assert x.min() >= 0 and np.array_equal(x, _batch())  # input untouched
    aug = partial(compose, random_flip, partial(random_crop, size=12, padding=2), gaussian_noise)
    a, b = aug(seed=7), aug(seed=7)
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))  # the generator advances between calls
