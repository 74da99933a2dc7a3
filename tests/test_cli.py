"""The training command line (python -m cnnlib.train), run in-process on tiny real-format files."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from datasets import write_cifar10, write_mnist

from cnnlib.cli import main


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
    record = json.loads(out.read_text())
    h = record["history"]
    assert record["train_examples"] == 64 and record["test_examples"] == 32
    assert len(h["loss"]) == 3 and all(v > 0 for v in h["images_per_s"])
    # the generated digits' brightness encodes the label: the loss must fall
    assert h["loss"][-1] < h["loss"][0]
    assert record["test_accuracy"] == h["test_accuracy"][-1]


def test_resumed_run_equals_an_uninterrupted_run(mnist_dir, tmp_path):
    common = _args(mnist_dir, "--model", "lenet5", "--dtype", "float64", "--lr", "0.02")
    straight = tmp_path / "straight.ckpt"
    main([*common, "--epochs", "2", "--checkpoint", str(straight)])
    halves = tmp_path / "halves.ckpt"
    main([*common, "--epochs", "1", "--checkpoint", str(halves)])
    with open(halves, "rb") as f:
        assert pickle.load(f)["epoch"] == 1
    main([*common, "--epochs", "2", "--checkpoint", str(halves), "--resume"])
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
def test_missing_data_is_one_clear_message(dataset, names, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--dataset", dataset, "--data-dir", str(tmp_path / "empty")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(tmp_path / "empty") in err
    assert err.count("error:") == 1
    for name in names:
        assert name in err


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
