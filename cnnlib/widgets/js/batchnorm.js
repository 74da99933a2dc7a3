// The BatchNorm explorer: a stream of batches (N, 3, 4, 4) whose channels have different means
// and spreads; every training step normalises a batch and updates the running statistics the
// way torch does. cnnlib's twin is simulate_batch_norm (F.batch_norm) in batchnorm_explorer.py.

const MEANS = [-2, 0, 3];
const STDS = [0.5, 1, 2];
const AREA = 16; // 4 x 4 pixels per channel and sample
const EPS = 1e-5;
const COLORS = ["#4e8fd0", "#f08c2e", "#3fae54"];

// One run: x and out as [n][c][16], running_mean and running_var as [step][c].
export function simulate({ batch_size, momentum, gamma, beta, mode, shift, scale, steps, seed }) {
  const normal = normals(seed);
  const trueMean = MEANS.map((m) => shift + m);
  const trueStd = STDS.map((s) => scale * s);
  const draw = () =>
    Array.from({ length: batch_size }, () =>
      trueMean.map((m, c) => Array.from({ length: AREA }, () => m + trueStd[c] * normal())),
    );
  const channel = (x, c) => x.flatMap((sample) => sample[c]);
  const normalise = (x, mu, variance) =>
    x.map((sample) =>
      sample.map((values, c) =>
        values.map((v) => ((v - mu[c]) / Math.sqrt(variance[c] + EPS)) * gamma + beta),
      ),
    );
  let runningMean = [0, 0, 0];
  let runningVar = [1, 1, 1];
  const means = [runningMean];
  const variances = [runningVar];
  let x = null;
  let out = null;
  for (let t = 0; t < steps; t++) {
    x = draw();
    const mu = [0, 1, 2].map((c) => mean(channel(x, c)));
    const variance = [0, 1, 2].map((c) => std(channel(x, c)) ** 2); // biased: normalises
    const m = batch_size * AREA;
    out = normalise(x, mu, variance);
    runningMean = runningMean.map((r, c) => (1 - momentum) * r + momentum * mu[c]);
    // the running variance uses the unbiased estimate, m / (m - 1) times the biased one
    runningVar = runningVar.map((r, c) => (1 - momentum) * r + momentum * variance[c] * (m / (m - 1)));
    means.push(runningMean);
    variances.push(runningVar);
  }
  if (mode === "eval") {
    x = draw(); // a fresh batch through the running statistics
    out = normalise(x, runningMean, runningVar);
  }
  return { x, out, running_mean: means, running_var: variances, true_mean: trueMean,
    true_var: trueStd.map((s) => s * s) };
}

// --- the pictures ----------------------------------------------------------------------------

const [W, H, LEFT, RIGHT, TOP, BOTTOM] = [300, 190, 40, 8, 24, 32];

function frame(title, xlabel, [x0, x1], [y0, y1]) {
  const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  plot.append(svg("text", { x: LEFT, y: 15 }, title));
  plot.append(svg("text", { x: (LEFT + W - RIGHT) / 2, y: H - 3, "text-anchor": "middle" }, xlabel));
  const px = (v) => LEFT + ((W - LEFT - RIGHT) * (v - x0)) / (x1 - x0 || 1);
  const py = (v) => TOP + ((H - TOP - BOTTOM) * (y1 - v)) / (y1 - y0 || 1);
  plot.append(svg("rect", { x: LEFT, y: TOP, width: W - LEFT - RIGHT, height: H - TOP - BOTTOM,
    fill: "none", stroke: "currentColor", "stroke-opacity": 0.4 }));
  for (const [v, end] of [[x0, "start"], [x1, "end"]]) {
    plot.append(svg("text", { x: px(v), y: H - BOTTOM + 14, "text-anchor": end }, fmt(v, 3)));
  }
  for (const v of [y0, y1]) {
    plot.append(svg("text", { x: LEFT - 4, y: py(v) + 4, "text-anchor": "end" }, fmt(v, 3)));
  }
  return { plot, px, py };
}

function histograms(title, data, [lo, hi]) {
  const bins = 40;
  const width = (hi - lo) / bins || 1;
  const counts = data.map((values) => {
    const c = Array(bins).fill(0);
    for (const v of values) c[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++;
    return c;
  });
  const top = Math.max(1, ...counts.flat());
  const { plot, px, py } = frame(title, "value", [lo, hi], [0, top]);
  counts.forEach((c, k) =>
    c.forEach((n, b) => {
      if (n === 0) return;
      plot.append(svg("rect", { x: px(lo + b * width), y: py(n), width: px(lo + width) - px(lo),
        height: py(0) - py(n), fill: COLORS[k], "fill-opacity": 0.55 }));
    }),
  );
  return plot;
}

function curves(title, series, truth) {
  const all = [...series.flat(), ...truth];
  const { plot, px, py } = frame(title, "training step", [0, series.length - 1],
    [Math.min(...all), Math.max(...all)]);
  truth.forEach((v, c) => {
    plot.append(svg("line", { x1: px(0), x2: px(series.length - 1), y1: py(v), y2: py(v),
      stroke: COLORS[c], "stroke-dasharray": "3 3" }));
    const points = series.map((row, t) => `${px(t)},${py(row[c])}`).join(" ");
    plot.append(svg("polyline", { points, fill: "none", stroke: COLORS[c], "stroke-width": 2 }));
  });
  return plot;
}

const signed = (v) => `${v < 0 ? "" : "+"}${v.toFixed(2)}`;

function render({ model, el: host }) {
  const root = el("div", { class: "cnn-explorer cnn-batchnorm" });
  const later = { live: false }; // commit on release: these two change the amount of work
  const controls = el("div", { class: "cnn-controls" }, [
    choice(model, "mode", "mode", ["train", "eval"]),
    slider(model, "batch_size", "batch size", 1, 256, 1, later),
    slider(model, "steps", "steps", 1, 300, 1, later),
    slider(model, "momentum", "momentum", 0.01, 1, 0.01),
    slider(model, "gamma", "gamma", -3, 3, 0.1),
    slider(model, "beta", "beta", -3, 3, 0.1),
    slider(model, "shift", "shift", -5, 5, 0.5),
    logSlider(model, "scale", "scale", -3, 3, 0.25),
  ]);
  const legend = el("div", { class: "cnn-legend" }, COLORS.map((color, c) => {
    const swatch = el("span", { class: "cnn-swatch" });
    swatch.style.background = color;
    return el("span", {}, [swatch, `channel ${c}`]);
  }));
  const figures = el("div", { class: "cnn-figures" });
  const readout = el("div", { class: "cnn-readout", "aria-live": "polite" });
  root.append(controls, legend, figures, readout);

  const compute = () => {
    const names = ["batch_size", "momentum", "gamma", "beta", "mode", "shift", "scale", "steps"];
    const s = Object.fromEntries(names.map((name) => [name, model.get(name)]));
    const run = simulate({ ...s, seed: model.get("seed") });
    const channel = (x, c) => x.flatMap((sample) => sample[c]);
    const before = [0, 1, 2].map((c) => channel(run.x, c));
    const after = [0, 1, 2].map((c) => channel(run.out, c));
    const all = [...before.flat(), ...after.flat()];
    const range = [Math.min(...all), Math.max(...all)];
    const how = s.mode === "train" ? "train: batch statistics" : "eval: running statistics";
    figures.replaceChildren(
      ...[
        histograms("before BN", before, range),
        histograms(`after BN (${how})`, after, range),
        curves("running_mean", run.running_mean, run.true_mean),
        curves("running_var", run.running_var, run.true_var),
      ].map((plot) => el("div", { class: "cnn-plot" }, [plot])),
    );
    const m = s.momentum;
    const lines = [
      `momentum ${m.toFixed(2)} in torch's convention is ${(1 - m).toFixed(2)} in Keras's; ` +
        `after ${s.steps} steps the initial running values still weigh ` +
        `(1 - ${m.toFixed(2)})^${s.steps} = ${fmt((1 - m) ** s.steps, 3)}`,
    ];
    const last = run.running_mean.length - 1;
    for (let c = 0; c < 3; c++) {
      lines.push(
        `channel ${c}: data mean ${signed(run.true_mean[c])} var ${fmt(run.true_var[c], 3)} | ` +
          `running mean ${signed(run.running_mean[last][c])} ` +
          `var ${fmt(run.running_var[last][c], 3)} | output mean ${signed(mean(after[c]))} ` +
          `std ${fmt(std(after[c]), 3)}`,
      );
    }
    readout.textContent = lines.join("\n");
    model.set({ running_mean: run.running_mean, running_var: run.running_var });
    save(model);
    publish(root, { settings: s, ...run });
  };
  for (const name of ["batch_size", "momentum", "gamma", "beta", "mode", "shift", "scale",
    "steps", "seed"]) {
    model.on(`change:${name}`, compute);
  }
  compute();
  host.append(root);
}

export default { render };
