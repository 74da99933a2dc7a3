"""cnnlib.utils.interpret against the same computations with torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TOLERANCES, assert_same_library, torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_helpers import copy_weights, layer_backend, to_backend

from cnnlib import nn
from cnnlib.backend import to_numpy
from cnnlib.utils import interpret

pytestmark = pytest.mark.skipif(torch is None, reason="needs torch")
tF = torch.nn.functional if torch is not None else None

BACKENDS = ["numpy", "torch-cpu", "torch-cuda"]
CASES = [(b, d) for b in BACKENDS for d in ("float64", "float32")]


def nets(backend="numpy", dtype="float64", seed=0):
    """(features, head, model) in cnnlib on `backend` and their torch twins (float64)."""
    torch.manual_seed(seed)
    t_features = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 5, 3, padding=1),
        torch.nn.ReLU(),
    )
    t_head = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(80, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3)
    )
    features = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, padding=1),
        nn.ReLU(),
    )
    head = nn.Sequential(nn.Flatten(), nn.Linear(80, 6), nn.ReLU(), nn.Linear(6, 3))
    model, t_model = nn.Sequential(features, head), torch.nn.Sequential(t_features, t_head)
    copy_weights(model, t_model, backend, dtype)
    return (features, head, model), (t_features, t_head, t_model)


def images(n=4, dtype="float64", seed=1):
    return np.random.default_rng(seed).standard_normal((n, 3, 8, 8)).astype(dtype)


def close(ours, ref, dtype):
    rtol, atol = TOLERANCES[dtype]
    np.testing.assert_allclose(to_numpy(ours), np.asarray(ref), rtol=rtol, atol=atol)


def torch_input_gradient(t_model, x, target):
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    scores = t_model(tx)
    scores[torch.arange(len(x)), torch.as_tensor(target)].sum().backward()
    return tx.grad.numpy()


@pytest.mark.parametrize("backend, dtype", CASES)
def test_input_gradient_and_saliency_match_autograd(backend, dtype):
    layer_backend(backend)
    (_, _, model), (_, _, t_model) = nets(backend, dtype)
    x, target = images(dtype=dtype), np.array([0, 2, 1, 2])
    dx = interpret.input_gradient(model, to_backend(x, backend), target)
    assert_same_library(dx, backend)
    assert to_numpy(dx).dtype == dtype
    ref = torch_input_gradient(t_model, x, target)
    close(dx, ref, dtype)
    sal = interpret.saliency(model, to_backend(x, backend), target)
    assert tuple(sal.shape) == (4, 8, 8)
    close(sal, np.abs(ref).max(axis=1), dtype)
    # an int target means the same class for every image
    same = interpret.input_gradient(model, to_backend(x, backend), 1)
    close(same, torch_input_gradient(t_model, x, [1] * 4), dtype)


@pytest.mark.parametrize("backend, dtype", CASES)
def test_grad_cam_matches_autograd(backend, dtype):
    layer_backend(backend)
    (features, head, _), (t_features, t_head, _) = nets(backend, dtype)
    x, target = images(dtype=dtype), np.array([2, 0, 1, 1])
    activations = t_features(torch.from_numpy(x.astype(np.float64)))
    activations.retain_grad()
    t_head(activations)[torch.arange(4), torch.from_numpy(target)].sum().backward()
    alpha = activations.grad.mean(dim=(2, 3), keepdim=True)
    ref = torch.relu((alpha * activations).sum(dim=1)).detach()
    ref_up = tF.interpolate(ref[:, None], size=(8, 8), mode="bilinear")[:, 0]
    assert (ref > 0).any() and (ref == 0).any()  # the ReLU matters in this case
    coarse = interpret.grad_cam(features, head, to_backend(x, backend), target, upsample=False)
    assert_same_library(coarse, backend)
    assert tuple(coarse.shape) == (4, 4, 4)
    close(coarse, ref.numpy(), dtype)
    cam = interpret.grad_cam(features, head, to_backend(x, backend), target)
    assert tuple(cam.shape) == (4, 8, 8)
    close(cam, ref_up.numpy(), dtype)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 6),
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_grad_cam_map_is_the_definition(n, c, h, w, seed):
    g = np.random.default_rng(seed)
    a, grads = np.maximum(g.standard_normal((2, n, c, h, w)), 0)[0], g.standard_normal((n, c, h, w))
    ta, tg = torch.from_numpy(a), torch.from_numpy(grads)
    ref = torch.relu((tg.mean(dim=(2, 3), keepdim=True) * ta).sum(dim=1))
    close(interpret.grad_cam_map(a, grads), ref.numpy(), "float64")


def test_grad_cam_of_a_global_average_pooling_head_is_cam():
    """With GAP + Linear on top, the channel weights are w[c, k] / (h w): Grad-CAM = CAM / hw."""
    (features, _, _), _ = nets()
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3)).double()
    x = images()
    a = features(x)  # (4, 5, 4, 4)
    weight = head[2].weight.data  # (3, 5)
    for c in range(3):
        cam = np.maximum(np.einsum("k,nkij->nij", weight[c], a), 0) / 16
        got = interpret.grad_cam(features, head, x, c, upsample=False)
        np.testing.assert_allclose(got, cam, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend, dtype", CASES)
@pytest.mark.parametrize("size, stride, value", [(3, 1, 0.0), (4, 2, 0.5), (8, 3, -1.0)])
@pytest.mark.parametrize("of", ["probability", "score"])
def test_occlusion_matches_a_loop_in_torch(backend, dtype, size, stride, value, of):
    layer_backend(backend)
    (_, _, model), (_, _, t_model) = nets(backend, dtype)
    x, target = images(n=2, dtype=dtype), np.array([1, 2])
    got = interpret.occlusion(
        model, to_backend(x, backend), target, size, stride, value, batch_size=5, of=of
    )
    out_fn = (lambda s: torch.softmax(s, 1)) if of == "probability" else (lambda s: s)
    assert_same_library(got, backend)
    out = (8 - size) // stride + 1
    assert tuple(got.shape) == (2, out, out)
    ref = np.empty((2, out, out))
    with torch.no_grad():
        for m, i, j in np.ndindex(2, out, out):
            covered = torch.tensor(x[m : m + 1].astype(np.float64))
            base = out_fn(t_model(covered))[0, target[m]]
            covered[..., i * stride : i * stride + size, j * stride : j * stride + size] = value
            ref[m, i, j] = base - out_fn(t_model(covered))[0, target[m]]
    rtol, atol = TOLERANCES[dtype]
    np.testing.assert_allclose(to_numpy(got), ref, rtol=rtol, atol=atol * 10)


def test_occlusion_of_nothing_changes_nothing():
    """A patch that writes the values already there leaves the probability where it was."""
    (_, _, model), _ = nets()
    x = images(n=2)
    x[:, :, :4, :4] = 0.0
    drop = interpret.occlusion(model, x, [0, 1], size=4, stride=4, value=0.0)
    assert drop[:, 0, 0] == pytest.approx(0, abs=1e-15)
    assert np.abs(drop[:, 1:, 1:]).min() > 0


@pytest.mark.parametrize("backend, dtype", CASES)
def test_class_model_matches_gradient_ascent_with_autograd(backend, dtype):
    layer_backend(backend)
    (_, _, model), (_, _, t_model) = nets(backend, dtype)
    steps, lr, l2 = 15, 0.05, 0.3
    image, scores = interpret.class_model(model, 2, (3, 8, 8), steps=steps, lr=lr, l2=l2)
    assert_same_library(image, backend)
    assert to_numpy(image).dtype == dtype and tuple(image.shape) == (1, 3, 8, 8)
    ti = torch.zeros(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    ref_scores = []
    for _ in range(steps):
        s = t_model(ti)[0, 2]
        ref_scores.append(s.item())
        (grad,) = torch.autograd.grad(s, ti)
        ti = (ti + lr * (grad - 2 * l2 * ti)).detach().requires_grad_()
    ref_scores.append(t_model(ti)[0, 2].item())
    close(image, ti.detach().numpy(), dtype)
    close(np.array(scores), np.array(ref_scores), dtype)
    assert scores[-1] > scores[0]  # the ascent climbs
    # a given start is where it starts; zero steps return it unchanged
    start = to_backend(images(n=1, dtype=dtype), backend)
    same, one = interpret.class_model(model, 0, (3, 8, 8), steps=0, init=start)
    assert same is start and len(one) == 1


def test_parameter_gradients_are_left_as_they_were():
    (features, head, model), _ = nets()
    x = images()
    params = list(model.parameters())
    for k, p in enumerate(params):
        p.grad = None if k % 2 else np.full(p.shape, 7.0)
    before = [None if p.grad is None else p.grad.copy() for p in params]
    interpret.saliency(model, x, 1)
    interpret.grad_cam(features, head, x, [0, 1, 2, 0])
    interpret.class_model(model, 1, (3, 8, 8), steps=3)
    interpret.occlusion(model, x, 0, size=4, stride=4)
    for p, old in zip(params, before):
        if old is None:
            assert p.grad is None
        else:
            np.testing.assert_array_equal(p.grad, old)


def test_the_mode_of_the_model_is_the_callers():
    (_, _, model), _ = nets()
    model.train()
    interpret.saliency(model, images(), 0)
    assert model.training
    model.eval()
    interpret.saliency(model, images(), 0)
    assert not model.training


def test_bad_input_is_named():
    (features, head, model), _ = nets()
    x = images()
    with pytest.raises(ValueError, match=r"saliency: x must be a batch of images \(N, C, H, W\)"):
        interpret.saliency(model, x[0], 0)
    with pytest.raises(TypeError, match="input_gradient: x must be a floating-point array"):
        interpret.input_gradient(model, x.astype(np.int64), 0)
    with pytest.raises(ValueError, match=r"input_gradient: target must lie in \[0, 2\]"):
        interpret.input_gradient(model, x, 3)
    with pytest.raises(ValueError, match="grad_cam: target must be an int or N = 4"):
        interpret.grad_cam(features, head, x, [0, 1])
    with pytest.raises(ValueError, match="grad_cam: features must return feature maps"):
        interpret.grad_cam(model, head, x, 0)
    with pytest.raises(ValueError, match="occlusion: size 9 is larger than the image"):
        interpret.occlusion(model, x, 0, size=9)
    with pytest.raises(ValueError, match="occlusion: stride must be a positive int"):
        interpret.occlusion(model, x, 0, size=2, stride=0)
    with pytest.raises(ValueError, match="occlusion: of must be 'probability' or 'score'"):
        interpret.occlusion(model, x, 0, size=2, of="logit")
    with pytest.raises(ValueError, match="grad_cam_map: activations and gradients"):
        interpret.grad_cam_map(x, x[:, :2])
    with pytest.raises(ValueError, match="class_model: target must lie in"):
        interpret.class_model(model, -1, (3, 8, 8), steps=1)
    with pytest.raises(ValueError, match="the model must return class scores"):
        interpret.saliency(features, x, 0)
