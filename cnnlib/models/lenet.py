"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), as in the paper or in today's style.

Both take 32x32 single-channel images (MNIST's 28x28 digits padded by 2 pixels)::

    C1 conv 6 x 5x5          32 -> 28        S2 2x2 subsampling   28 -> 14
    C3 conv 16 x 5x5         14 -> 10        S4 2x2 subsampling   10 -> 5
    C5 conv 120 x 5x5         5 -> 1         F6 fully connected 120 -> 84
    output: 84 -> num_classes

variant="modern": ReLU, max pooling and a linear output layer (61,706 parameters for
10 classes), the version most courses teach.

variant="original" follows the paper:

* S2 and S4 add the four inputs of each 2x2 window, multiply by one trainable
  coefficient per map and add one trainable bias (`Subsample`).
* Every layer up to F6 (C1, S2, C3, S4, C5, F6) passes its weighted sums through the
  squashing function, the scaled tanh f(a) = 1.7159 tanh(2a/3) (`ScaledTanh`).
* C3 is not fully connected to S2: each of its 16 maps reads 3, 4 or 6 of the 6 input
  maps, 60 kernels in all, by the paper's table I (`SparseConv`). This broke symmetry
  between maps and cut C3 from 2,416 to 1,516 parameters.
* The output layer has one Euclidean RBF unit per class, y_i = sum_j (x_j - w_ij)^2,
  whose centres are fixed +-1 codes (`RBF`). The paper drew them as 7x12 bitmaps of the
  characters; here they are a seeded random +-1 code. `RBF` returns -y, so the largest
  output is the nearest centre and the outputs work as logits for cross-entropy.

The original network has the paper's 60,000 trainable parameters (for 10 classes).
Its outputs are negative squared distances in 84 dimensions, so they start large: train
it with small steps (the paper used learning rates from 5e-4 down to 1e-5; Adam with
lr=1e-3 works on the digits) — SGD with momentum at lr=0.02 saturates the tanh units.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlib import functional as F
from cnnlib import nn
from cnnlib import random as cr
from cnnlib.backend import namespace

__all__ = ["lenet5", "ScaledTanh", "Subsample", "SparseConv", "RBF", "C3_TABLE"]

# C3_TABLE[o] lists the S2 maps that C3 map o reads (LeCun et al. 1998, table I)
C3_TABLE = (
    [[j % 6, (j + 1) % 6, (j + 2) % 6] for j in range(6)]
    + [[j % 6, (j + 1) % 6, (j + 2) % 6, (j + 3) % 6] for j in range(6)]
    + [[0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]
)


class ScaledTanh(nn.Module):
    """f(a) = A tanh(S a) with A = 1.7159, S = 2/3, so that f(1) = 1 and f(-1) = -1."""

    A, S = 1.7159, 2.0 / 3.0

    def forward(self, x):
        t = namespace(x, names=["x"], fn="ScaledTanh").tanh(self.S * x)
        self.cache = t  # tanh(S x): each call keeps its own (a layer may be used twice)
        self.out = self.A * t
        return self.out

    def backward(self, dout):
        t = self.cache
        return dout * (self.A * self.S) * (1 - t**2)


class SubsampleCache(NamedTuple):
    pooled: object  # (N, C, H/2, W/2): sum of each 2x2 window
    pool_cache: object  # avg_pool2d's cache


class Subsample(nn.Module):
    """LeNet's S-layer: out[n, c] = weight[c] * (sum of each 2x2 window of x[n, c]) + bias[c].

    x : (N, C, H, W)  ->  (N, C, H // 2, W // 2); 2C parameters.
    """

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.weight = nn.Parameter(cr.uniform((channels,), -1.0, 1.0, dtype=np.float32))
        self.bias = nn.Parameter(np.zeros(channels, dtype=np.float32))

    def forward(self, x):
        avg, pool_cache = F.avg_pool2d_forward(x, 2)
        pooled = 4 * avg
        self.cache = SubsampleCache(pooled, pool_cache)
        w = self.weight.data[None, :, None, None]
        self.out = w * pooled + self.bias.data[None, :, None, None]
        return self.out

    def backward(self, dout):
        pooled, pool_cache = self.cache
        xp = namespace(dout, names=["dout"], fn="Subsample.backward")
        self.weight.accumulate(xp.sum(dout * pooled, axis=(0, 2, 3)))
        self.bias.accumulate(xp.sum(dout, axis=(0, 2, 3)))
        return F.avg_pool2d_backward(4 * dout * self.weight.data[None, :, None, None], pool_cache)


class SparseConv(nn.Module):
    """A 5x5 conv whose output map o only reads the input maps `table[o]` (LeNet's C3).

    Only the connected kernels are parameters: weight : (K, kH, kW) holds the K kernels in
    table order. Forward scatters them into a dense (C_out, C_in, kH, kW) kernel with a
    fixed 0/1 selection matrix S : (C_out * C_in, K) (dense = S @ weight), so the
    convolution and its backward are conv2d's; the gradient of the packed kernels is
    S^T @ (gradient of the dense kernel).
    """

    def __init__(self, in_channels=6, table=C3_TABLE, kernel_size=5):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, len(table)
        self.kernel_size = (kernel_size, kernel_size)
        self.stride, self.padding, self.dilation, self.groups = (1, 1), (0, 0), (1, 1), 1
        k = sum(len(t) for t in table)
        select = np.zeros((self.out_channels * in_channels, k), dtype=np.float32)
        fan_in = np.zeros(k)
        col = 0
        for o, inputs in enumerate(table):
            for i in inputs:
                select[o * in_channels + i, col] = 1.0
                fan_in[col] = len(inputs) * kernel_size**2
                col += 1
        self.register_buffer("select", select)  # moves with .to() / .double()
        # LeCun's initialisation: uniform in +-2.4 / fan_in
        bound = (2.4 / fan_in)[:, None, None]
        w = cr.uniform((k, kernel_size, kernel_size)) * 2 * bound - bound
        self.weight = nn.Parameter(w.astype(np.float32))
        self.bias = nn.Parameter(np.zeros(self.out_channels, dtype=np.float32))

    def dense_weight(self):
        """The (C_out, C_in, kH, kW) kernel with zeros where the table has no connection."""
        w = self.weight.data
        xp = namespace(w, names=["weight"], fn="SparseConv")
        s = self.select
        kh, kw = self.kernel_size
        flat = s @ xp.reshape(w, (w.shape[0], kh * kw))
        return xp.reshape(flat, (self.out_channels, self.in_channels, kh, kw))

    def forward(self, x):
        self.out, self.cache = F.conv2d_forward(x, self.dense_weight(), self.bias.data)
        return self.out

    def backward(self, dout):
        dx, dw, db = F.conv2d_backward(dout, self.cache)
        xp = namespace(dw, names=["dweight"], fn="SparseConv.backward")
        kh, kw = self.kernel_size
        s = self.select
        flat = xp.reshape(dw, (self.out_channels * self.in_channels, kh * kw))
        self.weight.accumulate(xp.reshape(s.T @ flat, self.weight.data.shape))
        self.bias.accumulate(db)
        return dx


class RBF(nn.Module):
    """Euclidean RBF units with fixed centres, negated: out[n, i] = -sum_j (x[n, j] - c[i, j])^2.

    x : (N, in_features)  ->  (N, num_classes). The centres are not trained (no parameters).
    """

    def __init__(self, in_features=84, num_classes=10, seed=0):
        super().__init__()
        code = np.where(cr.uniform((num_classes, in_features), seed=seed) < 0.5, -1.0, 1.0)
        self.register_buffer("centres", code.astype(np.float32))  # fixed, not trained

    def forward(self, x):
        c = self.centres
        xp = namespace(x, names=["x"], fn="RBF")
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2, for all pairs at once
        sq = xp.sum(x * x, axis=1, keepdims=True) - 2 * (x @ c.T) + xp.sum(c * c, axis=1)
        self.cache = (x, c)
        self.out = -sq
        return self.out

    def backward(self, dout):
        x, c = self.cache
        xp = namespace(dout, names=["dout"], fn="RBF.backward")
        # d(-|x - c_i|^2)/dx = -2 (x - c_i)
        return -2 * (xp.sum(dout, axis=1, keepdims=True) * x - dout @ c)


def lenet5(num_classes=10, variant="modern", in_channels=1):
    """LeNet-5 for 32x32 inputs.  x : (N, in_channels, 32, 32)  ->  (N, num_classes)."""
    if variant == "modern":
        return nn.Sequential(
            nn.Conv2d(in_channels, 6, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )
    if variant == "original":
        return nn.Sequential(
            nn.Conv2d(in_channels, 6, 5),  # C1
            ScaledTanh(),
            Subsample(6),  # S2
            ScaledTanh(),
            SparseConv(6, C3_TABLE),  # C3
            ScaledTanh(),
            Subsample(16),  # S4
            ScaledTanh(),
            nn.Conv2d(16, 120, 5),  # C5
            ScaledTanh(),
            nn.Flatten(),
            nn.Linear(120, 84),  # F6
            ScaledTanh(),
            RBF(84, num_classes),
        )
    raise ValueError(f"lenet5: variant must be 'modern' or 'original', got {variant!r}")
