// Charts: Vega-Lite specs drawn by vega-embed (loaded from /vendor on first use), with the
// SVG renderer and vega's expression interpreter (ast: true), so the page's CSP needs no eval.
// No $schema: the same specs work with Vega-Lite 5 and 6.

const BASE = {
  background: 'transparent',
  autosize: { type: 'fit', contains: 'padding' },
  config: { font: 'system-ui, sans-serif', view: { stroke: '#ddd' }, legend: { orient: 'bottom', labelLimit: 260 } },
};

const views = new WeakMap();
let loading = null;

/** vega, vega-lite and vega-embed (about 2 MB of script), loaded when the first chart is drawn: the runs table needs none. */
function loadVega() {
  const load = (src) =>
    new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.append(script);
    });
  loading ??= load('/vendor/vega.min.js')
    .then(() => load('/vendor/vega-lite.min.js'))
    .then(() => load('/vendor/vega-embed.min.js'));
  return loading;
}

/** Draws `spec` into `container`, replacing (and freeing) the chart it held. */
export async function draw(container, spec) {
  await loadVega();
  views.get(container)?.finalize();
  const result = await globalThis.vegaEmbed(
    container,
    { ...BASE, ...spec },
    { mode: 'vega-lite', renderer: 'svg', actions: false, ast: true },
  );
  views.set(container, result.view);
  return result.view;
}

/** A line per series over epochs: the run page's panels and the compare overlay. */
export function curvesSpec(points, { title, seriesTitle, seriesOrder, yTitle, log = false, raw = null }) {
  // A log scale is not rounded out to whole decades: a loss from 2.2 to 2.4 would be a flat line.
  const y = {
    field: 'value',
    type: 'quantitative',
    title: yTitle,
    scale: log ? { type: 'log', nice: false } : { zero: false },
  };
  const color = {
    field: 'series',
    type: 'nominal',
    title: seriesTitle,
    sort: seriesOrder,
    scale: { domain: seriesOrder },
  };
  const layers = [
    { mark: { type: 'line', strokeWidth: 2 }, encoding: { x: epochAxis, y, color } },
    {
      mark: { type: 'point', filled: true, size: 28 },
      encoding: {
        x: epochAxis,
        y,
        color,
        tooltip: [{ field: 'series', title: seriesTitle }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
      },
    },
  ];
  // Smoothed curves keep the raw values faintly beside them, as TensorBoard does (last, so the legend is the lines').
  if (raw)
    layers.push({
      data: { values: raw },
      mark: { type: 'line', strokeWidth: 1, opacity: 0.25 },
      encoding: { x: epochAxis, y, color },
    });
  return { title, width: 'container', height: 260, data: { values: points }, layer: layers };
}

const epochAxis = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } };

/** Exponential moving average per series (TensorBoard's smoothing), weight in [0, 1). */
export function smooth(points, weight) {
  if (!(weight > 0)) return points;
  const last = new Map();
  return [...points]
    .sort((a, b) => a.epoch - b.epoch)
    .map((p) => {
      const prev = last.get(p.series);
      const value = prev === undefined ? p.value : prev * weight + p.value * (1 - weight);
      last.set(p.series, value);
      return { ...p, value };
    });
}

/**
 * Parallel coordinates: one vertical axis per swept parameter and the metric, one line per
 * trial. Values are placed on each axis here (numbers by value, on a log scale when they span
 * two decades; anything else by category), Vega-Lite draws the lines, axes and labels.
 */
export function parallelSpec(trials, keys, metric) {
  const axes = [...keys, metric];
  const place = new Map(axes.map((k) => [k, placer(trials.map((t) => t[k]))]));
  const lines = [];
  const labels = [];
  for (const k of axes) for (const [label, y] of place.get(k).ticks) labels.push({ axis: k, y, label });
  for (const t of trials)
    for (const k of axes)
      if (t[k] !== undefined && t[k] !== null)
        lines.push({ axis: k, y: place.get(k).at(t[k]), trial: String(t.trial), metric: t[metric] });
  const x = {
    field: 'axis',
    type: 'nominal',
    sort: axes,
    title: null,
    axis: { labelAngle: 0, labelLimit: 160, orient: 'top' },
  };
  const yEnc = { field: 'y', type: 'quantitative', axis: null, scale: { domain: [0, 1] } };
  return {
    title: `${metric} against every swept parameter`,
    width: 'container',
    height: 280,
    layer: [
      { data: { values: axes.map((axis) => ({ axis })) }, mark: { type: 'rule', color: '#999' }, encoding: { x } },
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 2, opacity: 0.8 },
        encoding: {
          x,
          y: yEnc,
          detail: { field: 'trial' },
          color: { field: 'metric', type: 'quantitative', title: metric, scale: { scheme: 'viridis' } },
          tooltip: [{ field: 'trial' }, { field: 'metric', title: metric, format: '.4f' }],
        },
      },
      {
        data: { values: labels },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#444' },
        encoding: { x, y: yEnc, text: { field: 'label' } },
      },
    ],
  };
}

/** Positions in [0, 1] for one axis's values, and the tick labels to print there. */
function placer(values) {
  const present = values.filter((v) => v !== undefined && v !== null);
  if (present.length > 0 && present.every((v) => typeof v === 'number')) {
    const min = Math.min(...present);
    const max = Math.max(...present);
    const log = min > 0 && max / min >= 100;
    const f = (v) => (log ? Math.log10(v) : v);
    const span = f(max) - f(min);
    const at = (v) => (span === 0 ? 0.5 : (f(v) - f(min)) / span);
    const ticks = [...new Set(present)].sort((a, b) => a - b).map((v) => [String(+v.toPrecision(4)), at(v)]);
    return { at, ticks: ticks.length > 6 ? [ticks[0], ticks[ticks.length - 1]] : ticks };
  }
  const cats = [...new Set(present.map((v) => JSON.stringify(v)))].sort();
  const at = (v) => (cats.length === 1 ? 0.5 : cats.indexOf(JSON.stringify(v)) / (cats.length - 1));
  return { at, ticks: cats.map((c) => [c.replace(/^"|"$/g, ''), at(JSON.parse(c))]) };
}

/** The metric against one parameter: a point per trial. */
export function scatterSpec(trials, key, metric) {
  const numeric = trials.every((t) => typeof t[key] === 'number');
  const values = trials
    .filter((t) => typeof t[metric] === 'number')
    .map((t) => ({
      x: numeric ? t[key] : JSON.stringify(t[key]),
      y: t[metric],
      trial: String(t.trial),
      status: t.status,
    }));
  const positive = numeric && values.every((v) => v.x > 0);
  const spread =
    positive && values.length && Math.max(...values.map((v) => v.x)) / Math.min(...values.map((v) => v.x)) >= 100;
  return {
    title: key,
    width: 'container',
    height: 180,
    data: { values },
    mark: { type: 'point', filled: true, size: 70 },
    encoding: {
      x: {
        field: 'x',
        type: numeric ? 'quantitative' : 'nominal',
        title: key,
        scale: spread ? { type: 'log' } : { zero: false },
      },
      y: { field: 'y', type: 'quantitative', title: metric, scale: { zero: false } },
      color: { field: 'status', type: 'nominal' },
      tooltip: [{ field: 'trial' }, { field: 'x', title: key }, { field: 'y', title: metric, format: '.4f' }],
    },
  };
}

/** A confusion matrix as a heat map: true class down, predicted across, counts written in. */
export function confusionSpec(classes, matrix) {
  const values = [];
  matrix.forEach((row, i) =>
    row.forEach((count, j) => values.push({ truth: classes[i], predicted: classes[j], count })),
  );
  const x = { field: 'predicted', type: 'ordinal', sort: classes, axis: { labelAngle: -40 } };
  const y = { field: 'truth', type: 'ordinal', sort: classes, title: 'true class' };
  return {
    title: 'confusion matrix',
    width: 'container',
    // The height includes the axes (autosize fit): room for the slanted class names below.
    height: classes.length * 24 + 120,
    data: { values },
    encoding: { x, y },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' } } } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'count' } } },
    ],
  };
}
