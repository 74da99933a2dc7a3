// The kernel explorer: one grayscale image (pixel values 0..255) filtered with the kernel in the
// grid. cnnlib's twin is cnnlib.viz.filter_image, i.e. padding then F.conv2d.

// Where padded index i (from -p to n + p - 1) reads in a row or column of length n.
export function source(i, n, mode) {
  if (i >= 0 && i < n) return i;
  if (mode === "zeros") return -1; // outside: the value 0
  if (mode === "replicate") return i < 0 ? 0 : n - 1;
  if (mode === "circular") return ((i % n) + n) % n;
  return i < 0 ? -i : 2 * (n - 1) - i; // reflect: mirror without repeating the edge pixel
}

export function outputSize(n, k, stride, padding, dilation) {
  return Math.floor((n + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
}

export function formulaText(n, k, stride, padding, dilation) {
  const out = outputSize(n, k, stride, padding, dilation);
  return `H_out = floor((${n} + 2*${padding} - ${dilation}*(${k} - 1) - 1) / ${stride}) + 1 = ${out}`;
}

// Why a setting cannot be computed (as cnnlib's pad2d and conv2d would refuse it), or "".
export function problem(n, k, stride, padding, dilation, mode) {
  if (mode === "reflect" && padding >= n) return `reflect padding ${padding} needs padding < ${n}`;
  if (mode === "circular" && padding > n) return `circular padding ${padding} needs padding <= ${n}`;
  if (outputSize(n, k, stride, padding, dilation) < 1) {
    return `the dilated kernel spans ${dilation * (k - 1) + 1} pixels, more than ${n + 2 * padding}`;
  }
  return "";
}

// out[i][j] = sum over u, v of kernel[u][v] * padded[i*s + d*u][j*s + d*v]; convolution uses
// the kernel rotated by 180 degrees. image: Uint8Array (h * w); returns {h, w, values}.
export function filterImage(image, h, w, kernel, { stride, padding, dilation, mode, convolution }) {
  const k = kernel.length;
  const weight = (u, v) => (convolution ? kernel[k - 1 - u][k - 1 - v] : kernel[u][v]);
  const ho = outputSize(h, k, stride, padding, dilation);
  const wo = outputSize(w, k, stride, padding, dilation);
  const values = new Float64Array(ho * wo);
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      let sum = 0;
      for (let u = 0; u < k; u++) {
        const r = source(i * stride + dilation * u - padding, h, mode);
        if (r < 0) continue;
        for (let v = 0; v < k; v++) {
          const c = source(j * stride + dilation * v - padding, w, mode);
          if (c >= 0) sum += weight(u, v) * image[r * w + c];
        }
      }
      values[i * wo + j] = sum;
    }
  }
  return { h: ho, w: wo, values };
}

// A square kernel placed in the centre of a k x k grid (or its centre cut out).
export function resize(kernel, k) {
  const m = kernel.length;
  const shift = (m - k) / 2;
  return Array.from({ length: k }, (_, i) =>
    Array.from({ length: k }, (_, j) => kernel[i + shift]?.[j + shift] ?? 0),
  );
}

// The colour of each value. Signed values (a kernel that sums to 0, such as an edge detector)
// get a diverging map with a symmetric range, blue -m .. white 0 .. red +m, m = max |value|, so
// that 0 is always white; values that are all >= 0 are grey from black at 0 to white at the
// largest. Either way 0 keeps one colour whatever the image, as the chapter asks of a display.
export function colourScale(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo < 0) {
    const m = Math.max(-lo, hi);
    const rgb = (v) => {
      const t = Math.round(255 * (1 - Math.abs(v) / m));
      return v >= 0 ? [255, t, t] : [t, t, 255];
    };
    return { rgb, text: `colour: blue ${rangeNumber(-m)} · white 0 · red ${rangeNumber(m)}` };
  }
  const scale = hi > 0 ? 255 / hi : 0;
  const rgb = (v) => {
    const g = Math.round(v * scale);
    return [g, g, g];
  };
  return { rgb, text: `grey: black 0 · white ${rangeNumber(hi)}` };
}

function rangeNumber(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function draw(canvas, h, w, values, scale = colourScale(values)) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const picture = ctx.createImageData(w, h);
  values.forEach((v, i) => picture.data.set([...scale.rgb(v), 255], 4 * i));
  ctx.putImageData(picture, 0, 0);
  return scale;
}

function render({ model, el: host }) {
  const size = model.get("image_size");
  const image = Uint8Array.from(atob(model.get("image")), (ch) => ch.charCodeAt(0));
  const presets = model.get("presets");
  const root = el("div", { class: "cnn-explorer cnn-kernel" });
  const grid = el("div", { class: "cnn-grid", "data-name": "kernel" });
  // A preset or a new size writes the kernel too, in the same change.
  const presetKernel = (name, k) =>
    resize(name in presets ? presets[name].kernel : model.get("kernel"), k);
  const choosePreset = (name) => {
    if (!(name in presets)) return model.set("preset", name);
    model.set({ preset: name, kernel: presetKernel(name, model.get("kernel_size")) });
  };
  const chooseSize = (k) =>
    model.set({ kernel_size: k, kernel: presetKernel(model.get("preset"), k) });
  const sizes = [1, 3, 5, 7, 9].map((k) => [k, `${k}x${k}`]);
  const controls = el("div", { class: "cnn-controls" }, [
    choice(model, "preset", "preset", [...Object.keys(presets), "custom"],
      { commit: choosePreset }),
    choice(model, "kernel_size", "kernel size", sizes, { parse: Number, commit: chooseSize }),
    choice(model, "operation", "operation", ["cross-correlation", "convolution"]),
    choice(model, "padding_mode", "padding mode", ["zeros", "reflect", "replicate", "circular"]),
    slider(model, "padding", "padding", 0, 8),
    slider(model, "stride", "stride", 1, 4),
    slider(model, "dilation", "dilation", 1, 4),
  ]);
  const input = el("canvas", { "aria-label": "input image" });
  const output = el("canvas", { "aria-label": "output image" });
  const shown = `${2 * size}px`;
  input.style.width = shown;
  output.style.width = shown;
  const readout = el("div", { class: "cnn-readout", "aria-live": "polite" });
  root.append(
    controls,
    el("div", { class: "cnn-figures" }, [
      el("figure", { class: "cnn-figure" }, [el("figcaption", { text: "kernel" }), grid]),
      el("figure", { class: "cnn-figure" }, [el("figcaption", { text: "input" }), input]),
      el("figure", { class: "cnn-figure" }, [el("figcaption", { text: "output" }), output]),
    ]),
    readout,
  );
  draw(input, size, size, image);

  const buildGrid = () => {
    const kernel = model.get("kernel");
    const k = kernel.length;
    grid.replaceChildren();
    grid.style.gridTemplateColumns = `repeat(${k}, minmax(0, 3.6em))`;
    kernel.forEach((row, u) =>
      row.forEach((value, v) => {
        const cell = el("input", { type: "number", step: "any", value: String(value) });
        cell.setAttribute("aria-label", `kernel[${u}][${v}]`);
        cell.addEventListener("input", () => {
          if (Number.isNaN(cell.valueAsNumber)) return; // half-typed, e.g. "-"
          const next = model.get("kernel").map((r) => r.slice());
          next[u][v] = cell.valueAsNumber;
          model.set({ kernel: next, preset: "custom" });
          save(model);
        });
        grid.append(cell);
      }),
    );
  };
  const showKernel = () => {
    const kernel = model.get("kernel");
    if (grid.children.length !== kernel.length ** 2) buildGrid();
    kernel.flat().forEach((value, i) => {
      if (grid.children[i].valueAsNumber !== value) grid.children[i].value = String(value);
    });
  };

  const compute = () => {
    showKernel();
    const kernel = model.get("kernel");
    const k = kernel.length;
    const settings = {
      preset: model.get("preset"),
      kernel_size: k,
      kernel,
      operation: model.get("operation"),
      padding_mode: model.get("padding_mode"),
      padding: model.get("padding"),
      stride: model.get("stride"),
      dilation: model.get("dilation"),
    };
    const { stride, padding, dilation } = settings;
    const why = problem(size, k, stride, padding, dilation, settings.padding_mode);
    const formula = formulaText(size, k, stride, padding, dilation);
    readout.replaceChildren(formula);
    if (why) {
      readout.append("\n", el("span", { class: "cnn-error", text: `cannot compute: ${why}` }));
      output.width = 0;
      model.set({ output: [], output_shape: [], formula });
      publish(root, { settings, shape: null, output: null, formula, error: why });
      save(model);
      return;
    }
    const mode = settings.padding_mode;
    const out = filterImage(image, size, size, kernel, {
      stride, padding, dilation, mode, convolution: settings.operation === "convolution",
    });
    const scale = draw(output, out.h, out.w, out.values);
    output.style.width = `${(2 * size * out.w) / size}px`;
    readout.append(`   (output ${out.h}x${out.w})`, `\n${scale.text}`);
    const about = presets[model.get("preset")];
    if (about) readout.append(`\n${model.get("preset")}: ${about.text}`);
    const values = Array.from(out.values);
    model.set({ output: values, output_shape: [out.h, out.w], formula });
    publish(root, { settings, shape: [out.h, out.w], output: values, formula, error: "" });
    save(model);
  };

  for (const name of ["kernel", "operation", "padding_mode", "padding", "stride", "dilation"]) {
    model.on(`change:${name}`, compute);
  }
  compute();
  host.append(root);
}

export default { render };
