"""cnnlib.train: fit/evaluate, a real training run on the digits, and step-by-step parity
with the same training in torch."""

import time

import numpy as np
import pytest

from cnnlib import nn, optim
from cnnlib.data import DataLoader, load_digits
from cnnlib.random import manual_seed
from cnnlib.train import accuracy, evaluate, fit


def small_cnn():
    """conv(1,16,3,p=1)-relu-pool-conv(16,32,3,p=1)-relu-pool-flatten-linear: 8x8 -> 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )


def test_accuracy():
    logits = np.array([[0.1, 2.0], [3.0, -1.0], [0.0, 1.0]])
    assert accuracy(logits, np.array([1, 0, 0])) == pytest.approx(2 / 3)


def test_fit_history_and_modes():
    d = load_digits()
    model = small_cnn()
    train = DataLoader(d.x_train[:96], d.y_train[:96], batch_size=32, shuffle=True, seed=0)
    val = DataLoader(d.x_test[:64], d.y_test[:64], batch_size=32)
    hist = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train,
               epochs=2, val_loader=val, progress=False)  # fmt: skip
    assert len(hist["loss"]) == len(hist["val_accuracy"]) == 2 and len(hist["step_loss"]) == 6
    assert hist["loss"][0] == pytest.approx(np.mean(hist["step_loss"][:3]))
    assert model.training  # fit leaves the model in training mode
    loss, acc = evaluate(model, val)
    assert loss == pytest.approx(hist["val_loss"][-1]) and acc == hist["val_accuracy"][-1]
    assert model.training  # evaluate restores the mode it found


@pytest.mark.slow
def test_small_cnn_learns_the_digits():
    d = load_digits()
    manual_seed(0)  # the initial weights (test accuracy is 98.4-98.7% over seeds 0-2)
    model = small_cnn()
    train = DataLoader(d.x_train, d.y_train, batch_size=32, shuffle=True, seed=0)
    test = DataLoader(d.x_test, d.y_test, batch_size=256)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=20, progress=False)
    elapsed = time.perf_counter() - start
    _, acc = evaluate(model, test)
    print(f"20 epochs in {elapsed:.1f} s, train loss {hist['loss'][-1]:.4f}, test acc {acc:.4f}")
    assert hist["loss"][-1] < hist["loss"][0] / 10
    assert acc >= 0.98


@pytest.mark.slow
def test_same_loss_curve_as_torch():
    torch = pytest.importorskip("torch")
    d = load_digits()
    model = small_cnn()
    model.double()
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 2 * 2, 10),
    ).double()
    with torch.no_grad():  # same initial weights
        for p, pt in zip(model.parameters(), ref.parameters(), strict=True):
            pt.copy_(torch.from_numpy(np.array(p.data)))
    x = d.x_train.astype(np.float64)
    batches = list(DataLoader(x, d.y_train, batch_size=32, shuffle=True, seed=1))[:30]
    hist = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
               batches, epochs=1, progress=False)  # fmt: skip
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    torch_losses = []
    for xb, yb in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(ref(torch.from_numpy(xb)), torch.from_numpy(yb))
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
    assert len(hist["step_loss"]) == 30
    np.testing.assert_allclose(hist["step_loss"], torch_losses, rtol=1e-9, atol=1e-12)
    assert np.mean(torch_losses[-5:]) < 0.75 * np.mean(torch_losses[:5])  # it did learn
    for p, pt in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.data, pt.detach().numpy(), rtol=1e-8, atol=1e-10)


def _loss_curve(device, steps=8):
    """Step losses of small_cnn (seeded, float64) trained on `device` ("numpy", "torch", "cuda")."""
    d = load_digits()
    manual_seed(3)
    model = small_cnn().double()
    if device != "numpy":
        model.to(device)
    loader = DataLoader(d.x_train[: 16 * steps].astype(np.float64), d.y_train[: 16 * steps],
                        batch_size=16, shuffle=True, seed=0,
                        device=None if device == "numpy" else device)  # fmt: skip
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=1, progress=False)
    return np.array(hist["step_loss"]), model


def test_fit_on_torch_tensors_matches_numpy():
    torch = pytest.importorskip("torch")
    ref, _ = _loss_curve("numpy")
    out, model = _loss_curve("torch")
    assert all(isinstance(p.data, torch.Tensor) for p in model.parameters())
    np.testing.assert_allclose(out, ref, rtol=1e-9)


@pytest.mark.cuda
def test_fit_on_cuda_matches_numpy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    ref, _ = _loss_curve("numpy")
    out, model = _loss_curve("cuda")
    assert all(p.data.device.type == "cuda" for p in model.parameters())
    np.testing.assert_allclose(out, ref, rtol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["original", "modern"])
def test_lenet5_learns_the_32x32_digits(variant):
    from cnnlib import models

    d = load_digits(size=32)
    manual_seed(0)
    model = models.lenet5(variant=variant)
    train = DataLoader(d.x_train, d.y_train, batch_size=32, shuffle=True, seed=0)
    hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), train,
               epochs=8, progress=False)  # fmt: skip
    _, acc = evaluate(model, DataLoader(d.x_test, d.y_test, batch_size=256))
    print(f"LeNet-5 ({variant}): test accuracy {acc:.4f}")
    assert hist["loss"][-1] < 0.3 and acc >= 0.93
