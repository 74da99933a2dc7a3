"""The GPU code paths give the CPU paths' numbers, checked on the CPU.

On a GPU, im2col copies the whole window view at once, col2im is one ``index_add_`` and
max pooling reduces one copy of its windows (``_windows.py``, ``_pool_gpu.py``). CI has no
GPU, so these tests switch ``on_accelerator`` on for torch CPU tensors and compare both
paths on the same float64 inputs; the torch-cuda backend of the other tests runs them for
real where a GPU is present.
"""

import numpy as np
import pytest
from helpers import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnlib.functional as F
from cnnlib.functional import _windows, conv, pool

pytestmark = pytest.mark.skipif(torch is None, reason="torch not installed")
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
pair = st.tuples(st.integers(1, 3), st.integers(1, 3))


def both_paths(monkeypatch, fn):
    """fn() with the CPU path, then with the GPU path (on the same CPU tensors)."""
    results = []
    for gpu in (False, True):
        monkeypatch.setattr(_windows, "on_accelerator", lambda a, gpu=gpu: gpu)
        monkeypatch.setattr(pool, "on_accelerator", lambda a, gpu=gpu: gpu)
        monkeypatch.setattr(conv, "on_accelerator", lambda a, gpu=gpu: gpu)
        results.append(fn())
    return results


def as_numpy(values):
    return [None if v is None else v.numpy() for v in values]


@SETTINGS
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=pair,
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    size=st.tuples(st.integers(4, 12), st.integers(4, 24)),  # widths on both sides of 16
    groups=st.sampled_from([1, 2]),
)
def test_conv2d_gpu_path_matches_cpu_path(
    monkeypatch, kernel, stride, dilation, padding, size, groups
):
    reach = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(r > s + 2 * p for r, s, p in zip(reach, size, padding)):
        return  # the kernel does not fit
    rng = np.random.default_rng(sum(size) + 10 * groups)
    x = torch.from_numpy(rng.standard_normal((2, 2 * groups) + size))
    w = torch.from_numpy(rng.standard_normal((3 * groups, 2) + kernel))
    b = torch.from_numpy(rng.standard_normal(3 * groups))
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    dout = torch.from_numpy(rng.standard_normal(F.conv2d(x, w, b, **args).shape))

    def forward_backward():
        out, cache = F.conv2d_forward(x, w, b, **args)
        return as_numpy((out,) + F.conv2d_backward(dout, cache))

    cpu, gpu = both_paths(monkeypatch, forward_backward)
    for name, a, c in zip(("out", "dx", "dweight", "dbias"), cpu, gpu):
        np.testing.assert_allclose(c, a, rtol=1e-12, atol=1e-12, err_msg=name)


@SETTINGS
@given(
    kernel=pair,
    stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    size=st.tuples(st.integers(3, 10), st.integers(3, 20)),
    ceil_mode=st.booleans(),
    special=st.sampled_from(["ties", "nan", "-inf"]),
    seed=st.integers(0, 1000),
)
def test_max_pool_gpu_path_matches_cpu_path(
    monkeypatch, kernel, stride, dilation, size, ceil_mode, special, seed
):
    """Same maxima, same argmax (ties, NaN and all -inf windows) and same gradients."""
    padding = (kernel[0] // 2, kernel[1] // 2)
    reach = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(r > s + 2 * p for r, s, p in zip(reach, size, padding)):
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(2, 3) + size).astype(np.float64)  # many ties
    if special == "nan":
        x[rng.random(x.shape) < 0.1] = np.nan
    if special == "-inf":
        x[rng.random(x.shape) < 0.4] = -np.inf
    x = torch.from_numpy(x)
    args = (kernel, stride, padding, dilation, ceil_mode)
    dout = torch.from_numpy(rng.standard_normal(F.max_pool2d(x, *args).shape))

    def forward_backward():
        out, cache = F.max_pool2d_forward(x, *args)
        dx = F.max_pool2d_backward(dout, cache)
        return as_numpy((out, cache.argmax.to(torch.int64), dx))

    cpu, gpu = both_paths(monkeypatch, forward_backward)
    for name, a, c in zip(("out", "argmax", "dx"), cpu, gpu):
        np.testing.assert_array_equal(c, a, err_msg=name)
