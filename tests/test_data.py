"""cnnlib.data: digits, shapes, the loader and the file readers (files made in tmp_path)."""

import pickle

import numpy as np
import pytest
from datasets import write_idx as _write_idx

from cnnlib.data import (
    DataLoader,
    draw_shape,
    load_cifar10,
    load_digits,
    load_mnist,
    make_shapes,
    read_idx,
)


@pytest.mark.parametrize("size", [8, 28, 32])
def test_load_digits_shapes_range_and_split(size):
    d = load_digits(size=size)
    assert d.x_train.shape[1:] == (1, size, size) and d.x_train.dtype == np.float32
    assert len(d.x_train) + len(d.x_test) == 1797
    assert len(d.x_test) == 450  # ceil(0.25 * 1797)
    assert d.y_train.dtype == np.int64
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0 and d.x_train.max() > 0.9
    # stratified: every class keeps (nearly) its share in the test set
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47
    if size == 32:  # LeNet's convention: a 28x28 image inside a 2-pixel zero border
        assert np.all(d.x_train[:, :, :2, :] == 0) and np.all(d.x_train[:, :, 30:, :] == 0)


def test_load_digits_seeded_and_consistent_with_8x8():
    a, b, c = load_digits(seed=1), load_digits(seed=1), load_digits(seed=2)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)
    big = load_digits(size=28, seed=1)
    np.testing.assert_array_equal(a.y_train, big.y_train)  # same split, only resized
    # corners aligned bilinear resize: corner pixels are kept
    np.testing.assert_allclose(big.x_train[:, 0, 0, 0], a.x_train[:, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(big.x_train[:, 0, -1, -1], a.x_train[:, 0, -1, -1], atol=1e-6)


def test_load_digits_rejects_bad_size():
    with pytest.raises(ValueError, match="size must be 8, 28 or 32"):
        load_digits(size=16)


def test_draw_shape_areas():
    # anti-aliased coverage approximates the analytic area of each shape
    size, scale = 64, 0.8
    r = size / 2 * scale * 0.9
    assert draw_shape("circle", size, scale=scale).sum() == pytest.approx(np.pi * r**2, rel=0.02)
    assert draw_shape("square", size, scale=scale).sum() == pytest.approx((1.6 * r) ** 2, rel=0.02)
    tri = 3 * np.sqrt(3) / 4 * r**2
    assert draw_shape("triangle", size, scale=scale).sum() == pytest.approx(tri, rel=0.03)


def test_draw_shape_translation_and_rotation():
    base = draw_shape("triangle", 32, scale=0.5)
    moved = draw_shape("triangle", 32, center=(4, -3), scale=0.5)
    np.testing.assert_allclose(moved[1:29, 4:32], base[4:32, 0:28], atol=1e-12)
    turned = draw_shape("triangle", 32, angle=90, scale=0.5)
    np.testing.assert_allclose(turned, np.rot90(base), atol=1e-12)  # counter-clockwise
    np.testing.assert_allclose(draw_shape("square", 32, angle=90), draw_shape("square", 32))


def test_make_shapes_balanced_seeded_and_noisy():
    s = make_shapes(60, size=24, translate=0.1, rotate=30, scale=(0.4, 0.6), seed=3)
    assert s.x.shape == (60, 1, 24, 24) and s.x.dtype == np.float32
    assert np.bincount(s.y).tolist() == [20, 20, 20]
    np.testing.assert_array_equal(s.x, make_shapes(60, 24, translate=0.1, rotate=30,
                                                   scale=(0.4, 0.6), seed=3).x)  # fmt: skip
    noisy = make_shapes(10, noise=0.2, seed=0)
    clean = make_shapes(10, seed=0)
    assert 0.0 <= noisy.x.min() and noisy.x.max() <= 1.0
    assert np.abs(noisy.x - clean.x).mean() > 0.05
    with pytest.raises(ValueError, match="unknown shape 'hexagon'"):
        make_shapes(4, shapes=("circle", "hexagon"))


def test_dataloader_batches_cover_everything_once():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10)
    loader = DataLoader(x, y, batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)
    assert len(DataLoader(x, y, batch_size=4, drop_last=True)) == 2
    # same seed, same sequence of epochs; a second epoch is a new order
    a, b = DataLoader(x, y, 4, True, seed=5), DataLoader(x, y, 4, True, seed=5)
    ea1 = np.concatenate([yb for _, yb in a])
    ea2 = np.concatenate([yb for _, yb in a])
    assert ea1.tolist() == np.concatenate([yb for _, yb in b]).tolist()
    assert ea1.tolist() != ea2.tolist()
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        DataLoader(x, y[:9])


def test_dataloader_transform_and_torch_device():
    torch = pytest.importorskip("torch")
    x, y = np.ones((6, 1, 2, 2), np.float32), np.arange(6)
    loader = DataLoader(x, y, batch_size=3, transform=lambda xb: 2 * xb, device="torch")
    xb, yb = next(iter(loader))
    assert isinstance(xb, torch.Tensor) and torch.all(xb == 2) and yb.dtype == torch.int64


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_roundtrip(tmp_path, compress):
    imgs = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    _write_idx(tmp_path / "a", imgs, 0x08, compress)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), imgs)
    floats = np.linspace(-1, 1, 12).reshape(3, 4).astype(">f4")
    _write_idx(tmp_path / "b", floats, 0x0D, compress)
    out = read_idx(tmp_path / "b")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, floats)


def test_read_idx_rejects_garbage(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 2), np.uint8), 0x08, False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="3 bytes follow"):
        read_idx(tmp_path / "short")


def test_load_mnist(tmp_path):
    imgs = np.random.default_rng(1).integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs, 0x08, True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 0x08, False)
    x, y = load_mnist(tmp_path, kind="test")
    assert x.shape == (7, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0] * 255, imgs, atol=1e-4)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, kind="train")


def test_load_cifar10(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(2)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(4, 3072)).astype(np.uint8)
        labels = rng.integers(0, 10, size=4).tolist()
        batches[name] = (data, labels)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"x"}, f)
    c = load_cifar10(tmp_path)
    assert c.x_train.shape == (20, 3, 32, 32) and c.x_test.shape == (4, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    # first 1024 values of a row are the red plane, row-major
    np.testing.assert_allclose(c.x_train[4, 0] * 255, data[0, :1024].reshape(32, 32), atol=1e-4)
    np.testing.assert_allclose(c.x_train[4, 2, 0, 5] * 255, data[0, 2048 + 5], atol=1e-4)
    assert c.y_train[4:8].tolist() == labels
    assert load_cifar10(folder).y_test.tolist() == batches["test_batch"][1]
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar10(tmp_path / "nothing")
