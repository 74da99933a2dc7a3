// What the four explorers share. cnnlib/widgets/_base.py puts this file in front of each
// explorer's own file and hands the joined text to anywidget as one ES module, so the names
// below are in scope there without an import.

// --- seeded random numbers (cnnlib/widgets/seeded.py is the same generator in NumPy) ------

// mulberry32: a 32-bit state that grows by a constant; each step hashes it into a uniform
// number in [0, 1). The i-th number depends only on seed + (i + 1) * 0x6d2b79f5.
export function mulberry32(seed) {
  let state = seed | 0;
  return function uniform() {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Standard normal numbers by Box-Muller, one per pair of uniforms (the sine half is dropped).
export function normals(seed) {
  const uniform = mulberry32(seed);
  return function normal() {
    const u1 = 1 - uniform(); // in (0, 1]: the logarithm stays finite
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

// --- small statistics ---------------------------------------------------------------------

export function mean(values) {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

// The population standard deviation (NumPy's std, torch's std(unbiased=False)).
export function std(values) {
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / values.length);
}

// Like Python's format(x, ".4g"), enough for readouts.
export function fmt(x, digits = 4) {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e < -4 || e >= digits) return x.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(Number(x.toPrecision(digits)));
}

// --- building the controls -----------------------------------------------------------------

export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key === "for" || key === "aria-label") {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

// Send the changes to Python. On the static website there is no kernel, so there is nobody to
// tell: ipywidgets throws "no comm channel", and the page simply keeps its own state.
export function save(model) {
  try {
    model.save_changes();
  } catch (error) {
    if (!String(error).includes("comm")) throw error;
  }
}

// A labelled control bound to the trait `name`: a change is written to the model (which
// recomputes through its "change:name" handler) and sent to Python when there is a kernel.
// parse turns the input's value into the trait's, toInput the other way; a slider that is
// not `live` commits when released (for explorers that take a moment to recompute); `commit`
// replaces the plain model.set(name, value) (for a choice that changes other traits too).
// Changes coming from Python only redraw: the browser never answers them with changes of its
// own, which could cross Python's next ones on the way.
export function control(model, name, label, input, options = {}) {
  const { parse = (v) => v, toInput = String, live = true } = options;
  const write = options.commit || ((value) => model.set(name, value));
  input.dataset.name = name;
  input.setAttribute("aria-label", label);
  const shown = el("span", { class: "cnn-value" });
  const display = () => {
    if (input.type === "range") shown.textContent = fmt(parse(input.value), 3);
  };
  const show = () => {
    if (input.type === "checkbox") input.checked = model.get(name);
    else input.value = toInput(model.get(name));
    display();
  };
  const commit = () => {
    write(parse(input.type === "checkbox" ? input.checked : input.value));
    save(model);
  };
  if (input.tagName === "SELECT" || input.type === "checkbox") {
    input.addEventListener("change", commit);
  } else if (live) {
    input.addEventListener("input", commit);
  } else {
    input.addEventListener("input", display);
    input.addEventListener("change", commit);
  }
  model.on(`change:${name}`, show);
  show();
  const parts = [el("span", { text: label }), input];
  if (input.type === "range") parts.push(shown); // a slider shows its value beside it
  return el("label", { class: "cnn-control" }, parts);
}

export function slider(model, name, label, min, max, step = 1, options = {}) {
  const input = el("input", { type: "range", min, max, step });
  return control(model, name, label, input, { parse: Number, ...options });
}

// A slider over log2 of the value: min and max are powers of two.
export function logSlider(model, name, label, min, max, step, options = {}) {
  const input = el("input", { type: "range", min, max, step });
  const parse = (v) => 2 ** Number(v);
  return control(model, name, label, input, { parse, toInput: Math.log2, ...options });
}

// A drop-down list; options are values, or [value, text] pairs.
export function choice(model, name, label, options, settings = {}) {
  const input = el("select");
  for (const option of options) {
    const [value, text] = Array.isArray(option) ? option : [option, option];
    input.append(el("option", { value, text }));
  }
  return control(model, name, label, input, settings);
}

export function checkbox(model, name, label) {
  return control(model, name, label, el("input", { type: "checkbox" }));
}

// The numbers an explorer shows, as JSON in a hidden <pre>: tests (and curious readers with the
// browser's inspector) compare them with cnnlib's.
export function publish(root, data) {
  let pre = root.querySelector(":scope > pre.cnn-data");
  if (!pre) {
    pre = el("pre", { class: "cnn-data", hidden: true });
    root.append(pre);
  }
  pre.textContent = JSON.stringify(data);
}
