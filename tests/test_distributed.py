"""Data-parallel training on torch.distributed (gloo, 2 processes on loopback).

After N steps, the parameters of a 2-process run equal those of a 1-process run on the
full batch with the same seed: averaging the shard gradients is the full-batch gradient.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed not available"
)

STEPS = 8


def run(tmp_path, nproc: int):
    out = tmp_path / f"params_{nproc}.npz"
    args = ["-m", "cnnlib.examples.ddp_digits", "--steps", str(STEPS), "--out", str(out)]
    if nproc == 1:
        cmd = [sys.executable, *args]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            *args,
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return np.load(out), proc.stdout


def test_two_processes_match_one_process_on_the_full_batch(tmp_path):
    (one, out1), (two, out2) = run(tmp_path, 1), run(tmp_path, 2)
    assert one.files == two.files
    for name in one.files:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-9, atol=1e-12, err_msg=name)
    # the timings the appendix's cost model reads
    meta = {n: json.loads((tmp_path / f"params_{n}.npz.json").read_text()) for n in (1, 2)}
    assert meta[1]["world_size"] == 1 and meta[2]["world_size"] == 2
    assert meta[1]["allreduce_seconds"] == 0.0 < meta[2]["allreduce_seconds"]
    assert meta[1]["parameters"] == meta[2]["parameters"] == sum(one[n].size for n in one.files)
    assert meta[1]["seconds"] > 0 and len(meta[2]["losses"]) == STEPS
    # the losses are the global batch's (the mean over the two shards), as with one process
    np.testing.assert_allclose(meta[2]["losses"], meta[1]["losses"], rtol=1e-9)
    # rank 0 alone reports the run: one summary, whatever the number of processes
    for n, out in ((1, out1), (2, out2)):
        m = meta[n]
        assert out.count("world size:") == 1 and f"world size: {n} (" in out, out
        assert f"steps: {STEPS} of 64 examples ({64 // n} per process)" in out
        assert f"loss: first {m['losses'][0]:.4f}, last {m['losses'][-1]:.4f}" in out
        assert f"time: {m['seconds']:.3f} s" in out
        npz = tmp_path / f"params_{n}.npz"
        assert f"files written: {npz}, {npz}.json" in out
    assert f"all-reduce: {1e3 * meta[2]['allreduce_seconds']:.3f} ms per call" in out2
    assert "all-reduce: none (1 process)" in out1


def test_without_out_it_reports_and_writes_nothing(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlib.examples.ddp_digits", "--steps", "2"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "loss: first" in proc.stdout and "time:" in proc.stdout
    assert "files written: none (pass --out PATH" in proc.stdout
    assert not list(tmp_path.iterdir())


def test_help_shows_every_default(capsys):
    from cnnlib.examples.ddp_digits import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for default in ("(default: 20)", "(default: 64)", "(default: 0.05)", "(default: 16)",
                    "(default: 0)", "(default: float64)", "(default: cpu)"):  # fmt: skip
        assert default in text
    assert "(default: write nothing)" in text and "(default: None)" not in text


@pytest.mark.parametrize("batch", ["0", "100000"])
def test_batch_size_outside_the_data_is_a_clear_error(batch, capsys):
    from cnnlib.examples.ddp_digits import main

    with pytest.raises(SystemExit) as e:
        main(["--steps", "1", "--batch-size", batch])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --batch-size: must be at least 1 and smaller than the" in err
    assert f"got {batch}" in err


def test_shard_rejects_unequal_batches():
    from cnnlib.distributed import shard

    x = np.zeros((10, 1, 8, 8))
    with pytest.raises(ValueError, match="not divisible by the world size 3"):
        shard(x, np.zeros(10), rank_=0, world_size_=3)
    xs, ys = shard(x, np.arange(10), rank_=1, world_size_=2)
    assert xs.shape == (5, 1, 8, 8) and list(ys) == [5, 6, 7, 8, 9]


def test_collectives_need_torch_parameters():
    from cnnlib import nn
    from cnnlib.distributed import _tensor_params

    with pytest.raises(TypeError, match="model.to\\('torch'\\)"):
        _tensor_params(nn.Linear(3, 2), "all_reduce_gradients")
