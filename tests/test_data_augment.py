"""cnnlib.data.augment: each augmentation does what it says, seeded, without touching x."""

from functools import partial

import numpy as np
import pytest

from cnnlib.data import DataLoader, draw_shape
from cnnlib.data.augment import (
    MixedLoader,
    affine,
    color_jitter,
    compose,
    cutmix,
    cutout,
    gaussian_noise,
    hflip,
    mixup,
    random_crop,
    random_erasing,
    random_flip,
    random_rotation,
    random_scale,
    random_shift,
    translate,
    tta_predict,
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
    np.testing.assert_array_equal(hflip(x), x[..., ::-1])
    with pytest.raises(ValueError, match="random_flip: p must be a probability"):
        random_flip(x, p=1.5)


def test_translate_moves_pixels_and_fills_zeros():
    x = _batch(n=2, c=1, h=5, w=6)
    out = translate(x, 2, -1)
    np.testing.assert_array_equal(out[..., 2:, :5], x[..., :3, 1:])
    assert np.all(out[..., :2, :] == 0) and np.all(out[..., :, 5:] == 0)
    np.testing.assert_array_equal(translate(x, 0, 0), x)
    assert np.all(translate(x, 5, 0) == 0)


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
    # every shifted image is one of the 25 translations of the original
    for o, i in zip(s, x):
        assert any(
            np.array_equal(o, translate(i[None], dy, dx)[0])
            for dy in range(-2, 3)
            for dx in range(-2, 3)
        )
    with pytest.raises(ValueError, match="larger than the padded image"):
        random_crop(x, 20)


@pytest.mark.parametrize("h, w", [(9, 9), (7, 12)])
def test_affine_matches_torch_grid_sample(h, w):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(h * w)
    x = rng.random((3, 2, h, w))
    m = rng.normal(size=(3, 2, 2))
    out = affine(x, m)
    # grid_sample works in (x, y) = (col, row) coordinates scaled to [-1, 1]
    a, b = (h - 1) / 2, (w - 1) / 2
    theta = np.zeros((3, 2, 3))
    theta[:, 0, 0], theta[:, 0, 1] = m[:, 1, 1], m[:, 1, 0] * a / b
    theta[:, 1, 0], theta[:, 1, 1] = m[:, 0, 1] * b / a, m[:, 0, 0]
    grid = torch.nn.functional.affine_grid(torch.from_numpy(theta), (3, 2, h, w), True)
    ref = torch.nn.functional.grid_sample(torch.from_numpy(x), grid, "bilinear", "zeros", True)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-7, atol=1e-12)


def test_affine_in_chunks_equals_one_image_at_a_time():
    rng = np.random.default_rng(1)
    x = rng.random((600, 1, 6, 5)).astype(np.float32)  # more than one chunk of 256
    m = rng.normal(size=(600, 2, 2))
    out = affine(x, m)
    assert out.dtype == np.float32
    for i in (0, 255, 256, 599):
        np.testing.assert_allclose(out[i], affine(x[i : i + 1], m[i : i + 1])[0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"affine: matrices must have shape \(N, 2, 2\)"):
        affine(x, m[:5])


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


def test_color_jitter_brightness_and_contrast():
    x = _batch(c=1) * 0.6 + 0.1  # values in [0.1, 0.7], so a factor up to 1.4 never clips
    np.testing.assert_allclose(color_jitter(x, brightness=(0.5, 0.5)), 0.5 * x, rtol=1e-6)
    np.testing.assert_array_equal(color_jitter(x, brightness=(2.0, 2.0)), np.clip(2 * x, 0, 1))
    low = color_jitter(x, contrast=(0.5, 0.5))
    mean = x.mean(axis=(1, 2, 3), keepdims=True)  # per image
    np.testing.assert_allclose(low, mean + 0.5 * (x - mean), rtol=1e-6)
    np.testing.assert_allclose(
        color_jitter(x, contrast=(0.0, 0.0)), np.broadcast_to(mean, x.shape), rtol=1e-6
    )
    # both: each image gets one of the two orders, drawn per image, and both orders occur
    both = color_jitter(_batch(n=32, c=1), brightness=(2.0, 2.0), contrast=(0.5, 0.5), seed=0)
    x32 = _batch(n=32, c=1)
    m32 = x32.mean(axis=(1, 2, 3), keepdims=True)
    b_then_c = np.clip(2 * x32, 0, 1)
    b_then_c = 0.5 * b_then_c + 0.5 * b_then_c.mean(axis=(1, 2, 3), keepdims=True)
    c_then_b = np.clip(2 * (0.5 * x32 + 0.5 * m32), 0, 1)
    first = [np.allclose(o, r, atol=1e-6) for o, r in zip(both, b_then_c)]
    second = [np.allclose(o, r, atol=1e-6) for o, r in zip(both, c_then_b)]
    assert all(f or s for f, s in zip(first, second)) and any(first) and any(second)
    # random factors: from U(1 - b, 1 + b), different per image, reproducible
    j = color_jitter(x, brightness=0.4, seed=1)
    ratio = (j / x).reshape(len(x), -1)
    assert np.allclose(ratio, ratio[:, :1], rtol=1e-5)  # one factor per image
    assert np.all((ratio[:, 0] >= 0.6) & (ratio[:, 0] <= 1.4)) and ratio[:, 0].std() > 0.05
    np.testing.assert_array_equal(j, color_jitter(x, brightness=0.4, seed=1))
    assert j.dtype == x.dtype and np.array_equal(x, _batch(c=1) * 0.6 + 0.1)


def test_color_jitter_saturation_blends_with_grey():
    rgb = _batch(c=3)
    grey = 0.2989 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    out = color_jitter(rgb, saturation=(0.0, 0.0))
    np.testing.assert_allclose(out, np.repeat(grey[:, None], 3, 1), rtol=1e-6)
    np.testing.assert_allclose(color_jitter(rgb, saturation=(1.0, 1.0)), rgb, rtol=1e-6)
    with pytest.raises(ValueError, match="color_jitter: contrast"):
        color_jitter(rgb, contrast=(1.5, 0.5))


def _changed_box(o, i):
    """The bounding box of the pixels where o differs from i, and the number of them."""
    diff = np.any(o != i, axis=0)
    rows, cols = np.flatnonzero(diff.any(1)), np.flatnonzero(diff.any(0))
    return rows, cols, diff.sum()


def test_cutout_covers_one_clipped_square():
    x = _batch(n=64) + 0.5  # no pixel equals the fill value 0
    out = cutout(x, 4, seed=0)
    counts, clipped_top_left = [], 0
    for o, i in zip(out, x):
        rows, cols, count = _changed_box(o, i)
        clipped_top_left += (rows[0] == 0 and len(rows) < 4) or (cols[0] == 0 and len(cols) < 4)
        assert count == len(rows) * len(cols)  # a filled rectangle, all channels
        assert np.all(o[:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] == 0)
        assert len(rows) <= 4 and len(cols) <= 4
        counts.append(count)
    assert max(counts) == 16 and min(counts) < 16  # clipped at the border sometimes
    assert clipped_top_left > 0  # the centre, not the corner, is drawn over the image
    np.testing.assert_array_equal(cutout(x, 4, p=0.0), x)
    assert np.array_equal(x, _batch(n=64) + 0.5)


def test_random_erasing_rectangles_inside_the_image():
    x = _batch(n=200, c=1, h=20, w=20) + 0.5
    out = random_erasing(x, p=1.0, scale=(0.1, 0.2), ratio=(0.5, 2.0), seed=0)
    for o, i in zip(out, x):
        rows, cols, count = _changed_box(o, i)
        assert count == len(rows) * len(cols) and np.all(o[o != i] == 0)
        assert 0.1 * 400 * 0.8 <= count <= 0.2 * 400 * 1.25  # rounding of h and w
        assert 0.5 / 1.6 <= len(rows) / len(cols) <= 2.0 * 1.6
    erased = [not np.array_equal(o, i) for o, i in zip(random_erasing(x, p=0.5, seed=1), x)]
    assert 70 < sum(erased) < 130
    # a rectangle of 99 % of the image never fits strictly inside: unchanged, as torchvision
    np.testing.assert_array_equal(random_erasing(x, p=1.0, scale=(0.99, 0.99), seed=0), x)
    noisy = random_erasing(x[:4], p=1.0, value="random", seed=0)
    assert np.std(noisy[noisy != x[:4]]) > 0.5
    with pytest.raises(ValueError, match="random_erasing: value"):
        random_erasing(x, value="mean")


def _partners(t):
    """With labels y = arange(N): each row's own share and the index of its partner."""
    own = np.diag(t).copy()
    others = t - np.diag(own)
    partner = np.where(others.max(1) > 0, others.argmax(1), np.arange(len(t)))
    return own, partner


def test_mixup_blends_images_and_labels_alike():
    x = _batch(n=16)
    y = np.arange(16)
    xm, t = mixup(x, y, alpha=1.0, num_classes=16, seed=3)
    assert t.shape == (16, 16) and t.dtype == np.float32
    np.testing.assert_allclose(t.sum(1), 1, rtol=1e-6)
    own, partner = _partners(t)
    lam = own[partner != np.arange(16)]
    assert np.allclose(lam, lam[0]) and 0 < lam[0] < 1  # one lam per batch
    expected = lam[0] * x + (1 - lam[0]) * x[partner]
    np.testing.assert_allclose(xm, expected, rtol=1e-5, atol=1e-6)
    assert sorted(partner) == list(range(16))  # a permutation of the batch
    with pytest.raises(ValueError, match="mixup: num_classes"):
        mixup(x, y)
    # soft targets mix again (mixup after label smoothing or cutmix)
    _, t2 = mixup(x, t, alpha=1.0, seed=4)
    np.testing.assert_allclose(t2.sum(1), 1, rtol=1e-6)


def test_mixup_lambda_follows_beta():
    x, y = _batch(n=2), np.array([0, 1])
    g = np.random.default_rng(0)
    lam = []
    for _ in range(4000):
        xm, t = mixup(x, y, alpha=0.2, num_classes=2, generator=g)
        if t[0, 1] > 0:  # the partner was the other image: t[0] = (lam, 1 - lam)
            lam.append(t[0, 0])
    lam = np.array(lam)
    assert abs(lam.mean() - 0.5) < 0.03
    assert abs(lam.var() - 1 / (4 * (2 * 0.2 + 1))) < 0.02  # uniform would give 1/12


def test_mixup_loss_is_the_papers_mixed_loss():
    torch = pytest.importorskip("torch")
    from cnnlib import nn

    rng = np.random.default_rng(0)
    x, y = rng.random((8, 1, 4, 4)), rng.integers(0, 5, 8)
    g = np.random.default_rng(1)
    _, t = mixup(x, y, alpha=1.0, num_classes=5, generator=g)
    g = np.random.default_rng(1)
    lam, perm = g.beta(1.0, 1.0), g.permutation(8)
    logits = rng.normal(size=(8, 5))
    ce = torch.nn.functional.cross_entropy
    z = torch.from_numpy(logits)
    ref = lam * ce(z, torch.from_numpy(y)) + (1 - lam) * ce(z, torch.from_numpy(y[perm]))
    assert float(nn.CrossEntropyLoss()(logits, t)) == pytest.approx(float(ref), rel=1e-10)
    assert float(ce(z, torch.from_numpy(t))) == pytest.approx(float(ref), rel=1e-10)


def test_cutmix_pastes_one_box_and_mixes_labels_by_area():
    x = _batch(n=16, c=1, h=10, w=14)
    y = np.arange(16)
    for seed in range(20):
        xm, t = cutmix(x, y, alpha=1.0, num_classes=16, seed=seed)
        own, partner = _partners(t)
        moved = partner != np.arange(16)
        if not moved.any() or np.all(own == 1):
            continue
        i = np.flatnonzero(moved)[0]
        rows, cols, count = _changed_box(xm[i], x[i])
        area = len(rows) * len(cols)
        assert count == area and own[i] == pytest.approx(1 - area / 140, rel=1e-6)
        box = (..., slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        for k in range(16):  # the same box in every image, filled from its partner
            np.testing.assert_array_equal(xm[k][box], x[partner[k]][box])
            outside = np.ones((10, 14), bool)
            outside[box[1:]] = False
            np.testing.assert_array_equal(xm[k][:, outside], x[k][:, outside])
    with pytest.raises(ValueError, match="cutmix: x has 16 images but y has 3"):
        cutmix(x, y[:3], num_classes=16)


def test_mixed_loader_feeds_fit_with_soft_targets():
    torch = pytest.importorskip("torch")
    from cnnlib import nn, optim
    from cnnlib.train import fit

    x, y = _batch(n=20, c=1, h=4, w=4), np.arange(20) % 3
    loader = DataLoader(x, y, batch_size=8, shuffle=True, seed=0)
    mixed = MixedLoader(loader, partial(mixup, alpha=0.4, num_classes=3), seed=0, device="torch")
    batches = list(mixed)
    assert len(mixed) == 3 == len(batches)
    assert isinstance(batches[0][0], torch.Tensor) and batches[0][1].shape == (8, 3)
    again = list(MixedLoader(DataLoader(x, y, 8, True, 0), partial(mixup, num_classes=3), seed=0))
    assert not np.allclose(again[0][0], batches[0][0].numpy())  # other alpha, other images
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        MixedLoader(loader, partial(cutmix, num_classes=3), seed=1),
        progress=False,
    )
    assert 0 <= history["accuracy"][0] <= 1


def test_tta_averages_softmax_over_views():
    rng = np.random.default_rng(0)
    x = rng.random((10, 1, 4, 4))
    w = rng.normal(size=(16, 3))

    def model(xb):
        return xb.reshape(len(xb), -1) @ w

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    out = tta_predict(model, x, [lambda v: v, hflip], batch_size=3)
    np.testing.assert_allclose(out, (softmax(model(x)) + softmax(model(hflip(x)))) / 2)
    np.testing.assert_allclose(tta_predict(model, x, [lambda v: v]), softmax(model(x)))
    with pytest.raises(ValueError, match="tta_predict: views is empty"):
        tta_predict(model, x, [])


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
