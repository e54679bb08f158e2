import * as path from 'node:path';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../util/atomic';
import { didYouMean } from '../util/suggest';
import { archSummary, configColumns } from './columns';
import { flatten, formatValue } from './flatten';
import { htmlPage } from './plot-html';
import { seriesStyle, type LeftOut } from './plot-style';
import { Run } from './read';
import { renderSvg } from './vega';
import { CURVES_SVG } from '../run-format/names';
import type { MetricsRow } from '../run-format/types';

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
  /** One title for the picture; none on a page that has its own heading. */
  title?: string;
  subtitle?: string;
  seriesTitle: string;
  /** Series in legend order (also fixes the colours). */
  seriesOrder: string[];
  panelOrder: string[];
  /** Width 'container' (an HTML page fits each panel to its box), else fixed pixels. */
  responsive?: boolean;
}

function curvesLayer(o: CurvesOptions, single: boolean): object {
  const styles = o.seriesOrder.map((_, i) => seriesStyle(i));
  const legend = o.responsive
    ? null
    : { title: o.seriesTitle, symbolType: 'stroke', symbolStrokeWidth: 2, labelLimit: 420 };
  const scale = (range: unknown[]) => ({ domain: o.seriesOrder, range });
  const interactive = !!o.responsive;
  return {
    // On a page: `hidden` holds the series switched off, `hover` the series under the pointer.
    ...(interactive
      ? { params: [{ name: 'hidden', value: [] }], transform: [{ filter: 'indexof(hidden, datum.series) < 0' }] }
      : {}),
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: single ? o.panelOrder[0] : null, scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        sort: o.seriesOrder,
        scale: scale(styles.map((s) => s.color)),
        legend,
      },
      tooltip: [
        { field: 'series', title: o.seriesTitle },
        { field: 'epoch' },
        { field: 'value', title: 'value', format: '.4f' },
      ],
    },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          strokeDash: {
            field: 'series',
            type: 'nominal',
            sort: o.seriesOrder,
            scale: scale(styles.map((s) => s.dash)),
            legend,
          },
          ...(interactive ? { strokeWidth: { condition: { param: 'hover', empty: false, value: 4 }, value: 2 } } : {}),
        },
      },
      {
        mark: { type: 'point', filled: true, size: 30 },
        ...(interactive
          ? {
              params: [
                {
                  name: 'hover',
                  select: { type: 'point', fields: ['series'], on: 'pointerover', nearest: true, clear: 'pointerout' },
                },
              ],
            }
          : {}),
      },
    ],
  };
}

export function curvesSpec(points: CurvePoint[], o: CurvesOptions): object {
  const single = o.panelOrder.length === 1;
  const title = o.title ? { title: o.subtitle ? { text: o.title, subtitle: o.subtitle } : o.title } : {};
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...title,
    background: 'white',
    data: { values: points },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, legend: { orient: 'bottom', columns: 2 } },
  };
  if (o.responsive)
    return {
      ...base,
      width: 'container',
      height: 260,
      autosize: { type: 'fit-x', contains: 'padding' },
      ...curvesLayer(o, single),
    };
  if (single) return { ...base, width: 520, height: 300, ...curvesLayer(o, single) };
  return {
    ...base,
    facet: {
      column: { field: 'panel', type: 'nominal', title: null, sort: o.panelOrder, header: { labelFontSize: 13 } },
    },
    spec: { width: 340, height: 260, ...curvesLayer(o, single) },
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
  const panels = ['loss', 'accuracy', ...[...bases].filter((b) => b !== 'loss' && b !== 'accuracy').sort()].filter(
    (b) => bases.has(b),
  );
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
  const svg = await renderSvg(
    curvesSpec(points, {
      title: `${name} learning curves`,
      seriesTitle: 'split',
      seriesOrder: splits,
      panelOrder: panels,
    }),
  );
  const file = path.join(run.dir, CURVES_SVG);
  writeFileAtomic(file, svg);
  return file;
}

/** Several runs overlaid: one panel per metric, one line per run (`series` is the run's label). */
export function overlayPoints(runs: Run[], metrics: string[], labels: Map<Run, string> = new Map()): CurvePoint[] {
  const known = new Set<string>();
  const points: CurvePoint[] = [];
  for (const run of runs) {
    for (const r of run.metrics()) {
      for (const k of Object.keys(r)) known.add(k);
      for (const m of metrics) {
        const v = r[m];
        if (typeof v === 'number' && Number.isFinite(v))
          points.push({ epoch: r.epoch, value: v, series: labels.get(run) ?? run.id, panel: m });
      }
    }
  }
  for (const m of metrics) {
    if (!points.some((p) => p.panel === m)) {
      const candidates = [...known].filter((k) => k !== 'epoch');
      const which = runs.length === 1 ? runs[0].id : `any of the ${runs.length} runs`;
      throw new UsageError(
        `no "${m}" values in ${which}${didYouMean(m, candidates) || (candidates.length ? `; recorded: ${candidates.join(', ')}` : '; no metrics recorded yet')}`,
      );
    }
  }
  return points;
}

const LABEL_MAX = 72;

/** Legend labels: the run, then what differs among the plotted runs (`cifar-lenet/3 lr=0.003 batch=64`). */
export function seriesLabels(runs: Run[]): Map<Run, string> {
  const resolved = runs.map((r) => r.resolved());
  const flats = resolved.map((c) => flatten(c ?? {}));
  const columns = configColumns(resolved, flats);
  return new Map(
    runs.map((run, i) => {
      const parts = columns.map((c) =>
        c.key === 'arch' ? (archSummary(resolved[i]) ?? '—') : `${c.header}=${formatValue(flats[i].get(c.key))}`,
      );
      const status = run.status() === 'completed' ? [] : [`(${run.status()})`];
      const label = [run.id, ...parts, ...status].join(' ');
      return [run, label.length > LABEL_MAX ? label.slice(0, LABEL_MAX - 1) + '…' : label];
    }),
  );
}

/** Failed runs and runs without a value of any plotted metric are not drawn (they would be empty legend entries). */
export function plottable(runs: Run[], metrics: string[]): { kept: Run[]; leftOut: LeftOut[] } {
  const kept: Run[] = [];
  const leftOut: LeftOut[] = [];
  for (const run of runs) {
    const hasData = run.metrics().some((r) => metrics.some((m) => typeof r[m] === 'number' && Number.isFinite(r[m])));
    if (run.status() === 'failed') leftOut.push({ run: run.id, why: hasData ? 'failed' : 'failed, no data' });
    else if (!hasData) leftOut.push({ run: run.id, why: 'no data' });
    else kept.push(run);
  }
  return { kept, leftOut };
}

export function leftOutNote(leftOut: LeftOut[]): string | undefined {
  return leftOut.length ? `left out: ${leftOut.map((l) => `${l.run} (${l.why})`).join(', ')}` : undefined;
}

export type { LeftOut };

export interface PlotResult {
  file: string;
  format: 'svg' | 'html';
  runs: string[];
  metrics: string[];
  leftOut: LeftOut[];
}

/** `pipeline plot`: render and write the file (.svg, or an interactive .html page). */
export async function plotRuns(runs: Run[], metrics: string[], out: string): Promise<PlotResult> {
  const ext = path.extname(out).toLowerCase();
  if (ext !== '.svg' && ext !== '.html' && ext !== '.htm')
    throw new UsageError(`--out must end in .svg or .html, got "${out}"`);
  if (runs.length === 0) throw new UsageError('no runs to plot');
  overlayPoints(runs, metrics); // an unknown metric is an error, whichever runs are drawn
  const { kept, leftOut } = plottable(runs, metrics);
  if (kept.length === 0)
    throw new UsageError(`nothing to plot: ${leftOut.map((l) => `${l.run} (${l.why})`).join(', ')}`);
  const labels = seriesLabels(kept);
  const points = overlayPoints(kept, metrics, labels);
  const title = metrics.length === 1 ? `${metrics[0]} by epoch` : `${metrics.join(', ')} by epoch`;
  const order = kept.map((r) => labels.get(r)!);
  const format = ext === '.svg' ? 'svg' : 'html';
  if (format === 'svg') {
    const spec = curvesSpec(points, {
      title,
      subtitle: leftOutNote(leftOut),
      seriesTitle: 'run',
      seriesOrder: order,
      panelOrder: metrics,
    });
    writeFileAtomic(out, await renderSvg(spec));
  } else {
    const panels = metrics.map((m) =>
      curvesSpec(
        points.filter((p) => p.panel === m),
        { seriesTitle: 'run', seriesOrder: order, panelOrder: [m], responsive: true },
      ),
    );
    writeFileAtomic(out, await htmlPage({ title, panels, metrics, runs: kept, labels, leftOut }));
  }
  return { file: path.resolve(out), format, runs: kept.map((r) => r.id), metrics, leftOut };
}
