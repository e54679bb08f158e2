import * as path from 'node:path';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../util/atomic';
import { didYouMean } from '../util/suggest';
import { formatMetric } from './format';
import { Run } from './read';
import { renderSvg } from './vega';
import type { MetricsRow } from './types';

/**
 * Learning curves drawn with vega-lite and rendered to SVG in Node. One point
 * format serves both pictures: a run's own curves (train/validation/test per
 * panel) and several runs overlaid (one colour per run, one panel per metric).
 */

export interface CurvePoint {
  epoch: number;
  value: number;
  /** The line: a run (`cifar-lenet/3`) or a split (`test`). */
  series: string;
  /** The panel: a metric name, or `loss` / `accuracy`. */
  panel: string;
}

export interface CurvesOptions {
  title: string;
  seriesTitle: string;
  /** Series in legend order (also fixes the colours). */
  seriesOrder: string[];
  panelOrder: string[];
}

export function curvesSpec(points: CurvePoint[], o: CurvesOptions): object {
  const single = o.panelOrder.length === 1;
  const layer = {
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: single ? o.panelOrder[0] : null, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: o.seriesTitle, sort: o.seriesOrder, scale: { domain: o.seriesOrder } },
      tooltip: [{ field: 'series' }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
    },
    layer: [{ mark: { type: 'line', strokeWidth: 2 } }, { mark: { type: 'point', filled: true, size: 30 } }],
  };
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    background: 'white',
    data: { values: points },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, legend: { orient: 'bottom', columns: 4, labelLimit: 280 } },
  };
  if (single) return { ...base, width: 520, height: 300, ...layer };
  return {
    ...base,
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: o.panelOrder, header: { labelFontSize: 13 } } },
    spec: { width: 340, height: 260, ...layer },
    resolve: { scale: { y: 'independent' } },
  };
}

const SPLITS: Array<[prefix: string, split: string]> = [
  ['', 'train'],
  ['val', 'validation'],
  ['test', 'test'],
];

/** A run's own curves: a loss panel and an accuracy panel (or whatever base metrics it recorded), by split. */
export function runCurvePoints(rows: MetricsRow[]): { points: CurvePoint[]; panels: string[]; splits: string[] } {
  const bases = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (k === 'epoch' || k === 'learningRate' || k === 'seconds' || k === 'samplesPerSecond') continue;
      const m = /^(val|test)([A-Z].*)$/.exec(k);
      bases.add(m ? m[2][0].toLowerCase() + m[2].slice(1) : k);
    }
  }
  const panels = ['loss', 'accuracy', ...[...bases].filter((b) => b !== 'loss' && b !== 'accuracy').sort()].filter((b) => bases.has(b));
  const points: CurvePoint[] = [];
  const splits = new Set<string>();
  for (const panel of panels) {
    for (const [prefix, split] of SPLITS) {
      const key = prefix ? prefix + panel[0].toUpperCase() + panel.slice(1) : panel;
      for (const r of rows) {
        const v = r[key];
        if (typeof v === 'number' && Number.isFinite(v)) {
          points.push({ epoch: r.epoch, value: v, series: split, panel });
          splits.add(split);
        }
      }
    }
  }
  return { points, panels, splits: SPLITS.map(([, s]) => s).filter((s) => splits.has(s)) };
}

/**
 * Writes `curves.svg` into a run folder (called by `pipeline run` when a run
 * ends). Returns the file written, or undefined when the run has no metrics yet.
 * Rejects on a rendering error: the caller decides whether that fails the run
 * (it should not: log it and go on).
 */
export async function writeRunCurves(runDir: string): Promise<string | undefined> {
  const run = Run.fromDir(runDir);
  const rows = run.refreshMetrics();
  if (rows.length === 0) return undefined;
  const { points, panels, splits } = runCurvePoints(rows);
  if (points.length === 0) return undefined;
  const name = run.meta() ? `${run.meta()!.name}/${run.meta()!.version}` : run.id;
  const svg = await renderSvg(curvesSpec(points, { title: `${name} learning curves`, seriesTitle: 'split', seriesOrder: splits, panelOrder: panels }));
  const file = path.join(run.dir, 'curves.svg');
  writeFileAtomic(file, svg);
  return file;
}

/** Several runs overlaid: one panel per metric, one line per run. */
export function overlayPoints(runs: Run[], metrics: string[]): CurvePoint[] {
  const known = new Set<string>();
  const points: CurvePoint[] = [];
  for (const run of runs) {
    for (const r of run.metrics()) {
      for (const k of Object.keys(r)) known.add(k);
      for (const m of metrics) {
        const v = r[m];
        if (typeof v === 'number' && Number.isFinite(v)) points.push({ epoch: r.epoch, value: v, series: run.id, panel: m });
      }
    }
  }
  for (const m of metrics) {
    if (!points.some((p) => p.panel === m)) {
      const candidates = [...known].filter((k) => k !== 'epoch');
      const which = runs.length === 1 ? runs[0].id : `any of the ${runs.length} runs`;
      throw new UsageError(`no "${m}" values in ${which}${didYouMean(m, candidates) || (candidates.length ? `; recorded: ${candidates.join(', ')}` : '; no metrics recorded yet')}`);
    }
  }
  return points;
}

export interface PlotResult {
  file: string;
  format: 'svg' | 'html';
  runs: string[];
  metrics: string[];
}

/** `pipeline plot`: render and write the file (.svg, or .html with the SVG inline and a summary table). */
export async function plotRuns(runs: Run[], metrics: string[], out: string): Promise<PlotResult> {
  const ext = path.extname(out).toLowerCase();
  if (ext !== '.svg' && ext !== '.html' && ext !== '.htm') throw new UsageError(`--out must end in .svg or .html, got "${out}"`);
  if (runs.length === 0) throw new UsageError('no runs to plot');
  const points = overlayPoints(runs, metrics);
  const title = metrics.length === 1 ? `${metrics[0]} by epoch` : 'learning curves';
  const svg = await renderSvg(curvesSpec(points, { title, seriesTitle: 'run', seriesOrder: runs.map((r) => r.id), panelOrder: metrics }));
  const format = ext === '.svg' ? 'svg' : 'html';
  writeFileAtomic(out, format === 'svg' ? svg : htmlPage(title, svg, runs, metrics));
  return { file: path.resolve(out), format, runs: runs.map((r) => r.id), metrics };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Self-contained: no scripts, no network; opens anywhere. */
function htmlPage(title: string, svg: string, runs: Run[], metrics: string[]): string {
  // "At best epoch": every metric at the one epoch the run's selection metric chose, named in its own column.
  const head = ['run', 'status', 'epochs', 'best epoch (by)', ...metrics.flatMap((m) => [`final ${m}`, `${m} at best epoch`])];
  const rows = runs.map((r) => {
    const final = r.finalMetrics();
    const best = r.bestMetrics();
    const chosen = best ? `${best.epoch} (${r.mainMetric().name})` : '—';
    return [r.id, r.status(), String(final?.epoch ?? '—'), chosen, ...metrics.flatMap((m) => [formatMetric(final?.[m]), formatMetric(best?.[m])])];
  });
  const td = (c: string, i: number) => `<td${i >= 2 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-top:1.5em}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${svg}
<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n')}
</tbody></table>
</body></html>
`;
}
