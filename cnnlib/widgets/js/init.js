// The initialisation explorer: a random input and a random upstream gradient pushed through
// `depth` 3x3 convolutions (channels -> channels, circular padding, no bias), each followed by
// the activation, for several independently drawn networks. cnnlib's twin is
// cnnlib.viz.init_stats.signal_propagation with the numbers of cnnlib.widgets.seeded.

const KSIZE = 3;

export function initStd(scheme, fanIn, fanOut, gain) {
  if (scheme === "xavier") return gain * Math.sqrt(2 / (fanIn + fanOut));
  if (scheme === "he") return gain * Math.sqrt(2 / fanIn);
  return gain * (scheme === "too small" ? 0.01 : 1.0);
}

// f(z) and f'(z) expressed through z and a = f(z), as cnnlib's activation backward passes do.
const ACTIVATIONS = {
  relu: [(z) => (z > 0 ? z : 0), (z, a) => (z > 0 ? 1 : 0)],
  tanh: [Math.tanh, (z, a) => 1 - a * a],
  linear: [(z) => z, () => 1],
  leaky_relu: [(z) => (z > 0 ? z : z * 0.01), (z) => (z > 0 ? 1 : 0.01)],
};

// Circular padding by one pixel: (channels, size, size) -> (channels, size + 2, size + 2).
function wrapPad(a, channels, size) {
  const m = size + 2;
  const out = new Float64Array(channels * m * m);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const r = (i - 1 + size) % size;
        const s = (j - 1 + size) % size;
        out[(c * m + i) * m + j] = a[(c * size + r) * size + s];
      }
    }
  }
  return out;
}

// The adjoint of wrapPad: a padded pixel's gradient goes back to the pixel it copies.
function wrapPadBackward(g, channels, size) {
  const m = size + 2;
  const out = new Float64Array(channels * size * size);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const r = (i - 1 + size) % size;
        const s = (j - 1 + size) % size;
        out[(c * size + r) * size + s] += g[(c * m + i) * m + j];
      }
    }
  }
  return out;
}

// z[o, i, j] = sum over c, u, v of w[o, c, u, v] * p[c, i + u, j + v], p the padded input.
function convForward(p, w, channels, size) {
  const m = size + 2;
  const z = new Float64Array(channels * size * size);
  for (let o = 0; o < channels; o++) {
    for (let c = 0; c < channels; c++) {
      const b = (o * channels + c) * 9;
      const k0 = w[b], k1 = w[b + 1], k2 = w[b + 2], k3 = w[b + 3], k4 = w[b + 4];
      const k5 = w[b + 5], k6 = w[b + 6], k7 = w[b + 7], k8 = w[b + 8];
      for (let i = 0; i < size; i++) {
        const out = (o * size + i) * size;
        const r0 = (c * m + i) * m;
        const r1 = r0 + m;
        const r2 = r1 + m;
        for (let j = 0; j < size; j++) {
          z[out + j] +=
            k0 * p[r0 + j] + k1 * p[r0 + j + 1] + k2 * p[r0 + j + 2] +
            k3 * p[r1 + j] + k4 * p[r1 + j + 1] + k5 * p[r1 + j + 2] +
            k6 * p[r2 + j] + k7 * p[r2 + j + 1] + k8 * p[r2 + j + 2];
        }
      }
    }
  }
  return z;
}

// The gradient of convForward with respect to p: every product sends dz back to its input.
function convBackward(dz, w, channels, size) {
  const m = size + 2;
  const dp = new Float64Array(channels * m * m);
  for (let o = 0; o < channels; o++) {
    for (let c = 0; c < channels; c++) {
      const b = (o * channels + c) * 9;
      const k0 = w[b], k1 = w[b + 1], k2 = w[b + 2], k3 = w[b + 3], k4 = w[b + 4];
      const k5 = w[b + 5], k6 = w[b + 6], k7 = w[b + 7], k8 = w[b + 8];
      for (let i = 0; i < size; i++) {
        const out = (o * size + i) * size;
        const r0 = (c * m + i) * m;
        const r1 = r0 + m;
        const r2 = r1 + m;
        for (let j = 0; j < size; j++) {
          const g = dz[out + j];
          dp[r0 + j] += k0 * g; dp[r0 + j + 1] += k1 * g; dp[r0 + j + 2] += k2 * g;
          dp[r1 + j] += k3 * g; dp[r1 + j + 1] += k4 * g; dp[r1 + j + 2] += k5 * g;
          dp[r2 + j] += k6 * g; dp[r2 + j + 1] += k7 * g; dp[r2 + j + 2] += k8 * g;
        }
      }
    }
  }
  return dp;
}

// One network: the std of a_l and of dL/da_l for l = 0..depth. The numbers are drawn in the
// order input, weights layer by layer, upstream gradient.
export function propagate({ depth, activation, scheme, gain, channels, size, seed }) {
  const normal = normals(seed);
  const fan = channels * KSIZE * KSIZE;
  const weightStd = initStd(scheme, fan, fan, gain);
  const [f, df] = ACTIVATIONS[activation];
  const n = channels * size * size;
  let a = Float64Array.from({ length: n }, normal);
  const act = [std(a)];
  const layers = [];
  for (let l = 0; l < depth; l++) {
    const w = Float64Array.from({ length: channels * fan }, () => weightStd * normal());
    const z = convForward(wrapPad(a, channels, size), w, channels, size);
    a = z.map(f);
    layers.push({ w, z, a });
    act.push(std(a));
  }
  let g = Float64Array.from({ length: n }, normal);
  const grad = [std(g)];
  for (const { w, z, a } of layers.reverse()) {
    const dz = g.map((gi, i) => gi * df(z[i], a[i]));
    g = wrapPadBackward(convBackward(dz, w, channels, size), channels, size);
    grad.push(std(g));
  }
  return { weightStd, act, grad: grad.reverse() };
}

// Root-mean-square over networks, layer by layer (what the variance derivations predict).
export function rms(rows) {
  return rows[0].map((_, l) => Math.sqrt(mean(rows.map((row) => row[l] * row[l]))));
}

// --- the picture ---------------------------------------------------------------------------

const BLUE = "#3b82c4";

// std per layer on a log axis: thin lines for the networks, a thick one for their RMS.
function logPlot(title, rows, average) {
  const [W, H, left, right, top, bottom] = [330, 220, 46, 10, 24, 34];
  const values = rows.flat().filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.floor(Math.log10(Math.min(...values, 0.1)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const layers = rows[0].length - 1;
  const px = (l) => left + ((W - left - right) * l) / layers;
  const py = (v) => top + ((H - top - bottom) * (hi - Math.log10(v))) / (hi - lo);
  const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  plot.append(svg("text", { x: left, y: 15 }, title));
  const every = Math.ceil((hi - lo) / 6);
  for (let e = lo; e <= hi; e += every) {
    const y = py(10 ** e);
    plot.append(svg("line", { x1: left, x2: W - right, y1: y, y2: y, stroke: "currentColor",
      "stroke-opacity": e === 0 ? 0.6 : 0.15, "stroke-dasharray": e === 0 ? "3 3" : "" }));
    plot.append(svg("text", { x: left - 4, y: y + 4, "text-anchor": "end" }, `1e${e}`));
  }
  for (let l = 0; l <= layers; l += Math.ceil(layers / 8)) {
    plot.append(svg("text", { x: px(l), y: H - bottom + 14, "text-anchor": "middle" }, String(l)));
  }
  plot.append(svg("text", { x: (left + W - right) / 2, y: H - 4, "text-anchor": "middle" },
    "layer l"));
  const line = (row, width, opacity) => {
    const points = row.map((v, l) => (Number.isFinite(v) && v > 0 ? `${px(l)},${py(v)}` : null));
    plot.append(svg("polyline", { points: points.filter(Boolean).join(" "), fill: "none",
      stroke: BLUE, "stroke-width": width, "stroke-opacity": opacity }));
  };
  for (const row of rows) line(row, 1, 0.4);
  line(average, 2.5, 1);
  return plot;
}

function render({ model, el: host }) {
  const root = el("div", { class: "cnn-explorer cnn-init" });
  // Sliders recompute when released: eight networks of 40 layers take a moment.
  const controls = el("div", { class: "cnn-controls" }, [
    slider(model, "depth", "depth", 2, 40, 1, { live: false }),
    choice(model, "activation", "activation", ["relu", "tanh", "linear", "leaky_relu"]),
    choice(model, "scheme", "scheme", ["too small", "xavier", "he", "too large"]),
    logSlider(model, "gain", "gain", -3, 3, 0.25, { live: false }),
    choice(model, "channels", "channels", [4, 8, 16, 32], { parse: Number }),
  ]);
  const figures = el("div", { class: "cnn-figures" });
  const readout = el("div", { class: "cnn-readout", "aria-live": "polite" });
  root.append(controls, figures, readout);

  const compute = () => {
    const s = {
      depth: model.get("depth"),
      activation: model.get("activation"),
      scheme: model.get("scheme"),
      gain: model.get("gain"),
      channels: model.get("channels"),
      size: model.get("size"),
    };
    const runs = [];
    for (let r = 0; r < model.get("networks"); r++) {
      runs.push(propagate({ ...s, seed: model.get("seed") + r }));
    }
    const act = runs.map((run) => run.act);
    const grad = runs.map((run) => run.grad);
    const meanAct = rms(act);
    const meanGrad = rms(grad);
    figures.replaceChildren(
      el("div", { class: "cnn-plot" }, [logPlot("std of the activations a_l", act, meanAct)]),
      el("div", { class: "cnn-plot" }, [logPlot("std of the gradients dL/da_l", grad, meanGrad)]),
    );
    const fan = s.channels * 9;
    readout.textContent =
      `${s.scheme}, gain ${fmt(s.gain, 3)}: weight std ${fmt(runs[0].weightStd, 4)} ` +
      `(fan_in = ${s.channels}*3*3 = ${fan}); after ${s.depth} layers the activation std is ` +
      `${fmt(meanAct[s.depth], 3)}; the gradient std at the input is ${fmt(meanGrad[0], 3)} ` +
      `(root-mean-square over ${runs.length} networks)`;
    model.set({ act_std: meanAct, grad_std: meanGrad, weight_std: runs[0].weightStd });
    save(model);
    publish(root, { settings: s, weight_std: runs[0].weightStd, act, grad, rms_act: meanAct,
      rms_grad: meanGrad });
  };
  // Draw "computing" first, then compute: 8 networks of 40 layers take a moment.
  let pending = null;
  const later = () => {
    readout.textContent = "computing ...";
    clearTimeout(pending);
    pending = setTimeout(compute, 30);
  };
  for (const name of ["depth", "activation", "scheme", "gain", "channels", "networks"]) {
    model.on(`change:${name}`, later);
  }
  compute();
  host.append(root);
  return () => clearTimeout(pending);
}

export default { render };
