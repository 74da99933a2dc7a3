"""Train a cnnlib backbone on MNIST, Fashion-MNIST or CIFAR-10 from the command line.

    python -m cnnlib.train --dataset fashion-mnist           # the subset shipped in cnnlib
    python -m cnnlib.train --dataset mnist --data-dir ~/data/mnist --model lenet5 --epochs 2
    python -m cnnlib.train --dataset cifar10 --model resnet18 --device cuda \\
        --checkpoint runs/r18.ckpt            # saved after every epoch
    python -m cnnlib.train ... --checkpoint runs/r18.ckpt --resume --epochs 5   # carry on

Nothing is downloaded. The data come from --data-dir, else from data/DATASET if that folder
exists, holding the standard files (MNIST, Fashion-MNIST: train-images-idx3-ubyte,
train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz;
CIFAR-10: the python-version batches data_batch_1..5 and test_batch); else, for MNIST and
Fashion-MNIST, from the subsets shipped inside cnnlib (8,000 + 2,000 and 12,000 + 2,000
images, cnnlib/data/bundled). The run prints which data it used.

The same code runs on NumPy arrays (`--device numpy`) or on torch tensors (`cpu`, `cuda`).

A checkpoint is a pickle of NumPy arrays (no torch needed to read it): the model's
state_dict, the optimizer's state_dict, the number of finished epochs, the history, the
arguments, and the states of the two random generators (the loader's shuffling and
cnnlib.random's, which dropout draws from). So a run stopped after epoch k and resumed
takes exactly the steps an uninterrupted run takes.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np

from cnnlib import models, nn, optim
from cnnlib.backend import to_numpy
from cnnlib.data import DataLoader, load_cifar10, load_fashion_mnist, load_mnist
from cnnlib.data.mnist import BUNDLED_DIR
from cnnlib.random import get_generator, manual_seed
from cnnlib.train import evaluate, fit

__all__ = [
    "main", "parse_args", "run", "build_model", "load_data", "data_source", "EXPECTED_FILES",
    "MODELS", "BUNDLED",
]  # fmt: skip

PROG = "python -m cnnlib.train"
_MNIST = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
EXPECTED_FILES = {
    "mnist": _MNIST,
    "fashion-mnist": _MNIST,
    "cifar10": [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"],
}
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
# where the full datasets can be had (cnnlib itself downloads nothing)
SOURCES = {
    "mnist": "http://yann.lecun.com/exdb/mnist/ (mirror: "
    "https://ossci-datasets.s3.amazonaws.com/mnist/)",
    "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz)",
}
# the IDX datasets' loaders: load(folder, kind) reads the files, load(None, kind) the subset
# shipped in cnnlib (the file in BUNDLED)
_IDX_LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
BUNDLED = {"mnist": BUNDLED_DIR / "mnist.npz", "fashion-mnist": BUNDLED_DIR / "fashion_mnist.npz"}


def _small(builder, **fixed):
    """A backbone with the 3x3/1 stem that keeps 28x28 and 32x32 maps from vanishing."""
    return lambda c, k, width: builder(
        num_classes=k, in_channels=c, width=width, small=True, **fixed
    )


def _vgg(depth):
    # five 2x2 pools take 32x32 to 1x1: pool to 1x1 and use a 512-wide head (as for CIFAR)
    return lambda c, k, width: models.vgg(
        depth, k, batch_norm=True, in_channels=c, width=width, hidden=512, pool_size=1
    )


# name -> builder(in_channels, num_classes, width); LeNet-5 wants 32x32 (MNIST is padded)
MODELS = {
    "lenet5": lambda c, k, width: models.lenet5(num_classes=k, in_channels=c),
    "resnet18": _small(models.resnet18),
    "resnet34": _small(models.resnet34),
    "resnet50": _small(models.resnet50),
    "vgg11": _vgg(11),
    "vgg16": _vgg(16),
    "googlenet": _small(models.googlenet),
}
_FIXED_WIDTH = {"lenet5"}
# arguments a resumed run must share with the run that wrote the checkpoint
_SAME_ON_RESUME = (
    "dataset", "model", "width", "dtype", "batch_size", "optimizer", "lr", "momentum",
    "weight_decay", "seed", "limit",
)  # fmt: skip


def build_model(name: str, in_channels: int, num_classes: int = 10, width: float = 1.0):
    """The backbone `name` (a key of MODELS) for images with `in_channels` channels."""
    if name not in MODELS:
        raise ValueError(f"build_model: unknown model {name!r}; choose from {sorted(MODELS)}")
    return MODELS[name](in_channels, num_classes, width)


class DataMissing(Exception):
    """The data directory lacks some of the standard files."""


def load_data(dataset: str, data_dir=None, limit: int | None = None):
    """(x_train, y_train, x_test, y_test) as float32 NCHW in [0, 1] and int64 labels.

    data_dir=None reads the subset shipped in cnnlib (MNIST and Fashion-MNIST only). Raises
    DataMissing naming the directory and every expected file that is not there.
    """
    if data_dir is None:
        if dataset not in BUNDLED:
            raise DataMissing(
                f"no {NAMES[dataset]} data: cnnlib ships none; pass --data-dir "
                f"(the dataset: {SOURCES[dataset]})"
            )
        load = _IDX_LOADERS[dataset]
        (x_train, y_train), (x_test, y_test) = load(None, "train"), load(None, "test")
        return _first(limit, x_train, y_train, x_test, y_test)
    root = Path(data_dir).expanduser().resolve()
    names = EXPECTED_FILES[dataset]
    where = f"the full dataset: {SOURCES[dataset]}"
    if dataset in BUNDLED:
        where += "; or leave out --data-dir to train on the subset shipped in cnnlib"
    if dataset == "cifar10":
        folders = [root / "cifar-10-batches-py", root]
        if not any(all((f / n).exists() for n in names) for f in folders):
            missing = [n for n in names if not (root / n).exists()]
            raise DataMissing(
                f"no CIFAR-10 data in {root}: missing {', '.join(missing)} (the python-version "
                f"batches, expected in {root} or {folders[0]}). cnnlib downloads nothing: unpack "
                f"cifar-10-python.tar.gz there, or pass another --data-dir ({where})"
            )
        x_train, y_train, x_test, y_test = load_cifar10(root)
    else:
        missing = [n for n in names if not any((root / m).exists() for m in (n, n + ".gz"))]
        if missing:
            raise DataMissing(
                f"no {NAMES[dataset]} data in {root}: missing {', '.join(missing)} "
                "(each may also end in .gz). cnnlib downloads nothing: put the four standard "
                f"IDX files there, or pass another --data-dir ({where})"
            )
        load = _IDX_LOADERS[dataset]
        (x_train, y_train), (x_test, y_test) = load(root, "train"), load(root, "test")
    return _first(limit, x_train, y_train, x_test, y_test)


def _first(limit, *arrays):
    return tuple(arrays) if limit is None else tuple(a[:limit] for a in arrays)


def data_source(dataset: str, data_dir=None) -> str:
    """Where `load_data` reads `dataset` from, in words, with an absolute path."""
    if data_dir is None:
        shipped = f"subset shipped in cnnlib, {BUNDLED[dataset]}" if dataset in BUNDLED else "none"
        return f"{NAMES[dataset]} {shipped}"
    return f"{NAMES[dataset]} files in {Path(data_dir).expanduser().resolve()}"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each option's help (none for flags and options without one)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    doc = __doc__.split("\n\n")
    p = argparse.ArgumentParser(
        prog=PROG, description="\n\n".join(doc[:2]), epilog=doc[2], formatter_class=_HelpFormatter
    )
    # fmt: off
    p.add_argument("--dataset", choices=sorted(EXPECTED_FILES), required=True,
                   help="the dataset to train on")
    p.add_argument("--data-dir", default=None,
                   help="folder with the dataset's standard files; default data/DATASET if it "
                   "exists, else (mnist, fashion-mnist) the subset shipped in cnnlib")
    p.add_argument("--model", choices=sorted(MODELS), default="lenet5",
                   help="the backbone (lenet5 reads 32x32: MNIST images are zero-padded)")
    p.add_argument("--width", type=float, default=1.0,
                   help="channel multiplier of the backbone (not lenet5)")
    p.add_argument("--epochs", type=int, default=1,
                   help="total epochs, counting those a resumed checkpoint already holds")
    p.add_argument("--batch-size", type=int, default=64, help="examples per training step")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                   help="SGD with momentum, or Adam")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD's momentum (SGD only)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 penalty, applied by the optimizer")
    p.add_argument("--device", choices=["numpy", "cpu", "cuda"], default="numpy",
                   help="NumPy arrays, or torch tensors on the CPU or a GPU")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="floating-point type of the parameters and images")
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N examples of each split (default: all)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights, the shuffling and dropout")
    p.add_argument("--checkpoint", default=None,
                   help="file to save the model, optimizer and history to after every epoch")
    p.add_argument("--resume", action="store_true",
                   help="continue the run saved in --checkpoint up to --epochs in total")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", default=None,
                   help="write the arguments, the data used and the metrics to this JSON file")
    # fmt: on
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """Parse and check the arguments; bad ones exit with status 2 and a message."""
    p = _parser()
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if not args.lr > 0:
        p.error(f"--lr must be > 0, got {args.lr}")
    if not 0 <= args.momentum < 1:
        p.error(f"--momentum must be in [0, 1), got {args.momentum}")
    if not args.width > 0:
        p.error(f"--width must be > 0, got {args.width}")
    if args.width != 1.0 and args.model in _FIXED_WIDTH:
        p.error(f"--width is not available for {args.model}")
    if args.resume and not args.checkpoint:
        p.error("--resume needs --checkpoint PATH (the file to continue from)")
    if args.resume and not Path(args.checkpoint).exists():
        p.error(f"--resume: checkpoint {args.checkpoint} does not exist")
    if args.device != "numpy":
        try:
            import torch
        except ImportError:
            p.error(f"--device {args.device} needs torch, which is not installed")
        if args.device == "cuda" and not torch.cuda.is_available():
            p.error("--device cuda: torch sees no CUDA GPU (use --device cpu or numpy)")
    if args.data_dir is None:  # data/DATASET if it exists, else the subset shipped in cnnlib
        default = Path("data") / args.dataset
        if default.exists() or args.dataset not in BUNDLED:
            args.data_dir = str(default)
    return args


def _numpy_tree(value):
    """`value` with every array replaced by a NumPy copy, so the pickle needs no torch."""
    if isinstance(value, dict):
        return {k: _numpy_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_numpy_tree(v) for v in value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.array(to_numpy(value), copy=True)
    return value


def save_checkpoint(path, **content) -> None:
    """Pickle `content` (arrays as NumPy) to `path` atomically: write a sibling, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(_numpy_tree(content), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_checkpoint(path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f)


def _fail(message: str):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def run(args: argparse.Namespace) -> dict:
    """Train as `args` says; returns the metrics written by --json."""
    source = data_source(args.dataset, args.data_dir)
    try:
        x_train, y_train, x_test, y_test = load_data(args.dataset, args.data_dir, args.limit)
    except DataMissing as e:
        _fail(str(e))
    except (OSError, ValueError, pickle.UnpicklingError) as e:
        _fail(f"cannot read the {source}: {e}")
    limited = f", --limit {args.limit}" if args.limit is not None else ""
    print(f"data: {source} ({len(x_train)} train + {len(x_test)} test images{limited})")
    if args.model == "lenet5" and x_train.shape[-1] == 28:
        pad = ((0, 0), (0, 0), (2, 2), (2, 2))  # LeNet-5 reads 32x32, as in the paper
        x_train, x_test = np.pad(x_train, pad), np.pad(x_test, pad)
    # standardise each channel with the training set's statistics
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    x_train, x_test = ((x - mean) / std for x in (x_train, x_test))
    x_train, x_test = (x.astype(args.dtype) for x in (x_train, x_test))

    manual_seed(args.seed)
    model = build_model(args.model, x_train.shape[1], 10, args.width)
    model.to(args.device if args.device != "cpu" else "torch", dtype=args.dtype)
    if args.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), args.lr, args.momentum, weight_decay=args.weight_decay)
    else:
        opt = optim.Adam(model.parameters(), args.lr, weight_decay=args.weight_decay)
    device = {"numpy": None, "cpu": "torch", "cuda": "cuda"}[args.device]
    train_loader = DataLoader(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed,
                              device=device)  # fmt: skip
    test_loader = DataLoader(x_test, y_test, max(args.batch_size, 256), device=device)
    loss_fn = nn.CrossEntropyLoss()

    history = {k: [] for k in ("loss", "accuracy", "test_loss", "test_accuracy", "seconds",
                               "images_per_s")}  # fmt: skip
    start_epoch = 0
    if args.resume:
        ckpt = load_checkpoint(args.checkpoint)
        saved = ckpt["args"]
        differ = [f"--{k.replace('_', '-')} {saved[k]} (now {getattr(args, k)})"
                  for k in _SAME_ON_RESUME if saved.get(k) != getattr(args, k)]  # fmt: skip
        if differ:
            _fail(f"--resume: {args.checkpoint} was written with " + ", ".join(differ))
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        train_loader.generator.bit_generator.state = ckpt["loader_rng"]
        get_generator().bit_generator.state = ckpt["cnnlib_rng"]
        history, start_epoch = ckpt["history"], ckpt["epoch"]
        print(f"resumed from {args.checkpoint} after epoch {start_epoch}")
        if args.epochs <= start_epoch:
            print(
                f"{PROG}: warning: {args.checkpoint} was saved after epoch {start_epoch} and "
                f"--epochs is {args.epochs} (the total, resumed epochs included): nothing to "
                f"train; pass --epochs {start_epoch + 1} or more to continue",
                file=sys.stderr,
            )

    for epoch in range(start_epoch, args.epochs):
        batches = train_loader
        if not args.no_progress:
            from tqdm.auto import tqdm

            batches = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False)
        h = fit(model, loss_fn, opt, batches, epochs=1, progress=False)
        if not args.no_progress:
            batches.close()
        test_loss, test_acc = evaluate(model, test_loader, loss_fn)
        for key, value in [("loss", h["loss"][0]), ("accuracy", h["accuracy"][0]),
                           ("test_loss", test_loss), ("test_accuracy", test_acc),
                           ("seconds", h["time"][0]),
                           ("images_per_s", len(x_train) / h["time"][0])]:  # fmt: skip
            history[key].append(value)
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {h['loss'][0]:.4f}, "
            f"accuracy {h['accuracy'][0]:.4f}, test accuracy {test_acc:.4f}, "
            f"{history['images_per_s'][-1]:.1f} images/s"
        )
        if args.checkpoint:
            save_checkpoint(
                args.checkpoint,
                model=model.state_dict(),
                optimizer=opt.state_dict(),
                epoch=epoch + 1,
                history=history,
                args=vars(args),
                loader_rng=train_loader.generator.bit_generator.state,
                cnnlib_rng=get_generator().bit_generator.state,
            )
    metrics = {
        "args": vars(args),
        "data": source,
        "epochs": len(history["test_accuracy"]),
        "train_examples": len(x_train),
        "test_examples": len(x_test),
        "test_accuracy": history["test_accuracy"][-1] if history["test_accuracy"] else None,
        "history": history,
        "model": model,
    }
    print(f"final test accuracy: {metrics['test_accuracy']:.4f}")
    if args.checkpoint:
        state = "saved" if start_epoch < args.epochs else "unchanged, still"
        where = Path(args.checkpoint).resolve()
        print(f"checkpoint: {where} ({state} after epoch {metrics['epochs']})")
    if args.json:
        record = {k: v for k, v in metrics.items() if k != "model"}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=2))
        print(f"metrics: {Path(args.json).resolve()}")
    return metrics


def main(argv=None) -> int:
    """Entry point of ``python -m cnnlib.train``; returns the exit status (0)."""
    run(parse_args(argv))
    return 0
