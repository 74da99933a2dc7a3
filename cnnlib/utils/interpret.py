"""Looking inside a trained CNN: saliency, occlusion, Grad-CAM and class-model images.

Each method asks which pixels, or which regions of a feature map, a class score depends on.
The score ``s_c`` is the class's *logit*, the network's output before softmax, as in the
papers (softmax would couple it to the other classes). Gradients come from the modules' own
``backward``, seeded with a one-hot ``dout``: ``backward(onehot(c))`` returns ``ds_c/dx``.

* :func:`input_gradient` -- ``ds_c/dx`` for every image of a batch.
* :func:`saliency` -- its absolute value, the largest over the colour channels
  (Simonyan et al., 2014).
* :func:`occlusion` -- how much the probability (Zeiler and Fergus, 2014) or the score of
  class c drops when a square patch is covered, for every position of the patch.
* :func:`grad_cam_map` and :func:`grad_cam` -- the feature maps of one layer weighted by
  their spatially averaged gradients, ReLU, upsampled to the input (Selvaraju et al., 2017).
* :func:`class_model` -- an input that maximises ``s_c - l2 * ||x||^2``, by gradient ascent
  (Simonyan et al., 2014).

None of them changes the model's train/eval mode: call ``model.eval()`` first, as for any
evaluation (dropout and batch normalisation would otherwise act as in training). The
gradients they compute do not end up in the parameters: every ``Parameter.grad`` is left as
it was.
"""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Integral

import numpy as np

from cnnlib import functional as F
from cnnlib.backend import asarray_like, namespace, to_numpy
from cnnlib.functional._checks import _check_float
from cnnlib.grad_mode import no_grad

__all__ = [
    "input_gradient",
    "saliency",
    "occlusion",
    "grad_cam_map",
    "grad_cam",
    "class_model",
]


def _check_images(x, fn: str):
    xp = namespace(x, names=["x"], fn=fn)
    if x.ndim != 4:
        raise ValueError(
            f"{fn}: x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}"
        )
    _check_float(x, "x", fn, xp)
    return xp


def _targets(target, n: int, fn: str) -> np.ndarray:
    """`target` (an int, or N ints) as a NumPy int array of length n."""
    if isinstance(target, Integral) and not isinstance(target, bool):
        return np.full(n, int(target))
    t = np.asarray(to_numpy(target))
    if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(
            f"{fn}: target must be an int or N = {n} integer class indices, got "
            f"{t.dtype} array of shape {t.shape}"
        )
    return t.astype(np.int64)


def _one_hot_like(scores, target: np.ndarray, fn: str):
    """The (N, K) one-hot dout that makes backward return the gradient of s_target."""
    if scores.ndim != 2:
        raise ValueError(
            f"{fn}: the model must return class scores (N, K), got shape {tuple(scores.shape)}"
        )
    k = scores.shape[1]
    if target.min(initial=0) < 0 or target.max(initial=0) >= k:
        raise ValueError(f"{fn}: target must lie in [0, {k - 1}] (K = {k} classes), got {target}")
    return asarray_like(np.eye(k)[target], scores, dtype=scores.dtype)


@contextmanager
def _grads_kept(model):
    """Run backward passes that leave every Parameter.grad of `model` as it was."""
    saved = [(p, p.grad) for p in model.parameters()]
    try:
        yield
    finally:
        for p, grad in saved:
            p.grad = grad


def input_gradient(model, x, target):
    """The gradient of the class score ``s_target`` with respect to the input.

    Parameters
    ----------
    model : Module returning class scores (logits) (N, K), with a backward
    x : (N, C, H, W) images
    target : int, or (N,) ints: the class of each image whose score is differentiated

    Returns
    -------
    dx : (N, C, H, W), ``dx[n] = d model(x)[n, target[n]] / d x[n]``

    One forward and one backward pass of `model` (its own ``backward``, seeded with a
    one-hot dout). The images do not interact, so one batch gives every image's gradient.
    """
    fn = "input_gradient"
    _check_images(x, fn)
    t = _targets(target, x.shape[0], fn)
    with _grads_kept(model):
        scores = model(x)
        return model.backward(_one_hot_like(scores, t, fn))


def saliency(model, x, target):
    """Simonyan et al.'s saliency map: ``max over channels of |d s_target / d x|``.

    x : (N, C, H, W); target : int or (N,) -> (N, H, W)
    """
    xp = _check_images(x, "saliency")
    return xp.max(xp.abs(input_gradient(model, x, target)), axis=1)


def occlusion(model, x, target, size, stride=1, value=0.0, batch_size=256, of="probability"):
    """Occlusion sensitivity: the drop in the probability of `target` when a patch is covered.

    Parameters
    ----------
    model : Module returning class scores (N, K)
    x : (N, C, H, W) images
    target : int or (N,) ints
    size : int, the side of the square patch
    stride : int, the step between patch positions
    value : the value written into the patch (0 is black for images in [0, 1])
    batch_size : how many occluded copies go through the model at once
    of : ``"probability"`` (the softmax probability, as Zeiler and Fergus) or ``"score"``
        (the logit, which does not saturate when the network is sure)

    Returns
    -------
    drop : (N, H_out, W_out), ``H_out = (H - size) // stride + 1`` (W likewise);
        ``drop[n, i, j] = p(x[n]) - p(x[n] covered at rows i*stride ... i*stride+size-1
        and the same columns)``, p the softmax probability of ``target[n]`` (or its score).
        Positive where covering the patch hurts the class.

    Forward passes only, under ``cnnlib.no_grad()``: N * H_out * W_out occluded images.
    """
    fn = "occlusion"
    _check_images(x, fn)
    n, _, h, w = x.shape
    for name, v in (("size", size), ("stride", stride), ("batch_size", batch_size)):
        if not isinstance(v, Integral) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{fn}: {name} must be a positive int, got {v!r}")
    if size > min(h, w):
        raise ValueError(f"{fn}: size {size} is larger than the image ({h}x{w})")
    if of not in ("probability", "score"):
        raise ValueError(f"{fn}: of must be 'probability' or 'score', got {of!r}")
    out = (lambda s: F.softmax(s, dim=1)) if of == "probability" else (lambda s: s)
    t = _targets(target, n, fn)
    h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
    masks = np.zeros((h_out * w_out, 1, h, w))  # one patch position per mask
    for k, (i, j) in enumerate(np.ndindex(h_out, w_out)):
        masks[k, 0, i * stride : i * stride + size, j * stride : j * stride + size] = 1
    masks = asarray_like(masks, x, dtype=x.dtype)
    drop = np.empty((n, h_out * w_out))
    with no_grad():
        base = out(model(x))
        _one_hot_like(base, t, fn)  # checks the model's output and the targets
        base = to_numpy(base)[np.arange(n), t]
        for m in range(n):
            covered = x[m : m + 1] * (1 - masks) + value * masks  # (P, C, H, W)
            for start in range(0, len(masks), batch_size):
                p = to_numpy(out(model(covered[start : start + batch_size])))
                drop[m, start : start + batch_size] = base[m] - p[:, t[m]]
    return asarray_like(drop.reshape(n, h_out, w_out), x, dtype=x.dtype)


def grad_cam_map(activations, gradients):
    """Grad-CAM from a layer's feature maps and the class score's gradients with respect to them.

    activations, gradients : (N, C, h, w) -> (N, h, w)

    ``alpha[n, c] = mean over (i, j) of gradients[n, c, i, j]`` (one weight per channel) and
    ``map[n] = relu(sum over c of alpha[n, c] * activations[n, c])``, unnormalised.
    """
    fn = "grad_cam_map"
    xp = namespace(activations, gradients, names=["activations", "gradients"], fn=fn)
    if activations.ndim != 4 or tuple(activations.shape) != tuple(gradients.shape):
        raise ValueError(
            f"{fn}: activations and gradients must both be (N, C, h, w) of one shape, got "
            f"{tuple(activations.shape)} and {tuple(gradients.shape)}"
        )
    n, c = activations.shape[:2]
    alpha = xp.reshape(xp.mean(gradients, axis=(2, 3)), (n, c, 1, 1))  # one weight a channel
    weighted = xp.sum(alpha * activations, axis=1)  # (N, h, w)
    return xp.maximum(weighted, xp.zeros_like(weighted))


def grad_cam(features, head, x, target, upsample=True):
    """Grad-CAM (Selvaraju et al., 2017) for a network split as ``head(features(x))``.

    Parameters
    ----------
    features : Module, from the input to the layer whose maps are explained (usually the
        last convolutional layer, with its ReLU)
    head : Module, from those maps to the class scores (N, K), with a backward
    x : (N, C, H, W) images
    target : int or (N,) ints
    upsample : bool, resize the map to H x W (bilinear, ``F.interpolate``)

    Returns
    -------
    cam : (N, H, W), or (N, h, w), the size of the feature maps, when upsample is False.

    ``A = features(x)`` (no gradient needed below it), ``dA = head.backward(onehot)``, then
    :func:`grad_cam_map`. Bilinear upsampling with ``align_corners=False`` keeps the map
    non-negative.
    """
    fn = "grad_cam"
    xp = _check_images(x, fn)
    t = _targets(target, x.shape[0], fn)
    with no_grad():
        activations = features(x)
    if activations.ndim != 4:
        raise ValueError(
            f"{fn}: features must return feature maps (N, C, h, w), got shape "
            f"{tuple(activations.shape)}"
        )
    with _grads_kept(head):
        scores = head(activations)
        gradients = head.backward(_one_hot_like(scores, t, fn))
    cam = grad_cam_map(activations, gradients)
    if not upsample:
        return cam
    n, h, w = cam.shape
    up = F.interpolate(xp.reshape(cam, (n, 1, h, w)), size=tuple(x.shape[2:]), mode="bilinear")
    return xp.reshape(up, (n, *x.shape[2:]))


def class_model(model, target, shape, steps=100, lr=0.1, l2=0.0, init=None):
    """Simonyan et al.'s class model: an image that maximises ``s_target(I) - l2 * ||I||^2``.

    Parameters
    ----------
    model : Module returning class scores (1, K)
    target : int, the class
    shape : (C, H, W) of the image
    steps : int, gradient-ascent steps
    lr : float, step size
    l2 : float, lambda of the L2 penalty
    init : None (the zero image) or (1, C, H, W) starting image

    Returns
    -------
    image : (1, C, H, W), in the dtype and library of the model's first parameter
    scores : list of the class score s_target before each step and after the last

    Plain gradient ascent: ``I <- I + lr * (d s_target / d I - 2 * l2 * I)``.
    """
    fn = "class_model"
    params = list(model.parameters())
    if not params:
        raise ValueError(f"{fn}: the model has no parameters to take the image's dtype from")
    like = params[0].data
    if init is None:
        image = asarray_like(np.zeros((1, *shape)), like, dtype=like.dtype)
    else:
        _check_images(init, fn)
        image = init
    if not isinstance(steps, Integral) or steps < 0:
        raise ValueError(f"{fn}: steps must be a non-negative int, got {steps!r}")
    target = int(_targets(target, 1, fn)[0])
    onehot = None
    scores = []
    with _grads_kept(model):
        for _ in range(steps + 1):
            out = model(image)
            if onehot is None:
                onehot = _one_hot_like(out, np.array([target]), fn)
            scores.append(float(to_numpy(out)[0, target]))
            if len(scores) > steps:
                break
            grad = model.backward(onehot)
            image = image + lr * (grad - 2 * l2 * image)
    return image, scores
