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
    return np.load(out)


def test_two_processes_match_one_process_on_the_full_batch(tmp_path):
    one = run(tmp_path, 1)
    two = run(tmp_path, 2)
    assert one.files == two.files
    for name in one.files:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-9, atol=1e-12, err_msg=name)
    # the timings the appendix's cost model reads
    meta = {n: json.loads((tmp_path / f"params_{n}.npz.json").read_text()) for n in (1, 2)}
    assert meta[1]["world_size"] == 1 and meta[2]["world_size"] == 2
    assert meta[1]["allreduce_seconds"] == 0.0 < meta[2]["allreduce_seconds"]
    assert meta[1]["parameters"] == meta[2]["parameters"] == sum(one[n].size for n in one.files)
    assert meta[1]["seconds"] > 0 and len(meta[2]["losses"]) == STEPS


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
