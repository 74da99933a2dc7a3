// The convolution-arithmetic stepper: one output element per step. A transposed convolution is
// shown as the equivalent stride-1 convolution of the flipped kernel over the input with
// stride - 1 zeros inserted between its pixels and d(k - 1) - p zeros around it (a negative
// amount crops). cnnlib's twins are F.conv2d and F.conv_transpose2d.

// The grid the window slides over. Each cell is {value, kind}: kind "input", "pad" or
// "inserted" (a zero put between input pixels). Returns {cells, offset, kernel, out}.
export function layout(x, kernel, { stride, padding, dilation, transposed }) {
  const n = x.length;
  const k = kernel.length;
  const span = dilation * (k - 1);
  let grid;
  let offset = 0;
  let flipped = kernel;
  let out;
  if (!transposed) {
    const m = n + 2 * padding;
    grid = Array.from({ length: m }, (_, r) =>
      Array.from({ length: m }, (_, c) => {
        const i = r - padding;
        const j = c - padding;
        const inside = i >= 0 && i < n && j >= 0 && j < n;
        return inside ? { value: x[i][j], kind: "input" } : { value: 0, kind: "pad" };
      }),
    );
    out = Math.floor((n + 2 * padding - span - 1) / stride) + 1;
  } else {
    const q = span - padding;
    const border = Math.max(q, 0);
    offset = Math.max(-q, 0);
    const m = (n - 1) * stride + 1 + 2 * border;
    grid = Array.from({ length: m }, (_, r) =>
      Array.from({ length: m }, (_, c) => {
        const a = r - border;
        const b = c - border;
        const e = (n - 1) * stride;
        if (a < 0 || b < 0 || a > e || b > e) return { value: 0, kind: "pad" };
        if (a % stride || b % stride) return { value: 0, kind: "inserted" };
        return { value: x[a / stride][b / stride], kind: "input" };
      }),
    );
    flipped = kernel.map((row) => row.slice().reverse()).reverse();
    out = (n - 1) * stride - 2 * padding + span + 1;
  }
  return { grid, offset, kernel: flipped, out, step: transposed ? 1 : stride };
}

// Step t: the output position, the window's cells on the grid, the products and their sum.
export function stepAt(plan, t, dilation) {
  const i = Math.floor(t / plan.out);
  const j = t % plan.out;
  const cells = [];
  const terms = [];
  let value = 0;
  plan.kernel.forEach((row, u) =>
    row.forEach((w, v) => {
      const r = plan.offset + i * plan.step + dilation * u;
      const c = plan.offset + j * plan.step + dilation * v;
      cells.push([r, c]);
      terms.push([plan.grid[r][c].value, w]);
      value += plan.grid[r][c].value * w;
    }),
  );
  return { index: [i, j], cells, terms, value };
}

const num = (v) => (v < 0 ? `(${fmt(v, 6)})` : fmt(v, 6));

export function equation({ index, terms, value }) {
  const products = terms.map(([a, w]) => `${num(a)}*${num(w)}`).join(" + ");
  return `y[${index[0]},${index[1]}] = ${products} = ${fmt(value, 6)}`;
}

// The input x tiled to n x n (a larger input repeats the given one), likewise the kernel.
export function tile(a, n) {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => a[i % a.length][j % a[0].length]),
  );
}

const CELL = 26;
const FILL = { input: "#ffffff", pad: "#c9ced6", inserted: "#e6e9ee", empty: "#f7f7f9" };

// A labelled grid of numbers as SVG; rows of {value, kind} or null (not computed yet).
function gridSvg(rows, { title, marked = [], current = null, indices = false }) {
  const m = rows.length;
  const w = rows[0].length;
  const pad = indices ? 16 : 2;
  const width = Math.max(w * CELL + pad + 2, 7 * title.length);
  const height = m * CELL + pad + 20;
  const picture = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  Object.assign(picture.style, { flex: `0 1 ${width}px`, minWidth: "0", width: `${width}px` });
  picture.append(svg("text", { x: 0, y: 13 }, title));
  const key = (r, c) => `${r},${c}`;
  const markedSet = new Set(marked.map(([r, c]) => key(r, c)));
  rows.forEach((row, r) =>
    row.forEach((cell, c) => {
      const x = pad + c * CELL;
      const y = 18 + pad + r * CELL;
      const hit = markedSet.has(key(r, c)) || (current && current[0] === r && current[1] === c);
      const fill = hit ? "#ffd59e" : FILL[cell ? cell.kind : "empty"];
      picture.append(
        svg("rect", { x, y, width: CELL, height: CELL, fill, stroke: hit ? "#d35400" : "#8a919c",
          "stroke-width": hit ? 2 : 1 }),
      );
      if (cell) {
        const label = svg("text", { x: x + CELL / 2, y: y + CELL / 2 + 4, "text-anchor": "middle",
          style: `fill: ${cell.kind === "input" ? "#111" : "#555"}; font-size: 11px` },
        fmt(cell.value, 3));
        picture.append(label);
      }
    }),
  );
  if (indices) {
    for (let c = 0; c < w; c++) {
      picture.append(svg("text", { x: pad + c * CELL + CELL / 2, y: 16 + pad - 3,
        "text-anchor": "middle", style: "font-size: 10px" }, String(c)));
    }
    for (let r = 0; r < m; r++) {
      picture.append(svg("text", { x: 2, y: 18 + pad + r * CELL + CELL / 2 + 4,
        style: "font-size: 10px" }, String(r)));
    }
  }
  return picture;
}

function render({ model, el: host }) {
  const root = el("div", { class: "cnn-explorer cnn-stepper" });
  const controls = el("div", { class: "cnn-controls" }, [
    slider(model, "size", "input size", 2, 7),
    slider(model, "kernel_size", "kernel size", 1, 4),
    slider(model, "stride", "stride", 1, 3),
    slider(model, "padding", "padding", 0, 3),
    slider(model, "dilation", "dilation", 1, 3),
    checkbox(model, "transposed", "transposed"),
  ]);
  const button = (text) => el("button", { type: "button", text, "data-name": text });
  const [first, back, play, next, last] = ["first", "back", "play", "next", "last"].map(button);
  const stepSlider = el("input", { type: "range", min: 0, step: 1 });
  stepSlider.dataset.name = "step";
  stepSlider.setAttribute("aria-label", "step");
  const stepLabel = el("span", { class: "cnn-value", "data-name": "step-label" });
  const player = el("div", { class: "cnn-player" }, [
    first, back, play, next, last,
    el("label", { class: "cnn-control" }, [stepSlider, stepLabel]),
  ]);
  const figures = el("div", { class: "cnn-figures" });
  const readout = el("div", { class: "cnn-readout", "aria-live": "polite" });
  root.append(controls, player, figures, readout);

  let plan = null;
  let timer = null;
  const settings = () => ({
    size: model.get("size"),
    kernel_size: model.get("kernel_size"),
    stride: model.get("stride"),
    padding: model.get("padding"),
    dilation: model.get("dilation"),
    transposed: model.get("transposed"),
  });
  const total = () => (plan && plan.out > 0 ? plan.out * plan.out : 0);
  const goTo = (t) => {
    model.set("step", Math.max(0, Math.min(total() - 1, t)));
    save(model);
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
    play.textContent = "play";
  };

  // The step shown: Python may ask for one past the end after the sizes shrank.
  const current = () => Math.max(0, Math.min(model.get("step"), total() - 1));
  const show = () => {
    const n = total();
    const t = current();
    const s = settings();
    figures.replaceChildren();
    if (n === 0) {
      readout.replaceChildren(el("span", { class: "cnn-error",
        text: "the dilated kernel does not fit: no output" }));
      publish(root, { settings: s, steps: 0, step: t, output: null });
      return;
    }
    const here = stepAt(plan, t, s.dilation);
    stepSlider.max = n - 1;
    stepSlider.value = t;
    stepLabel.textContent = `step ${t + 1} of ${n}`;
    // the output so far: every step up to and including t
    const partial = Array.from({ length: plan.out }, () => Array(plan.out).fill(null));
    const full = Array.from({ length: plan.out }, () => Array(plan.out).fill(0));
    for (let u = 0; u < n; u++) {
      const { index, value } = stepAt(plan, u, s.dilation);
      full[index[0]][index[1]] = value;
      if (u <= t) partial[index[0]][index[1]] = value;
    }
    const q = s.dilation * (s.kernel_size - 1) - s.padding; // the transposed view's padding
    let name = `input, padding ${s.padding}`;
    if (s.transposed) {
      name = `zero-inserted input, ${q >= 0 ? `padding ${q}` : `${-q} rows and columns skipped`}`;
    }
    figures.append(
      gridSvg(plan.grid, { title: name, marked: here.cells }),
      gridSvg(plan.kernel.map((row) => row.map((value) => ({ value, kind: "input" }))),
        { title: s.transposed ? "kernel, rotated 180°" : "kernel" }),
      gridSvg(partial.map((row) => row.map((v) => (v === null ? null : { value: v, kind: "input" }))),
        { title: `output ${plan.out}x${plan.out}, step ${t + 1}/${n}`, current: here.index,
          indices: true }),
    );
    readout.replaceChildren(equation(here));
    publish(root, {
      settings: s, steps: n, step: t, index: here.index, cells: here.cells, value: here.value,
      grid: plan.grid.map((row) => row.map((cell) => cell.value)), output: full, partial,
      equation: equation(here), label: stepLabel.textContent,
    });
  };

  const recompute = () => {
    const s = settings();
    const x = tile(model.get("x"), s.size);
    const kernel = tile(model.get("kernel"), s.kernel_size);
    plan = layout(x, kernel, s);
    const n = total();
    model.set("output", n ? Array.from({ length: plan.out }, (_, i) =>
      Array.from({ length: plan.out }, (_, j) => stepAt(plan, i * plan.out + j, s.dilation).value))
      : []);
    save(model);
    show();
  };

  first.addEventListener("click", () => { stop(); goTo(0); });
  back.addEventListener("click", () => { stop(); goTo(current() - 1); });
  next.addEventListener("click", () => { stop(); goTo(current() + 1); });
  last.addEventListener("click", () => { stop(); goTo(total() - 1); });
  stepSlider.addEventListener("input", () => { stop(); goTo(Number(stepSlider.value)); });
  play.addEventListener("click", () => {
    if (timer) return stop();
    if (current() >= total() - 1) goTo(0);
    play.textContent = "pause";
    timer = setInterval(() => {
      if (current() >= total() - 1) stop();
      else goTo(current() + 1);
    }, model.get("interval"));
  });
  for (const name of ["x", "kernel", "size", "kernel_size", "stride", "padding", "dilation",
    "transposed"]) {
    model.on(`change:${name}`, recompute);
  }
  model.on("change:step", show);
  recompute();
  host.append(root);
  return () => stop();
}

export default { render };
