"""What learners write for the "Your turn" exercises: plain NumPy loops, right and wrong.

Each ``make_*`` returns one implementation; its keyword arguments switch on one of the usual
mistakes. tests/test_exercises*.py check that the checkers of ``cnnlib.exercises`` pass the
right ones (which share no code with cnnlib) and name the mistake in the wrong ones.
"""

from __future__ import annotations

import math

import numpy as np


def pad_hw(x, p, value=0.0, every_axis=False):
    if every_axis:
        return np.pad(x, p, constant_values=value)
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=value)


def size(h, k, s, p, d=1, rounding="floor", plus_one=True):
    exact = (h + 2 * p - d * (k - 1) - 1) / s
    n = {"floor": math.floor, "ceil": math.ceil, "round": round}[rounding](exact)
    return n + 1 if plus_one else n


# ------------------------------------------------------------------ forward passes


def make_conv2d(
    flip=False,
    bias="ok",  # "ok", "missing", "per_channel"
    rounding="floor",
    pad_every_axis=False,
    use_dilation=True,
    use_groups=True,
    use_stride=True,
    channels="sum",  # "sum", "mean"
    returns="out",  # "out", "pair"
):
    def conv2d(input, weight, bias_=None, stride=1, padding=0, dilation=1, groups=1):
        d = dilation if use_dilation else 1
        s = stride if use_stride else 1
        g = groups if use_groups else 1
        x = pad_hw(input, padding, every_axis=pad_every_axis)
        n, _, hp, wp = x.shape
        c_out, c_in_g, kh, kw = weight.shape
        oh = size(hp, kh, s, 0, d, rounding)
        ow = size(wp, kw, s, 0, d, rounding)
        w = weight[:, :, ::-1, ::-1] if flip else weight
        out = np.zeros((n, c_out, oh, ow))
        per_group = c_out // g
        for b in range(n):
            for o in range(c_out):
                first = (o // per_group) * c_in_g if g > 1 else 0
                for i in range(oh):
                    for j in range(ow):
                        total = 0.0
                        for c in range(c_in_g):
                            for u in range(kh):
                                for v in range(kw):
                                    r, q = i * s + u * d, j * s + v * d
                                    if r < hp and q < wp:
                                        total += w[o, c, u, v] * x[b, first + c, r, q]
                            if bias_ is not None and bias == "per_channel":
                                total += bias_[o]
                        if channels == "mean":
                            total /= c_in_g
                        if bias_ is not None and bias == "ok":
                            total += bias_[o]
                        out[b, o, i, j] = total
        return (out, None) if returns == "pair" else out

    return conv2d


def make_im2col(order="channel_first", windows="row_major", batch=True, transposed=False):
    def im2col(input, kernel_size, dilation=1, padding=0, stride=1):
        k, d, s = kernel_size, dilation, stride
        x = pad_hw(input, padding)
        n, c, hp, wp = x.shape
        oh, ow = size(hp, k, s, 0, d), size(wp, k, s, 0, d)
        cols = np.zeros((n, c * k * k, oh * ow))
        for b in range(n):
            for i in range(oh):
                for j in range(ow):
                    col = i * ow + j if windows == "row_major" else j * oh + i
                    for ch in range(c):
                        for u in range(k):
                            for v in range(k):
                                if order == "channel_first":
                                    row = ch * k * k + u * k + v
                                else:
                                    row = (u * k + v) * c + ch
                                cols[b, row, col] = x[b, ch, i * s + u * d, j * s + v * d]
        if transposed:
            cols = cols.transpose(0, 2, 1)
        return cols if batch else cols[0]

    return im2col


def make_max_pool2d(kind="max", default_stride="kernel", pad_value=-np.inf, rounding="floor"):
    def max_pool2d(input, kernel_size, stride=None, padding=0):
        k = kernel_size
        s = stride if stride is not None else (k if default_stride == "kernel" else 1)
        x = pad_hw(input, padding, value=pad_value)
        n, c, hp, wp = x.shape
        oh, ow = size(hp, k, s, 0, 1, rounding), size(wp, k, s, 0, 1, rounding)
        out = np.zeros((n, c, oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = x[:, :, i * s : i * s + k, j * s : j * s + k]
                if kind == "max":
                    out[:, :, i, j] = win.max(axis=(2, 3))
                elif kind == "mean":
                    out[:, :, i, j] = win.mean(axis=(2, 3))
                else:  # "max over channels": one max for the whole window block
                    out[:, :, i, j] = win.max(axis=(1, 2, 3))[:, None]
        return out

    return max_pool2d


# ------------------------------------------------------------------ backward passes


def make_conv2d_backward(
    rotate=True, dw_batch="sum", db_batch="sum", crop=True, order="dx_dw_db", full_dx=True
):
    def conv2d_backward(dout, x, w, stride, padding):
        s, p = stride, padding
        n, c_in, h, wd = x.shape
        c_out, _, kh, kw = w.shape
        xp = pad_hw(x, p)
        dxp = np.zeros_like(xp)
        dw = np.zeros_like(w)
        oh, ow = dout.shape[2:]
        wk = w if rotate else w[:, :, ::-1, ::-1]
        for b in range(n):
            dw_b = np.zeros_like(w)
            for o in range(c_out):
                for i in range(oh):
                    for j in range(ow):
                        rows, cols = slice(i * s, i * s + kh), slice(j * s, j * s + kw)
                        dxp[b, :, rows, cols] += wk[o] * dout[b, o, i, j]
                        dw_b[o] += xp[b, :, rows, cols] * dout[b, o, i, j]
            dw = dw + dw_b if dw_batch == "sum" else dw_b
        db = dout.sum(axis=(0, 2, 3)) if db_batch == "sum" else dout.sum(axis=(2, 3))
        dx = dxp[:, :, p : p + h, p : p + wd] if crop else dxp
        if not full_dx:  # only the rows some window reached, cropped by p on both sides
            dx = dxp[:, :, p : (oh - 1) * s + kh - p, p : (ow - 1) * s + kw - p]
        if order == "dw_dx_db":
            return dw, dx, db
        return dx, dw, db

    return conv2d_backward


def make_max_pool2d_backward(
    combine="add", ties="first", spread=False, pad_value=-np.inf, decode="row_col"
):
    def max_pool2d_backward(dout, x, kernel_size, stride, padding):
        k, s, p = kernel_size, stride, padding
        xp = pad_hw(x, p, value=pad_value)
        dxp = np.zeros_like(xp)
        n, c, oh, ow = dout.shape
        for b in range(n):
            for ch in range(c):
                for i in range(oh):
                    for j in range(ow):
                        win = xp[b, ch, i * s : i * s + k, j * s : j * s + k]
                        d = dout[b, ch, i, j]
                        if spread:
                            dxp[b, ch, i * s : i * s + k, j * s : j * s + k] += d / (k * k)
                            continue
                        flat = np.flatnonzero(win.ravel() == win.max())
                        picks = {"first": flat[:1], "last": flat[-1:], "all": flat}.get(ties, flat)
                        share = d / len(flat) if ties == "split" else d
                        for t in picks:
                            u, v = divmod(int(t), k)
                            if decode == "col_row":
                                u, v = v, u
                            at = (b, ch, i * s + u, j * s + v)
                            dxp[at] = share if combine == "assign" else dxp[at] + share
        return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]]

    return max_pool2d_backward


def make_avg_pool2d_backward(divisor="k2", combine="add", count_include_pad=True):
    def avg_pool2d_backward(dout, x, kernel_size, stride, padding):
        k, s, p = kernel_size, stride, padding
        n, c, h, w = x.shape
        real = pad_hw(np.ones((1, 1, h, w)), p)[0, 0]
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
                div = {"k2": k * k, "k": k, "none": 1}[divisor]
                if not count_include_pad:
                    div = real[rows, cols].sum()
                share = dout[:, :, i, j][:, :, None, None] / div
                if combine == "assign":
                    dxp[:, :, rows, cols] = share
                else:
                    dxp[:, :, rows, cols] += share
        return dxp[:, :, p : p + h, p : p + w]

    return avg_pool2d_backward


def make_relu_backward(mask="x>0", returns="dx"):
    def relu_backward(dout, x):
        m = {"x>0": x > 0, "x>=0": x >= 0, "dout>0": dout > 0}[mask]
        return m.astype(float) if returns == "mask" else dout * m

    return relu_backward


def make_softmax_loss(shift=True, lse=True, reduce="mean", grad_scale=True, loss_per_example=False):
    def softmax_loss(logits, target):
        n = logits.shape[0]
        z = logits - logits.max(axis=1, keepdims=True) if shift else logits
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        if lse:
            per = np.log(e.sum(axis=1)) - z[np.arange(n), target]
        else:
            per = -np.log(p[np.arange(n), target])
        loss = per if loss_per_example else (per.mean() if reduce == "mean" else per.sum())
        grad = p.copy()
        grad[np.arange(n), target] -= 1
        return loss, grad / n if grad_scale else grad

    return softmax_loss


def make_batch_norm(
    running_ddof=1,
    keras_momentum=False,
    in_place=True,
    eval_uses_batch=False,
    eps_inside=True,
    axes=(0, 2, 3),
    norm_ddof=0,
    gamma_axis=1,
    update_in_eval=False,
):
    def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
        shape = [1, 1, 1, 1]
        shape[gamma_axis] = -1
        g, b = weight.reshape(shape), bias.reshape(shape)
        if training or eval_uses_batch:
            mean = x.mean(axis=axes, keepdims=True)
            var = x.var(axis=axes, keepdims=True, ddof=norm_ddof)
        else:
            mean = running_mean.reshape(1, -1, 1, 1)
            var = running_var.reshape(1, -1, 1, 1)
        if training or update_in_eval:
            m = 1 - momentum if keras_momentum else momentum
            bm, bv = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=running_ddof)
            new_mean = (1 - m) * running_mean + m * bm
            new_var = (1 - m) * running_var + m * bv
            if in_place:
                running_mean[:] = new_mean
                running_var[:] = new_var
            else:
                running_mean = new_mean  # rebinding: the caller never sees it
                running_var = new_var
        scale = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
        return g * (x - mean) / scale + b

    return batch_norm


def make_batch_norm_backward(through_stats=True, use_gamma=True, dgamma_of="x_hat", dbeta="sum"):
    def batchnorm_backward(dout, x, gamma, eps):
        axes = (0, 2, 3)
        m = x.size // x.shape[1]
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        s = 1 / np.sqrt(var + eps)
        x_hat = (x - mean) * s
        dgamma = (dout * (x_hat if dgamma_of == "x_hat" else x)).sum(axis=axes)
        dbeta_ = dout.sum(axis=axes) if dbeta == "sum" else dout.mean(axis=axes)
        g = dout * (gamma.reshape(1, -1, 1, 1) if use_gamma else 1.0)
        if not through_stats:
            return g * s, dgamma, dbeta_
        dx = (s / m) * (
            m * g
            - g.sum(axis=axes, keepdims=True)
            - x_hat * (g * x_hat).sum(axis=axes, keepdims=True)
        )
        return dx, dgamma, dbeta_

    return batchnorm_backward


def make_sgd(form="torch"):
    def sgd_momentum(param, grad, velocity, lr, momentum):
        if form == "cs231n":
            v = momentum * velocity - lr * grad
            return param + v, v
        if form == "ema":
            v = momentum * velocity + (1 - momentum) * grad
            return param - lr * v, v
        v = momentum * velocity + grad
        if form == "nesterov":
            return param - lr * (grad + momentum * v), v
        if form == "uphill":
            return param + lr * v, v
        if form == "plain":
            return param - lr * grad, v
        if form == "swapped":
            return v, param - lr * v
        return param - lr * v, v

    return sgd_momentum


def make_output_size(rounding="floor", plus_one=True, swap=False, pad_once=False, dilation=True):
    def output_size(size_, kernel_size, stride, padding, dilation_=1):
        s, p = (padding, stride) if swap else (stride, padding)
        d = dilation_ if dilation else 1
        two_p = p if pad_once else 2 * p
        exact = (size_ + two_p - d * (kernel_size - 1) - 1) / s
        if rounding == "none":
            return exact + 1
        n = {"floor": math.floor, "ceil": math.ceil, "round": lambda v: int(v + 0.5)}[rounding](
            exact
        )
        return int(n + 1 if plus_one else n)

    return output_size


def make_receptive_field(jump=True, jump_first=False, dilation=True, span="k-1", returns="list"):
    def receptive_field(layers):
        r, j, out = 1, 1, []
        for k, s, d in layers:
            d = d if dilation else 1
            if jump_first:
                j *= s
            r += d * (k - 1 if span == "k-1" else k) * j
            if jump and not jump_first:
                j *= s
            out.append((r, j))
        return {"list": out, "final_r": out[-1][0], "final_pair": out[-1]}[returns]

    return receptive_field


def make_init_std(fan="torch", returns="std", he_fan="in", xavier="glorot"):
    def init_std(scheme, weight_shape):
        receptive = math.prod(weight_shape[2:]) if fan == "torch" else 1
        fan_in, fan_out = weight_shape[1] * receptive, weight_shape[0] * receptive
        if scheme == "he":
            var = 2 / (fan_in if he_fan == "in" else fan_out)
        else:
            var = 2 / (fan_in + fan_out) if xavier == "glorot" else 1 / fan_in
        return var if returns == "var" else math.sqrt(var)

    return init_std


def make_grad_cam(relu=True, weights="mean", normalise=False, swap=False, relu_each=False):
    def grad_cam(activations, gradients):
        a, g = (gradients, activations) if swap else (activations, gradients)
        alpha = g.mean(axis=(1, 2)) if weights == "mean" else g.sum(axis=(1, 2))
        terms = alpha[:, None, None] * a
        cam = np.maximum(terms, 0).sum(axis=0) if relu_each else terms.sum(axis=0)
        if relu:
            cam = np.maximum(cam, 0)
        if normalise:
            cam = cam / cam.max()
        return cam

    return grad_cam


def make_nms(strict=True, ascending=False, chain=False, plus_one=False, by_index=False, mask=False):
    """A learner's NMS with plain loops: an IoU function, a sorted visit, a list of kept boxes."""

    def iou(a, b):
        e = 1 if plus_one else 0
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + e)
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + e)
        area_a = (a[2] - a[0] + e) * (a[3] - a[1] + e)
        area_b = (b[2] - b[0] + e) * (b[3] - b[1] + e)
        return w * h / (area_a + area_b - w * h)

    def nms(boxes, scores, iou_threshold):
        order = sorted(range(len(boxes)), key=lambda i: (scores[i] if ascending else -scores[i], i))
        keep = []
        for rank, i in enumerate(order):
            rivals = order[:rank] if chain else keep
            overlaps = [iou(boxes[j], boxes[i]) for j in rivals]
            if strict:
                dropped = any(v > iou_threshold for v in overlaps)
            else:
                dropped = any(v >= iou_threshold for v in overlaps)
            if not dropped:
                keep.append(i)
        if mask:
            return np.isin(np.arange(len(boxes)), keep)
        return sorted(keep) if by_index else keep

    return nms
