"""The four explorers on the built website, in headless Chromium, offline, with no kernel.

Each explorer is driven through a list of settings the way a reader would (presets chosen,
kernel values typed, sliders moved, modes switched, the stepper's buttons pressed), and the
numbers it shows -- published as JSON in its hidden ``pre.cnn-data`` -- are compared with
cnnlib's: exactly for integer kernels, to 1e-6 otherwise. Then every explorer page is checked
in dark mode at phone width (controls inside their explorer, readable text) and with
JavaScript off (the static picture instead).
"""

from __future__ import annotations

import numpy as np
import pytest
from booktools import REPO, notebook_source, toc_notebooks
from conftest import attach_offline_routes

from cnnlib import functional as F
from cnnlib import viz
from cnnlib.kernels import KERNELS
from cnnlib.widgets import simulate_batch_norm
from cnnlib.widgets.init_explorer import explorer_network
from cnnlib.widgets.kernel_explorer import formula_text, image_uint8, resize_kernel

pytestmark = pytest.mark.browser

EXPLORERS = ("KernelExplorer", "ConvStepper", "InitExplorer", "BatchNormExplorer")


def chapter(cls):
    """The docname of the chapter that shows explorer `cls`."""
    for path in toc_notebooks():
        if f"{cls}(" in notebook_source(path):
            return path.relative_to(REPO).with_suffix("").as_posix()
    pytest.skip(f"no chapter in _toc.yml shows {cls} yet")


DATA = "() => JSON.parse(document.querySelector('.cnn-explorer pre.cnn-data').textContent)"
# the explorer's settings as it reports them match `want` (numbers to 1e-9)
SETTLED = """(want) => {
  const pre = document.querySelector('.cnn-explorer pre.cnn-data');
  if (!pre) return false;
  const got = JSON.parse(pre.textContent).settings;
  const same = (a, b) => (typeof b === "number" ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
                          : JSON.stringify(a) === JSON.stringify(b));
  return Object.entries(want).every(([k, v]) => same(got[k], v));
}"""
SET = """([name, value]) => {
  const input = document.querySelector(`.cnn-explorer [data-name="${name}"]`);
  if (input.type === "checkbox") input.checked = value; else input.value = String(value);
  input.dispatchEvent(new Event("input", {bubbles: true}));
  input.dispatchEvent(new Event("change", {bubbles: true}));
}"""
SAVED = """(key) => Object.values(JSON.parse(document.querySelector(
    'script[type="application/vnd.jupyter.widget-state+json"]').textContent).state)
  .map((m) => m.state).find((s) => key in s)"""


@pytest.fixture
def open_explorer(chromium, site_url, artifacts):
    """open_explorer(cls, width, scheme) -> (page, traffic), the explorer rendered."""
    contexts = []

    def open_(cls, width=1280, scheme="light"):
        context = chromium.new_context(
            viewport={"width": width, "height": 900}, color_scheme=scheme
        )
        contexts.append(context)
        page = context.new_page()
        traffic = attach_offline_routes(page, site_url)
        page.goto(f"{site_url}{chapter(cls)}.html", wait_until="load")
        page.wait_for_selector(".cnn-explorer pre.cnn-data", state="attached", timeout=90_000)
        page.set_default_timeout(60_000)
        return page, traffic

    yield open_
    for context in contexts:
        context.close()


def apply(page, settings, want=None, slider_value=None):
    """Move the controls (selects chosen, sliders and checkboxes set), wait until the explorer
    reports `want` (default: `settings`), return its data. slider_value maps a setting to the
    value of a slider that moves over something else (log2 of the gain, say)."""
    for name, value in settings.items():
        control = page.locator(f'.cnn-explorer [data-name="{name}"]')
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(str(value))
        else:
            page.evaluate(SET, [name, (slider_value or {}).get(name, lambda v: v)(value)])
    page.wait_for_function(SETTLED, arg=settings if want is None else want)
    return page.evaluate(DATA)


def no_problems(traffic):
    assert any("/npm/anywidget@" in url for url in traffic.served_from_npm), traffic
    assert not traffic.problems(), traffic.problems()


# -- the kernel explorer -------------------------------------------------------------------


def check_kernel_output(data, kernel, s, pixels):
    kernel = np.asarray(kernel, dtype=np.float64)
    assert data["settings"]["kernel"] == kernel.tolist()
    expected = viz.filter_image(
        pixels, kernel, s["stride"], s["padding"], s["dilation"], s["padding_mode"],
        s["operation"] == "convolution",
    )  # fmt: skip
    assert data["shape"] == list(expected.shape)
    out = np.reshape(data["output"], data["shape"])
    if np.all(kernel == np.round(kernel)):
        np.testing.assert_array_equal(out, expected)
    else:
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    k = kernel.shape[0]
    assert data["formula"] == formula_text(96, k, s["stride"], s["padding"], s["dilation"])


def display_colours(out):
    """What the explorer should draw: a signed output on blue -m .. white 0 .. red +m with
    m = max |value|; an output >= 0 in grey from black at 0 to white at its largest value."""
    lo, hi = out.min(), out.max()
    if lo < 0:
        m = max(-lo, hi)
        t = np.floor(255 * (1 - np.abs(out) / m) + 0.5)
        pos = out >= 0
        rgb = np.stack([np.where(pos, 255, t), t, np.where(pos, t, 255)], axis=-1)
        return rgb, f"colour: blue {_fmt(-m)} · white 0 · red {_fmt(m)}"
    g = np.floor(out * (255 / hi if hi > 0 else 0) + 0.5)
    return np.stack([g, g, g], axis=-1), f"grey: black 0 · white {_fmt(hi)}"


def _fmt(v):
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def test_kernel_explorer_computes_what_cnnlib_computes(open_explorer):
    page, traffic = open_explorer("KernelExplorer")
    pixels = image_uint8("grace_hopper", 96).astype(np.float64)
    s = dict(operation="cross-correlation", padding_mode="zeros", padding=0, stride=1, dilation=1)
    checked = 0

    def check(kernel, **settings):
        nonlocal checked
        s.update({k: v for k, v in settings.items() if k in s})
        data = apply(page, settings, {**settings, "kernel": np.asarray(kernel, float).tolist()})
        check_kernel_output(data, kernel, s, pixels)
        canvas = page.locator('.cnn-explorer canvas[aria-label="output image"]')
        assert canvas.evaluate("c => [c.height, c.width]") == data["shape"]
        drawn = canvas.evaluate(
            "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        )
        out = np.reshape(data["output"], data["shape"])
        rgb, scale = display_colours(out)
        drawn = np.reshape(drawn, (*out.shape, 4))[..., :3]
        assert np.abs(drawn - rgb).max() <= 1, "the output is drawn on the wrong colour scale"
        assert scale in page.locator(".cnn-explorer .cnn-readout").inner_text()
        checked += 1

    check(KERNELS["sobel x"])  # as built
    for name in KERNELS:
        check(KERNELS[name], preset=name)
    check(resize_kernel(KERNELS["emboss"], 5), kernel_size=5)
    check(resize_kernel(KERNELS["emboss"], 5), operation="convolution")
    for mode in ("zeros", "reflect", "replicate", "circular"):
        check(
            resize_kernel(KERNELS["emboss"], 5), padding_mode=mode, padding=3, stride=2, dilation=2
        )
    check(resize_kernel(KERNELS["emboss"], 3), kernel_size=3)
    typed = [[1, 2, 0], [0, -1, 3], [-2, 0, 1]]
    for i, value in enumerate(np.ravel(typed)):
        page.locator(".cnn-explorer .cnn-grid input").nth(i).fill(str(value))
    page.wait_for_function(SETTLED, arg={"preset": "custom"})
    check(typed)
    check(typed, operation="cross-correlation")
    check(typed, padding_mode="reflect", padding=8, stride=3, dilation=4)
    check(resize_kernel(typed, 9), kernel_size=9, padding_mode="circular", padding=5, stride=4)
    check([[-1]], kernel_size=1, dilation=1, stride=1, padding=0)
    page.locator(".cnn-explorer .cnn-grid input").first.fill("0.37")
    check([[0.37]])
    check(resize_kernel([[0.37]], 3), kernel_size=3, padding_mode="replicate", padding=2)
    floats = resize_kernel([[0.37]], 3)
    for i, value in [(0, -1.25), (5, 0.5), (7, 2.75)]:
        page.locator(".cnn-explorer .cnn-grid input").nth(i).fill(str(value))
        floats.flat[i] = value
    check(floats, operation="convolution")
    assert checked == 25
    no_problems(traffic)


# -- the convolution stepper ---------------------------------------------------------------


def check_step(page, data, x, k, s):
    """The page's step t against cnnlib and the formulas of the convolution arithmetic."""
    xs, ws = np.asarray(x, float), np.asarray(k, float)
    n, ks = s["size"], s["kernel_size"]
    xs = np.tile(xs, (n // len(x) + 1, n // len(x) + 1))[:n, :n]
    ws = np.tile(ws, (ks // len(k) + 1, ks // len(k) + 1))[:ks, :ks]
    st, p, d = s["stride"], s["padding"], s["dilation"]
    if s["transposed"]:
        expected = F.conv_transpose2d(xs[None, None], ws[None, None], None, st, p, dilation=d)
        inserted = np.zeros(((n - 1) * st + 1,) * 2)
        inserted[::st, ::st] = xs
        grid = np.pad(inserted, max(d * (ks - 1) - p, 0))
        offset, step, ws = max(p - d * (ks - 1), 0), 1, ws[::-1, ::-1]
    else:
        expected = F.conv2d(xs[None, None], ws[None, None], None, st, p, d)
        grid, offset, step = np.pad(xs, p), 0, st
    expected = expected[0, 0]
    side = expected.shape[0]
    assert data["output"] == expected.tolist() and data["steps"] == side * side
    assert data["grid"] == grid.tolist()
    t = data["step"]
    i, j = divmod(t, side)
    cells = [
        [offset + i * step + d * u, offset + j * step + d * v] for u in range(ks) for v in range(ks)
    ]
    assert data["index"] == [i, j] and data["cells"] == cells
    assert data["value"] == sum(grid[r, c] * w for (r, c), w in zip(cells, ws.ravel()))
    assert data["value"] == expected[i, j]
    done = [[None if (a, b) > (i, j) else expected[a, b] for b in range(side)] for a in range(side)]
    assert data["partial"] == done
    # the slider, its label and the picture's title all say the same step
    label = f"step {t + 1} of {side * side}"
    assert data["label"] == label
    assert page.locator('.cnn-explorer [data-name="step-label"]').inner_text() == label
    assert page.locator('.cnn-explorer input[data-name="step"]').input_value() == str(t)
    assert page.locator(".cnn-explorer svg").last.inner_html().count(f"step {t + 1}/{side * side}")


STEPPER_SETTINGS = [
    dict(size=5, kernel_size=3, stride=1, padding=0, dilation=1, transposed=False),
    dict(size=7, kernel_size=3, stride=1, padding=0, dilation=2, transposed=False),
    dict(size=5, kernel_size=3, stride=3, padding=0, dilation=1, transposed=False),
    dict(size=6, kernel_size=2, stride=2, padding=1, dilation=1, transposed=False),
    dict(size=4, kernel_size=3, stride=2, padding=1, dilation=1, transposed=True),
    dict(size=3, kernel_size=3, stride=2, padding=0, dilation=1, transposed=True),
    dict(size=4, kernel_size=2, stride=3, padding=1, dilation=2, transposed=True),
    dict(size=3, kernel_size=3, stride=2, padding=3, dilation=1, transposed=True),
]


def test_conv_stepper_steps_through_cnnlibs_convolutions(open_explorer):
    page, traffic = open_explorer("ConvStepper")
    saved = page.evaluate(SAVED, "transposed")
    x, k = saved["x"], saved["kernel"]
    s = {name: saved[name] for name in STEPPER_SETTINGS[0]}
    checked = 0
    data = page.evaluate(DATA)
    check_step(page, data, x, k, s)  # as built: the step the chapter chose, not step 0
    assert data["step"] == saved["step"] > 0
    last = data["steps"] - 1
    for button, step in [
        ("next", saved["step"] + 1),
        ("back", saved["step"]),
        ("last", last),
        ("first", 0),
    ]:
        page.locator(f'.cnn-explorer button[data-name="{button}"]').click()
        page.wait_for_function(f"() => ({DATA})().step === {step}")
        check_step(page, page.evaluate(DATA), x, k, s)
        checked += 1
    texts = page.locator(".cnn-explorer button").all_inner_texts()
    assert texts == ["first", "back", "play", "next", "last"]  # words, not icon glyphs
    page.locator('.cnn-explorer button[data-name="play"]').click()
    page.wait_for_function(f"() => ({DATA})().step >= 2", timeout=15_000)
    page.locator('.cnn-explorer button[data-name="play"]').click()  # now "pause"
    assert page.locator('.cnn-explorer button[data-name="play"]').inner_text() == "play"
    check_step(page, page.evaluate(DATA), x, k, s)
    for settings in STEPPER_SETTINGS:
        s.update(settings)
        data = apply(page, settings)
        for step in sorted({0, data["steps"] // 2, data["steps"] - 1}):
            page.evaluate(SET, ["step", step])
            page.wait_for_function(f"() => ({DATA})().step === {step}")
            check_step(page, page.evaluate(DATA), x, k, s)
            checked += 1
    # 4 button presses, and 1, 2 or 3 distinct steps of each setting (1 step: stride 3)
    assert checked == 24
    no_problems(traffic)


# -- the initialisation and BatchNorm explorers ----------------------------------------------

INIT_SETTINGS = [
    dict(channels=8, depth=12),
    dict(activation="tanh", scheme="xavier", gain=2**0.75),
    dict(activation="leaky_relu", scheme="too small", gain=0.5),
    dict(activation="linear", scheme="too large", gain=2**-3, depth=40, channels=4),
    dict(activation="relu", scheme="he", gain=2**1.5, depth=6, channels=16),
]


def test_init_explorer_propagates_like_cnnlib(open_explorer):
    page, traffic = open_explorer("InitExplorer")
    saved = page.evaluate(SAVED, "networks")
    s = {name: saved[name] for name in ("depth", "activation", "scheme", "gain", "channels")}
    for settings in [{}, *INIT_SETTINGS]:
        s.update(settings)
        data = apply(page, settings, s, {"gain": np.log2})
        seeds = range(saved["seed"], saved["seed"] + saved["networks"])
        runs = [explorer_network(**s, seed=seed) for seed in seeds]
        assert len(data["act"]) == len(runs) == 8
        assert data["weight_std"] == pytest.approx(runs[0].weight_std, rel=1e-12)
        for name, field in [("act", "act_std"), ("grad", "grad_std")]:
            expected = np.array([getattr(run, field) for run in runs])
            np.testing.assert_allclose(data[name], expected, rtol=1e-6)
            rms = np.sqrt(np.mean(expected**2, axis=0))
            np.testing.assert_allclose(data[f"rms_{name}"], rms, rtol=1e-6)
        readout = page.locator(".cnn-explorer .cnn-readout").inner_text()
        c = s["channels"]
        assert f"fan_in = {c}*3*3 = {9 * c}" in readout and f"after {s['depth']} layers" in readout
    no_problems(traffic)


BN_SETTINGS = [
    dict(mode="eval", steps=5),
    dict(batch_size=1, momentum=1.0, mode="train"),
    dict(shift=4.0, scale=4.0, gamma=-1.5, beta=2.0),
    dict(batch_size=64, steps=200, momentum=0.05, mode="eval", shift=0, scale=1, gamma=1, beta=0),
    dict(steps=1, batch_size=2, mode="train"),
]


def test_batchnorm_explorer_simulates_like_cnnlib(open_explorer):
    page, traffic = open_explorer("BatchNormExplorer")
    saved = page.evaluate(SAVED, "momentum")
    names = ("batch_size", "momentum", "gamma", "beta", "mode", "shift", "scale", "steps")
    s = {name: saved[name] for name in names}
    for settings in [{}, *BN_SETTINGS]:
        s.update(settings)
        data = apply(page, settings, s, {"scale": np.log2})
        run = simulate_batch_norm(**s, seed=saved["seed"])
        for name in ("x", "out", "running_mean", "running_var", "true_mean", "true_var"):
            expected = getattr(run, name)
            got = np.reshape(data[name], expected.shape)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=name)
    no_problems(traffic)


# -- every explorer in both themes, at phone width, and without JavaScript -------------------

READABILITY = """() => {
  const rgba = (s) => {
    const p = s.match(/[\\d.]+/g).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => top.slice(0, 3).map((c, i) => top[3] * c + (1 - top[3]) * under[i]);
  const background = (el) => {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.unshift(e);
    return chain.reduce((color, e) => over(rgba(getComputedStyle(e).backgroundColor), color),
                        [255, 255, 255]);
  };
  const luminance = (c) => {
    const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const [r, g, b] = c.map((v) => linear(v / 255));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const root = document.querySelector(".cnn-explorer");
  const text = [...root.querySelectorAll(".cnn-readout, .cnn-control > span, select, button,"
    + " .cnn-grid input, figcaption, .cnn-legend > span")];
  // SVG text drawn in the text colour (the stepper's numbers sit on their own light cells)
  const svgText = [...root.querySelectorAll("svg text")].filter((t) => !t.style.fill);
  const rows = [...text, ...svgText].filter((e) => e.getClientRects().length).map((e) => {
    const bg = background(e);
    const style = getComputedStyle(e);
    const fg = over(rgba(e.tagName === "text" ? style.fill : style.color), bg);
    const shown = (e.value || e.textContent).trim().slice(0, 30);
    const m = e.tagName === "text" ? e.getScreenCTM() : null;
    const px = parseFloat(style.fontSize) * (m ? Math.hypot(m.a, m.b) : 1);
    return {what: `${e.tagName}.${e.className.baseVal ?? e.className} "${shown}"`,
            contrast: contrast(fg, bg), px};
  });
  return {theme: document.documentElement.dataset.theme, rows};
}"""

FIT = """() => {
  const root = document.querySelector(".cnn-explorer");
  const column = root.closest(".cell_output").getBoundingClientRect();
  const box = root.getBoundingClientRect();
  const bad = [];
  if (box.left < column.left - 0.5 || box.right > column.right + 0.5) {
    bad.push(`the explorer (${box.left}-${box.right}) leaves its column`
             + ` (${column.left}-${column.right})`);
  }
  if (root.scrollWidth > root.clientWidth + 1) {
    bad.push(`scrolls sideways by ${root.scrollWidth - root.clientWidth}px`);
  }
  const parts = "input, select, button, label, canvas, svg, .cnn-readout";
  for (const e of root.querySelectorAll(parts)) {
    const r = e.getBoundingClientRect();
    if (!r.width) continue;
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
      const name = e.dataset.name || e.getAttribute("aria-label") || "";
      bad.push(`${e.tagName}[${name}] ${r.left}-${r.right}`);
    }
    if (e.tagName === "SELECT") { // the longest option's text, and room for the arrow
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = getComputedStyle(e).font;
      const widest = Math.max(...[...e.options].map((o) => ctx.measureText(o.text).width));
      if (widest + 20 > e.clientWidth) bad.push(`select ${e.dataset.name} cuts its options`);
    }
  }
  return bad;
}"""


@pytest.mark.parametrize("cls", EXPLORERS)
@pytest.mark.parametrize(
    "width, scheme", [(390, "dark"), (1280, "dark"), (390, "light"), (1280, "light")]
)
def test_explorer_fits_and_reads_in_both_themes(open_explorer, artifacts, cls, width, scheme):
    page, traffic = open_explorer(cls, width, scheme)
    page.wait_for_function(
        "() => !document.querySelector('.cnn-readout').textContent.includes('computing')"
    )
    report = page.evaluate(READABILITY)
    assert report["theme"] == scheme  # the page follows the OS setting
    faint = [r for r in report["rows"] if r["contrast"] < 4.5]
    assert not faint, f"{cls} {width}px {scheme}: text below contrast 4.5: {faint}"
    small = [r for r in report["rows"] if r["px"] < 9]
    assert not small, f"{cls} {width}px: text under 9px: {small}"
    assert len(report["rows"]) >= 5
    assert page.evaluate(FIT) == [], f"{cls} at {width}px"
    root = page.locator(".cnn-explorer")
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(artifacts / f"explorer__{cls}__{width}_{scheme}.png"))
    assert page.locator('img[alt$="initial state"]').count() == 0  # only for pages without JS
    no_problems(traffic)


@pytest.mark.parametrize("cls", EXPLORERS)
def test_without_javascript_a_picture_stands_in(chromium, site_url, cls):
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 800, "height": 900}
    )
    try:
        page = context.new_page()
        attach_offline_routes(page, site_url)
        page.goto(f"{site_url}{chapter(cls)}.html", wait_until="load")
        picture = page.locator(f'img[alt="{cls}, initial state"]')
        assert picture.count() == 1
        box = picture.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
        assert page.locator(".cnn-explorer").count() == 0
    finally:
        context.close()
