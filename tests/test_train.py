"""cnnlib.train: fit/evaluate, a real training run on the digits, and step-by-step parity
with the same training in torch."""

import io
import re
import sys
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


# --- the progress line: live while training, one summary line left behind ---------------------


def _tiny_fit(progress=True, epochs=2):
    """A linear classifier on 64 digits, 4 batches of 16 per epoch."""
    d = load_digits()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    train = DataLoader(d.x_train[:64], d.y_train[:64], batch_size=16, shuffle=True, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    return fit(model, nn.CrossEntropyLoss(), opt, train, epochs=epochs, progress=progress)


def test_progress_off_a_terminal_is_one_summary_line(capsys):
    hist = _tiny_fit()
    out, err = capsys.readouterr()
    assert out == "" and "\r" not in err and err.count("\n") == 1, repr(err)
    assert err.startswith("2 epochs, 8 steps, ")
    assert f"loss {hist['loss'][-1]:.4f}, acc {hist['accuracy'][-1]:.3f}" in err


def test_progress_is_silent_when_off(capsys):
    _tiny_fit(progress=False)
    assert capsys.readouterr() == ("", "")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_redraws_one_line(monkeypatch):
    import cnnlib.train

    monkeypatch.setattr(cnnlib.train._Progress, "interval", 0.0)  # redraw at every step
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    _tiny_fit()
    text = term.getvalue()
    frames = text.split("\r")[1:]
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, ended once
    assert len(frames) == 8 + 1  # every step, then the summary
    assert frames[0].startswith("epoch 1/2, batch 1/4, loss ")
    assert frames[-2].startswith("epoch 2/2, batch 4/4, loss ")
    assert frames[-1].startswith("2 epochs, 8 steps, ")
    # a shorter frame blanks out what is left of a longer one
    assert all(len(f.rstrip("\n")) >= len(prev) for prev, f in zip(frames, frames[1:]))


def test_progress_in_a_kernel_ends_as_text_without_the_bar(monkeypatch):
    """In a kernel the line is one display, redrawn in place; the last draw is text only."""
    import cnnlib.train

    drawn = []

    class Recorder(cnnlib.train._DisplayLine):
        def _draw(self, data):
            drawn.append(data)

    monkeypatch.setattr(cnnlib.train._Progress, "interval", 0.0)
    monkeypatch.setattr(cnnlib.train, "_kernel_line", Recorder)
    _tiny_fit()
    assert len(drawn) == 8 + 1
    values = [re.search(r'<progress value="(\d+)" max="8">', d["text/html"]) for d in drawn[:-1]]
    assert [int(v.group(1)) for v in values] == list(range(1, 9))
    assert drawn[-1].keys() == {"text/plain"} and drawn[-1]["text/plain"].startswith("2 epochs")


def test_progress_says_where_training_stopped(monkeypatch, capsys):
    class Broken(nn.Module):
        def forward(self, x):
            raise KeyboardInterrupt

    d = load_digits()
    train = DataLoader(d.x_train[:32], d.y_train[:32], batch_size=16)
    with pytest.raises(KeyboardInterrupt):
        fit(Broken(), nn.CrossEntropyLoss(), optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1),
            train, epochs=3)  # fmt: skip
    assert capsys.readouterr().err == "stopped in epoch 1/3 after 0 steps\n"


def test_a_notebook_executed_by_a_build_keeps_no_progress_bar(tmp_path):
    """nbclient (as nbval and Jupyter Book use it) saves the summary line and no widget."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "import cnnlib.train\n"
        "from cnnlib import nn, optim\n"
        "from cnnlib.data import DataLoader, load_digits\n"
        "cnnlib.train._Progress.interval = 0.0  # redraw at every step\n"
        "d = load_digits()\n"
        "model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))\n"
        "train = DataLoader(d.x_train[:64], d.y_train[:64], batch_size=16)\n"
        "opt = optim.SGD(model.parameters(), lr=0.1)\n"
        "history = cnnlib.train.fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    sent = []

    class Client(nbclient.NotebookClient):
        def process_message(self, msg, cell, cell_index):
            sent.append(msg)
            return super().process_message(msg, cell, cell_index)

    Client(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    assert "widgets" not in nb.metadata  # no widget state saved with the notebook
    outputs = nb.cells[0].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data", outputs
    assert set(outputs[0].data) == {"text/plain"}
    assert outputs[0].data["text/plain"].startswith("2 epochs, 8 steps, ")
    updates = [m for m in sent if m["msg_type"] == "update_display_data"]
    assert len(updates) == 8  # the bar was live: 7 redraws after the first draw, 1 summary
    assert '<progress value="8" max="8">' in updates[-2]["content"]["data"]["text/html"]
