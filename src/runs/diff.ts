import * as path from 'node:path';
import { diffFlat, flatten, formatValue, sameValue, type ConfigChange, type Flat } from './flatten';
import { alignLayers, describeLayerChange, layersOf, type LayerChange } from './layers-diff';
import { parameterCount } from './params';
import { formatDelta, formatMetric, formatPercent } from './format';
import { listVersions, Run } from './read';
import { metricColumns, formatMetricCell } from './show';
import { mean, variance, welch, type Welch } from './stats';
import { renderMarkdown, renderText, type Table } from './table';
import type { MetricsRow, RunStatus } from '../run-format/types';

/**
 * `pipeline diff A B`: what changed between two runs (config, typed), what it
 * did (final and best metrics, epoch by epoch), and — when both sides were
 * repeated with other seeds — whether the difference is bigger than the noise.
 */

export interface RunRef {
  run: string;
  dir: string;
  status: RunStatus;
}

export interface MetricDelta {
  metric: string;
  old: number | null;
  new: number | null;
  change: number | null;
  /** change / |old|; null when old is 0 or missing. */
  relative: number | null;
}

export interface EnvChange {
  key: string;
  old: unknown;
  new: unknown;
}

export interface SeedGroup {
  runs: string[];
  seeds: number[];
  values: number[];
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface SeedSpread {
  metric: string;
  a: SeedGroup;
  b: SeedGroup;
  difference: number;
  /** The larger of the two sample standard deviations. */
  spread: number;
  welch: Welch;
  /** Welch's t-test two-sided p < 0.05: the rule, stated in the output. */
  exceeds: boolean;
  rangesOverlap: boolean;
}

export interface DiffReport {
  a: RunRef;
  b: RunRef;
  /** Changes outside the layer list (all changes when a side has no layer list). */
  config: ConfigChange[];
  /** The layer lists aligned: an inserted layer is one change. Null when a side has no layer list. */
  layers: LayerChange[] | null;
  parameters: { old: number | null; new: number | null; change: number | null };
  /** The metric each side's best epoch was chosen by (summary.json's bestBy). */
  bestBy: { a: string; b: string };
  /** Time per epoch and throughput: how fast, not how good; not ranked with the metrics. */
  timing: MetricDelta[];
  environment: EnvChange[];
  /** best: each metric at each side's best epoch, the epoch its `bestBy` metric selected (not each metric's own best). */
  metrics: { final: MetricDelta[]; best: MetricDelta[]; bestEpoch: { a: number | null; b: number | null } };
  /** Which metrics the epoch table shows. */
  epochMetrics: string[];
  epochs: Array<{ epoch: number; a: MetricsRow | null; b: MetricsRow | null }>;
  seedSpread: SeedSpread | null;
}

/** Keys that say nothing about the trained model: differences there are not config changes worth a seed group split. */
const NOT_TRAINING = (key: string) =>
  key === 'name' || key === 'description' || key === 'seed' || key === 'sweep' || key.startsWith('sweep.');

/** Metrics about speed rather than the model. */
const TIMING = ['seconds', 'samplesPerSecond'];

function withoutLayers(f: Flat): Flat {
  return new Map([...f].filter(([k]) => !k.startsWith('model.layers[') && k !== 'model.layers'));
}

export function diffRuns(a: Run, b: Run): DiffReport {
  const la = layersOf(a.resolved());
  const lb = layersOf(b.resolved());
  const aligned = la !== undefined && lb !== undefined;
  const fa = flatten(a.resolved() ?? {});
  const fb = flatten(b.resolved() ?? {});
  const pa = parameterCount(a) ?? null;
  const pb = parameterCount(b) ?? null;
  const finals = metricDeltas(a.finalMetrics(), b.finalMetrics());
  const rowsA = a.metrics();
  const rowsB = b.metrics();
  const main = b.mainMetric().name;
  const epochMetrics = [main, main.toLowerCase().includes('loss') ? 'testAccuracy' : 'testLoss'].filter(
    (m, i, all) => all.indexOf(m) === i && [...rowsA, ...rowsB].some((r) => typeof r[m] === 'number'),
  );
  const byEpoch = new Map<number, { a: MetricsRow | null; b: MetricsRow | null }>();
  for (const r of rowsA) byEpoch.set(r.epoch, { a: r, b: null });
  for (const r of rowsB) byEpoch.set(r.epoch, { a: byEpoch.get(r.epoch)?.a ?? null, b: r });

  return {
    a: ref(a),
    b: ref(b),
    config: aligned ? diffFlat(withoutLayers(fa), withoutLayers(fb)) : diffFlat(fa, fb),
    layers: aligned ? alignLayers(la, lb) : null,
    parameters: { old: pa, new: pb, change: pa !== null && pb !== null ? pb - pa : null },
    bestBy: { a: bestByOf(a), b: bestByOf(b) },
    timing: finals.filter((d) => TIMING.includes(d.metric)),
    environment: environmentChanges(a, b),
    metrics: {
      final: finals.filter((d) => !TIMING.includes(d.metric)),
      best: metricDeltas(a.bestMetrics(), b.bestMetrics()).filter((d) => !TIMING.includes(d.metric)),
      bestEpoch: { a: a.bestMetrics()?.epoch ?? null, b: b.bestMetrics()?.epoch ?? null },
    },
    epochMetrics,
    epochs: [...byEpoch.entries()].sort((x, y) => x[0] - y[0]).map(([epoch, v]) => ({ epoch, ...v })),
    seedSpread: seedSpread(a, b, main),
  };
}

/** What a run's best epoch was chosen by, as its summary.json says (older runs: the main metric). */
function bestByOf(r: Run): string {
  return r.summary()?.bestBy ?? r.mainMetric().name;
}

function ref(r: Run): RunRef {
  return { run: r.id, dir: r.dir, status: r.status() };
}

export function metricDeltas(a: MetricsRow | undefined, b: MetricsRow | undefined): MetricDelta[] {
  const keys = metricColumns([...(a ? [a] : []), ...(b ? [b] : [])]).filter((k) => k !== 'epoch');
  return keys.map((metric) => {
    const o = typeof a?.[metric] === 'number' ? a[metric] : null;
    const n = typeof b?.[metric] === 'number' ? b[metric] : null;
    const change = o !== null && n !== null ? n - o : null;
    const relative = change !== null && o !== null && o !== 0 ? change / Math.abs(o) : null;
    return { metric, old: o, new: n, change, relative };
  });
}

/** What ran the experiment, when it differs: results may move for these reasons too. */
function environmentChanges(a: Run, b: Run): EnvChange[] {
  const ma = a.meta();
  const mb = b.meta();
  const pick: Array<[string, (m: NonNullable<typeof ma>) => unknown]> = [
    ['backend', (m) => m.backend],
    ['workers', (m) => m.workers],
    ['dataset.fingerprint', (m) => m.dataset?.fingerprint],
    ['dataset.counts', (m) => m.dataset?.counts],
    ['git.commit', (m) => m.git?.commit],
    ['git.dirty', (m) => m.git?.dirty],
    ['versions.pipeline', (m) => m.versions?.pipeline],
    ['versions.tfjs', (m) => m.versions?.tfjs],
    ['versions.node', (m) => m.versions?.node],
    ['host', (m) => m.host],
  ];
  const out: EnvChange[] = [];
  for (const [key, get] of pick) {
    const va = ma ? get(ma) : undefined;
    const vb = mb ? get(mb) : undefined;
    if (!sameValue(va, vb)) out.push({ key, old: va ?? null, new: vb ?? null });
  }
  return out;
}

/** The config without what seeds and labels change: two runs with equal keys differ only by seed. */
function trainingKey(r: Run): string | undefined {
  const resolved = r.resolved();
  if (!resolved) return undefined;
  const flat = flatten(resolved);
  return JSON.stringify([...flat.entries()].filter(([k]) => !NOT_TRAINING(k)).sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** Completed runs in the same experiment folder with the same training config as `r`, one per seed. */
export function seedGroup(r: Run, metric: string): { runs: Run[]; values: number[]; seeds: number[] } {
  const key = trainingKey(r);
  const expDir = path.dirname(r.dir);
  const runs: Run[] = [];
  const values: number[] = [];
  const seeds: number[] = [];
  if (key === undefined) return { runs, values, seeds };
  const candidates = [
    r,
    ...listVersions(path.dirname(expDir), path.basename(expDir))
      .filter((v) => v !== r.version)
      .map((v) => new Run(path.join(expDir, String(v)), r.name, v)),
  ];
  for (const c of candidates) {
    if (c.status() !== 'completed' || trainingKey(c) !== key) continue;
    const seed = (c.resolved()?.seed as number | undefined) ?? c.meta()?.seed;
    const value = c.finalMetrics()?.[metric];
    // One run per seed: a repeat of the same seed is not a new sample of the noise.
    if (typeof seed !== 'number' || typeof value !== 'number' || seeds.includes(seed)) continue;
    runs.push(c);
    values.push(value);
    seeds.push(seed);
  }
  const order = seeds.map((_, i) => i).sort((i, j) => seeds[i] - seeds[j]);
  return { runs: order.map((i) => runs[i]), values: order.map((i) => values[i]), seeds: order.map((i) => seeds[i]) };
}

function stats(values: number[]): { mean: number; std: number; min: number; max: number } {
  return { mean: mean(values), std: Math.sqrt(variance(values)), min: Math.min(...values), max: Math.max(...values) };
}

export const SIGNIFICANCE = 0.05;

/** Only when both sides have runs with at least two seeds and the sides differ in more than the seed. */
export function seedSpread(a: Run, b: Run, metric: string): SeedSpread | null {
  if (trainingKey(a) === trainingKey(b)) return null;
  const ga = seedGroup(a, metric);
  const gb = seedGroup(b, metric);
  if (ga.values.length < 2 || gb.values.length < 2) return null;
  const sa = stats(ga.values);
  const sb = stats(gb.values);
  const w = welch(ga.values, gb.values);
  return {
    metric,
    a: { runs: ga.runs.map((r) => r.id), seeds: ga.seeds, values: ga.values, ...sa },
    b: { runs: gb.runs.map((r) => r.id), seeds: gb.seeds, values: gb.values, ...sb },
    difference: sb.mean - sa.mean,
    spread: Math.max(sa.std, sb.std),
    welch: w,
    exceeds: w.p < SIGNIFICANCE,
    rangesOverlap: sa.min <= sb.max && sb.min <= sa.max,
  };
}

// ---- rendering ----

function configTable(r: DiffReport): Table {
  const typed = r.config.some((c) => c.typeChange);
  return {
    columns: [{ header: 'key' }, { header: r.a.run }, { header: r.b.run }, ...(typed ? [{ header: 'note' }] : [])],
    rows: r.config.map((c) => [
      c.key,
      c.kind === 'added' ? '(absent)' : formatValue(c.old),
      c.kind === 'removed' ? '(absent)' : formatValue(c.new),
      ...(typed ? [c.typeChange ? `type ${c.typeChange}` : ''] : []),
    ]),
  };
}

function envTable(r: DiffReport): Table {
  return {
    columns: [{ header: 'key' }, { header: r.a.run }, { header: r.b.run }],
    rows: r.environment.map((e) => [e.key, formatValue(e.old ?? undefined), formatValue(e.new ?? undefined)]),
  };
}

function metricsTableOf(r: DiffReport): Table {
  const right = { align: 'right' as const };
  const best = new Map(r.metrics.best.map((d) => [d.metric, d]));
  return {
    columns: [
      { header: 'metric' },
      { header: `final ${r.a.run}`, ...right },
      { header: `final ${r.b.run}`, ...right },
      { header: 'change', ...right },
      { header: 'rel.', ...right },
      { header: `${r.a.run} at best ${r.bestBy.a}`, ...right },
      { header: `${r.b.run} at best ${r.bestBy.b}`, ...right },
      { header: 'change', ...right },
      { header: 'rel.', ...right },
    ],
    rows: r.metrics.final.map((f) => {
      const b = best.get(f.metric);
      const cell = (v: number | null) => (v === null ? '—' : formatMetricCell(f.metric, v));
      return [
        f.metric,
        cell(f.old),
        cell(f.new),
        formatDelta(f.change ?? undefined),
        formatPercent(f.relative ?? undefined),
        cell(b?.old ?? null),
        cell(b?.new ?? null),
        formatDelta(b?.change ?? undefined),
        formatPercent(b?.relative ?? undefined),
      ];
    }),
  };
}

function epochsTable(r: DiffReport): Table {
  const right = { align: 'right' as const };
  const columns = [{ header: 'epoch', ...right }];
  for (const m of r.epochMetrics)
    columns.push(
      { header: `${m} ${r.a.run}`, ...right },
      { header: `${m} ${r.b.run}`, ...right },
      { header: 'change', ...right },
    );
  return {
    columns,
    rows: r.epochs.map((e) => [
      String(e.epoch),
      ...r.epochMetrics.flatMap((m) => {
        const va = e.a?.[m];
        const vb = e.b?.[m];
        return [
          formatMetric(va),
          formatMetric(vb),
          typeof va === 'number' && typeof vb === 'number' ? formatDelta(vb - va) : '—',
        ];
      }),
    ]),
  };
}

export function seedSentence(s: SeedSpread, a: string, b: string): string {
  const side = (name: string, g: SeedGroup) =>
    `${name}: ${g.values.length} seeds (${g.seeds.join(', ')}), mean ${formatMetric(g.mean)} ± ${formatMetric(g.std)} (range ${formatMetric(g.min)}–${formatMetric(g.max)})`;
  const p = s.welch.p < 1e-4 ? s.welch.p.toExponential(1) : s.welch.p.toFixed(4);
  const verdict = s.exceeds
    ? `exceeds the seed-to-seed spread (Welch's t-test p = ${p} < ${SIGNIFICANCE})`
    : `does not exceed the seed-to-seed spread (Welch's t-test p = ${p} >= ${SIGNIFICANCE})`;
  return [
    `final ${s.metric} over seeds:`,
    `  ${side(a, s.a)}`,
    `  ${side(b, s.b)}`,
    `The difference of means, ${formatDelta(s.difference)}, ${verdict}; the seed ranges ${s.rangesOverlap ? 'overlap' : 'do not overlap'}.`,
  ].join('\n');
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** "parameters: 81,302 -> 62,006 (-19,296, -23.7%)" when both sides are known. */
function parametersLine(r: DiffReport): string | undefined {
  const { old: o, new: n } = r.parameters;
  if (o === null || n === null) return undefined;
  if (o === n) return `parameters: ${count(o)} (unchanged)`;
  const sign = n > o ? '+' : '-';
  return `parameters: ${count(o)} -> ${count(n)} (${sign}${count(Math.abs(n - o))}${o ? `, ${formatPercent((n - o) / o)}` : ''})`;
}

/** "speed: 12.5 -> 13.1 s/epoch, 4,000 -> 3,800 samples/s" (the last epoch of each). */
function timingLine(r: DiffReport): string | undefined {
  const parts = r.timing
    .filter((t) => t.old !== null || t.new !== null)
    .map(
      (t) =>
        `${formatMetricCell(t.metric, t.old)} -> ${formatMetricCell(t.metric, t.new)} ${t.metric === 'seconds' ? 's/epoch' : 'samples/s'}`,
    );
  return parts.length ? `speed (last epoch): ${parts.join(', ')}` : undefined;
}

/** What "at best" means: one epoch per run, chosen by its selection metric; not each metric's own best. */
function bestNote(r: DiffReport): string {
  const side = (run: string, by: string, epoch: number | null) => `${run} epoch ${epoch ?? '—'} (best ${by})`;
  return `at best: every metric at the epoch the run's selection metric chose: ${side(r.a.run, r.bestBy.a, r.metrics.bestEpoch.a)}, ${side(r.b.run, r.bestBy.b, r.metrics.bestEpoch.b)}`;
}

export function formatDiff(r: DiffReport, style: 'text' | 'md' = 'text'): string {
  const render = style === 'md' ? renderMarkdown : renderText;
  const heading = (s: string) => (style === 'md' ? `### ${s}` : `${s}:`);
  const out: string[] = [];
  const statusNote = (x: RunRef) => (x.status === 'completed' ? '' : ` (${x.status})`);
  out.push(
    style === 'md'
      ? `## \`${r.a.run}\`${statusNote(r.a)} → \`${r.b.run}\`${statusNote(r.b)}`
      : `${r.a.run}${statusNote(r.a)} -> ${r.b.run}${statusNote(r.b)}`,
    '',
  );

  const n = r.config.length + (r.layers?.length ?? 0);
  out.push(heading(`config (${n === 0 ? 'no changes' : `${n} change${n === 1 ? '' : 's'}`})`));
  if (r.config.length) out.push(render(configTable(r)));
  for (const c of r.layers ?? [])
    out.push(
      style === 'md' ? `- \`model.layers\`: ${describeLayerChange(c)}` : `model.layers: ${describeLayerChange(c)}`,
    );
  const params = parametersLine(r);
  if (params) out.push('', params);
  out.push('');
  if (r.environment.length) out.push(heading('environment'), render(envTable(r)), '');

  out.push(heading('metrics'));
  out.push(r.metrics.final.length || r.metrics.best.length ? render(metricsTableOf(r)) : 'no metrics recorded');
  if (r.metrics.best.length) out.push(bestNote(r));
  out.push('');
  const timing = timingLine(r);
  if (timing) out.push(timing, '');
  if (r.seedSpread) out.push(heading('seed spread'), seedSentence(r.seedSpread, r.a.run, r.b.run), '');
  if (r.epochs.length && r.epochMetrics.length) out.push(heading('epochs'), render(epochsTable(r)), '');
  return out.join('\n').replace(/\n+$/, '\n');
}
