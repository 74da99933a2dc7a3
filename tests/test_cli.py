"""The training command line (python -m cnnlib.train), run in-process on tiny real-format files."""

import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from datasets import write_cifar10, write_mnist

from cnnlib.cli import BUNDLED, _parser, main


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=96, n_test=32)


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root, per_batch=16)
    return root


def _args(data_dir, *extra, dataset="mnist"):
    return ["--dataset", dataset, "--data-dir", str(data_dir), "--no-progress", "--limit", "64",
            "--batch-size", "16", *extra]  # fmt: skip


def test_lenet_on_mnist_learns_and_writes_metrics(mnist_dir, tmp_path, capsys):
    out = tmp_path / "m.json"
    args = _args(
        mnist_dir, "--model", "lenet5", "--epochs", "3", "--lr", "0.05", "--json", str(out)
    )
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "epoch 3/3" in printed and "images/s" in printed and "final test accuracy" in printed
    assert f"data: MNIST files in {mnist_dir} (64 train + 32 test images, --limit 64)" in printed
    assert printed.rstrip().endswith(f"metrics: {out}")
    record = json.loads(out.read_text())
    h = record["history"]
    assert record["train_examples"] == 64 and record["test_examples"] == 32
    assert record["data"] == f"MNIST files in {mnist_dir}" and record["epochs"] == 3
    assert len(h["loss"]) == 3 and all(v > 0 for v in h["images_per_s"])
    # the generated digits' brightness encodes the label: the loss must fall
    assert h["loss"][-1] < h["loss"][0]
    assert record["test_accuracy"] == h["test_accuracy"][-1]


def test_resumed_run_equals_an_uninterrupted_run(mnist_dir, tmp_path, capsys):
    common = _args(mnist_dir, "--model", "lenet5", "--dtype", "float64", "--lr", "0.02")
    straight = tmp_path / "straight.ckpt"
    main([*common, "--epochs", "2", "--checkpoint", str(straight)])
    halves = tmp_path / "halves.ckpt"
    main([*common, "--epochs", "1", "--checkpoint", str(halves)])
    with open(halves, "rb") as f:
        assert pickle.load(f)["epoch"] == 1
    main([*common, "--epochs", "2", "--checkpoint", str(halves), "--resume"])
    assert f"checkpoint: {halves} (saved after epoch 2)" in capsys.readouterr().out
    with open(straight, "rb") as f:
        a = pickle.load(f)
    with open(halves, "rb") as f:
        b = pickle.load(f)
    assert a["epoch"] == b["epoch"] == 2
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert isinstance(a["model"][name], np.ndarray)
        np.testing.assert_array_equal(b["model"][name], a["model"][name], err_msg=name)
    for i, state in a["optimizer"]["state"].items():
        np.testing.assert_array_equal(
            b["optimizer"]["state"][i]["momentum_buffer"], state["momentum_buffer"]
        )
    assert a["history"]["loss"] == b["history"]["loss"]
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temporary file


def test_resume_refuses_a_checkpoint_of_another_run(mnist_dir, tmp_path, capsys):
    ckpt = tmp_path / "c.ckpt"
    main([*_args(mnist_dir, "--model", "lenet5"), "--checkpoint", str(ckpt)])
    with pytest.raises(SystemExit) as e:
        main([*_args(mnist_dir, "--model", "lenet5", "--lr", "0.5"), "--checkpoint", str(ckpt),
              "--resume", "--epochs", "2"])  # fmt: skip
    assert e.value.code == 2
    assert "--lr 0.05 (now 0.5)" in capsys.readouterr().err


def test_resume_with_no_epochs_left_warns(mnist_dir, tmp_path, capsys):
    ckpt = tmp_path / "c.ckpt"
    common = [*_args(mnist_dir, "--model", "lenet5"), "--checkpoint", str(ckpt)]
    main([*common, "--epochs", "2"])
    saved = ckpt.read_bytes()
    capsys.readouterr()
    for epochs in ("1", "2"):
        assert main([*common, "--resume", "--epochs", epochs]) == 0
        out, err = capsys.readouterr()
        assert f"warning: {ckpt} was saved after epoch 2 and --epochs is {epochs}" in err
        assert "nothing to train; pass --epochs 3 or more to continue" in err
        assert f"checkpoint: {ckpt} (unchanged, still after epoch 2)" in out
        assert "epoch 3/" not in out and ckpt.read_bytes() == saved
    main([*common, "--resume", "--epochs", "3"])  # one more epoch: no warning
    out, err = capsys.readouterr()
    assert "warning" not in err and "epoch 3/3" in out


def test_help_shows_defaults_and_describes_every_option(capsys):
    for action in _parser()._actions:
        assert action.help, f"{action.option_strings} has no description"
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    text = " ".join(out.split())  # argparse wraps lines
    # the options section, one entry per option: {"--lr": "--lr LR learning rate (default: 0.05)"}
    section = out.split("options:\n", 1)[1].split("\n\n", 1)[0]
    entries = {
        e.split()[0].rstrip(","): " ".join(e.split()) for e in re.split(r"\n  (?=-)", section)
    }
    for option, default in [("--model", "lenet5"), ("--epochs", "1"), ("--batch-size", "64"),
                            ("--lr", "0.05"), ("--momentum", "0.9"), ("--weight-decay", "0.0"),
                            ("--device", "numpy"), ("--dtype", "float32"), ("--seed", "0"),
                            ("--width", "1.0"), ("--optimizer", "sgd")]:  # fmt: skip
        assert entries[option].endswith(f"(default: {default})"), entries[option]
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "the subset shipped in cnnlib" in text and "Nothing is downloaded" in text


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_bundled_data_without_data_dir(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no data/DATASET here
    out = tmp_path / "m.json"
    argv = ["--dataset", dataset, "--no-progress", "--limit", "48", "--batch-size", "16",
            "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    name = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}[dataset]
    line = f"data: {name} subset shipped in cnnlib, {BUNDLED[dataset]} (48 train + 48 test images"
    assert line in printed
    record = json.loads(out.read_text())
    assert record["args"]["data_dir"] is None and str(BUNDLED[dataset]) in record["data"]
    assert record["train_examples"] == record["test_examples"] == 48


def test_data_folder_in_the_working_directory_comes_first(mnist_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mnist").symlink_to(mnist_dir, target_is_directory=True)
    main(["--dataset", "mnist", "--no-progress", "--limit", "16", "--batch-size", "16"])
    assert f"data: MNIST files in {mnist_dir} (16 train + 16 test" in capsys.readouterr().out
    (tmp_path / "data" / "fashion-mnist").mkdir()  # there but empty: an error, not the subset
    with pytest.raises(SystemExit):
        main(["--dataset", "fashion-mnist"])
    err = capsys.readouterr().err
    assert f"no Fashion-MNIST data in {tmp_path / 'data' / 'fashion-mnist'}: missing" in err


def test_resnet18_on_cifar10_with_torch_tensors(cifar_dir, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "r.json"
    args = _args(cifar_dir, "--model", "resnet18", "--width", "0.125", "--device", "cpu",
                 "--limit", "32", "--json", str(out), dataset="cifar10")  # fmt: skip
    assert main(args) == 0
    record = json.loads(out.read_text())
    assert record["train_examples"] == 32 and record["args"]["device"] == "cpu"
    assert 0.0 <= record["test_accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("dataset", "names"),
    [
        ("mnist", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", ".gz"]),
        ("fashion-mnist", ["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"]),
        ("cifar10", ["data_batch_1", "data_batch_5", "test_batch", "cifar-10-batches-py"]),
    ],
)
def test_missing_data_is_one_clear_message(dataset, names, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["--dataset", dataset, "--data-dir", "empty"])  # relative: shown absolute
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"data in {tmp_path / 'empty'}: missing" in err
    assert err.count("error:") == 1
    for name in names:
        assert name in err
    # where to get the data, and (MNIST, Fashion-MNIST) that the subset needs no --data-dir
    source = {"mnist": "http://yann.lecun.com/exdb/mnist/",
              "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist",
              "cifar10": "https://www.cs.toronto.edu/~kriz/cifar.html"}[dataset]  # fmt: skip
    assert f"the full dataset: {source}" in err
    assert ("leave out --data-dir to train on the subset shipped in cnnlib" in err) == (
        dataset != "cifar10"
    )


def test_cifar10_without_data_dir_names_the_default_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["--dataset", "cifar10"])
    assert (
        f"no CIFAR-10 data in {tmp_path / 'data' / 'cifar10'}: missing" in capsys.readouterr().err
    )


def test_missing_data_from_the_real_command_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlib.train", "--dataset", "mnist", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "train-images-idx3-ubyte" in proc.stderr


def test_partly_missing_files_are_named(mnist_dir, tmp_path, capsys):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(
        (mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes()
    )
    with pytest.raises(SystemExit):
        main(["--dataset", "mnist", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert "missing train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-labels-idx1-ubyte" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["--batch-size", "-3"], "--batch-size must be >= 1, got -3"),
        (["--lr", "0"], "--lr must be > 0"),
        (["--momentum", "1.5"], "--momentum must be in [0, 1)"),
        (["--model", "lenet5", "--width", "0.5"], "--width is not available for lenet5"),
        (["--resume"], "--resume needs --checkpoint"),
        (["--resume", "--checkpoint", "/nonexistent/c.ckpt"], "does not exist"),
        (["--model", "alexnet9"], "invalid choice: 'alexnet9'"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
    ],
)
def test_bad_arguments(extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--dataset", "mnist", "--data-dir", str(tmp_path), *extra])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_corrupt_file_is_reported_without_a_traceback(tmp_path, capsys):
    write_mnist(tmp_path, n_train=8, n_test=8, compress=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(SystemExit) as e:
        main(["--dataset", "mnist", "--data-dir", str(tmp_path)])
    assert e.value.code == 2
    assert "not an IDX file" in capsys.readouterr().err


def test_progress_bars_name_the_epoch(mnist_dir, capsys):
    argv = ["--dataset", "mnist", "--data-dir", str(mnist_dir), "--limit", "32", "--epochs", "2",
            "--batch-size", "8"]  # fmt: skip
    main(argv)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "0/4 [" in err  # 32 examples, 4 batches
