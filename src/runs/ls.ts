import { UsageError } from '../errors';
import { suggest } from '../util/suggest';
import { flatten, formatValue, mergeKeyOrder, sameValue, varyingKeys, type Flat } from './flatten';
import { formatDuration, formatMetric, formatStarted } from './format';
import { listRuns, type Run } from './read';
import { resolveRuns } from './refs';
import type { Column, Table } from './table';
import type { MetricsRow, RunStatus } from './types';

/**
 * `pipeline ls`: one row per run with its status, timing, test metrics, and the
 * config values that differ among the listed runs, so a series of edited
 * versions (or a sweep) reads as a table of what changed and what it did.
 */

export interface LsOptions {
  root: string;
  /** Experiment names or run references; none: every run under the root. */
  refs?: string[];
  /** A column key or dotted config key; `-key` or `key:desc` for descending. */
  sort?: string;
  allColumns?: boolean;
}

/** The machine-readable row (`--json`). */
export interface LsRow {
  run: string;
  name: string;
  version: number;
  dir: string;
  status: RunStatus;
  startedAt: string | null;
  durationSeconds: number | null;
  backend: string | null;
  seed: number | null;
  tags: Record<string, string | number>;
  final: MetricsRow | null;
  best: MetricsRow | null;
  /** Only the keys that differ among the listed runs (all keys with allColumns). */
  config: Record<string, unknown>;
}

interface ColumnDef extends Column {
  key: string;
  kind: 'text' | 'number';
  value: (r: LsRow) => unknown;
  format: (v: unknown) => string;
}

export interface LsResult {
  rows: LsRow[];
  columns: ColumnDef[];
}

const METRIC_COLUMNS = ['testAccuracy', 'testLoss'];

/**
 * Config keys that never become columns: the name is in the run column, the
 * description is prose, and the sweep section does not change what a run trains.
 */
function notAColumn(key: string): boolean {
  return key === 'name' || key === 'description' || key === 'sweep' || key.startsWith('sweep.');
}

export function collectRuns(root: string, refs: string[] | undefined): Run[] {
  if (!refs || refs.length === 0) return listRuns(root);
  const seen = new Set<string>();
  const runs: Run[] = [];
  for (const ref of refs) {
    for (const r of resolveRuns(ref, root)) {
      if (seen.has(r.dir)) continue;
      seen.add(r.dir);
      runs.push(r);
    }
  }
  return runs;
}

export function listTable(opts: LsOptions): LsResult {
  const runs = collectRuns(opts.root, opts.refs);
  const flats: Flat[] = runs.map((r) => flatten(r.resolved() ?? {}));
  const configKeys = opts.allColumns ? mergeKeyOrder(...flats.map((f) => [...f.keys()])).filter((k) => !notAColumn(k)) : varyingKeys(flats, notAColumn);

  const rows: LsRow[] = runs.map((run, i) => {
    const meta = run.meta();
    const config: Record<string, unknown> = {};
    for (const k of configKeys) if (flats[i].has(k)) config[k] = flats[i].get(k);
    return {
      run: run.id,
      name: run.name,
      version: run.version,
      dir: run.dir,
      status: run.status(),
      startedAt: meta?.startedAt ?? null,
      durationSeconds: durationOf(run),
      backend: meta?.backend ?? null,
      seed: meta?.seed ?? null,
      tags: meta?.tags ?? {},
      final: run.finalMetrics() ?? null,
      best: run.bestMetrics() ?? null,
      config,
    };
  });

  const columns = buildColumns(rows, configKeys, !!opts.allColumns);
  if (opts.sort) sortRows(rows, columns, new Map(rows.map((r, i) => [r, flats[i]])), opts.sort);
  return { rows, columns };
}

/** Recorded duration; for a run still going, the time so far. */
function durationOf(run: Run): number | null {
  const meta = run.meta();
  if (typeof meta?.durationSeconds === 'number') return meta.durationSeconds;
  if (run.status() === 'running' && meta?.startedAt) {
    const t = Date.parse(meta.startedAt);
    if (Number.isFinite(t)) return Math.max(0, (Date.now() - t) / 1000);
  }
  return null;
}

function buildColumns(rows: LsRow[], configKeys: string[], all: boolean): ColumnDef[] {
  const text = (key: string, header: string, value: (r: LsRow) => unknown, format: (v: unknown) => string = (v) => (v == null ? '—' : String(v))): ColumnDef => ({
    key,
    header,
    kind: 'text',
    value,
    format,
  });
  const num = (key: string, header: string, value: (r: LsRow) => unknown, format: (v: unknown) => string = formatMetric): ColumnDef => ({
    key,
    header,
    kind: 'number',
    align: 'right',
    value,
    format,
  });

  const cols: ColumnDef[] = [
    text('run', 'run', (r) => r.run),
    text('status', 'status', (r) => r.status),
    text('started', 'started', (r) => r.startedAt, (v) => formatStarted((v as string | null) ?? undefined)),
    num('duration', 'duration', (r) => r.durationSeconds, (v) => formatDuration(v as number | null)),
    text('backend', 'backend', (r) => r.backend),
  ];

  // Metrics: the test metrics by default; with --all-columns every metric any run recorded.
  let metricNames = METRIC_COLUMNS;
  if (all) {
    const names: string[][] = [];
    for (const r of rows) names.push(Object.keys(r.final ?? {}).filter((k) => k !== 'epoch'));
    metricNames = mergeKeyOrder(METRIC_COLUMNS, ...names);
    cols.push(num('epochs', 'epochs', (r) => r.final?.epoch));
  }
  for (const m of metricNames) {
    // A metric no listed run has (testAccuracy in a regression experiment) is not a column.
    if (!rows.some((r) => typeof r.final?.[m] === 'number' || typeof r.best?.[m] === 'number')) continue;
    cols.push(num(m, m, (r) => r.final?.[m]));
    // "Best" means the best epoch by the main metric; its timings and learning rate are noise.
    if (METRIC_COLUMNS.includes(m)) cols.push(num(`best.${m}`, `best ${m}`, (r) => r.best?.[m]));
  }
  if (all) {
    const tagKeys = mergeKeyOrder(...rows.map((r) => Object.keys(r.tags)));
    for (const t of tagKeys) cols.push(text(`tags.${t}`, `tag ${t}`, (r) => r.tags[t]));
  }
  for (const k of configKeys) {
    const isNum = rows.every((r) => r.config[k] === undefined || typeof r.config[k] === 'number');
    const def = { key: k, header: k, value: (r: LsRow) => r.config[k], format: formatValue };
    cols.push(isNum ? { ...def, kind: 'number', align: 'right' } : { ...def, kind: 'text' });
  }
  return cols;
}

function sortRows(rows: LsRow[], columns: ColumnDef[], flats: Map<LsRow, Flat>, spec: string): void {
  let key = spec;
  let desc = false;
  if (key.startsWith('-')) (desc = true), (key = key.slice(1));
  const m = /^(.*):(asc|desc)$/.exec(key);
  if (m) (key = m[1]), (desc = m[2] === 'desc');
  // Any column or config key sorts, shown as a column or not; a unique last part (batchSize) is enough.
  const known = new Set(columns.map((c) => c.key));
  for (const f of flats.values()) for (const k of f.keys()) known.add(k);
  key = resolveKey(key, [...known]);
  const col = columns.find((c) => c.key === key);
  const value = col ? col.value : (r: LsRow) => flats.get(r)?.get(key);
  const indexed = rows.map((r, i) => ({ r, i, v: value(r) }));
  indexed.sort((a, b) => {
    const c = compareValues(a.v, b.v, desc);
    return c !== 0 ? c : a.i - b.i;
  });
  indexed.forEach((x, i) => (rows[i] = x.r));
}

/** `key` itself, or the one known dotted key ending in `.key`; otherwise a UsageError with a suggestion. */
export function resolveKey(key: string, known: string[]): string {
  if (known.includes(key)) return key;
  const bySuffix = known.filter((k) => k.endsWith(`.${key}`) || k.endsWith(`]${key}`));
  if (bySuffix.length === 1) return bySuffix[0];
  if (bySuffix.length > 1) throw new UsageError(`"${key}" is ambiguous: ${bySuffix.join(', ')}`);
  const lastParts = new Map(known.map((k) => [k.replace(/^.*[.\]]/, ''), k]));
  const near = suggest(key, known) ?? lastParts.get(suggest(key, [...lastParts.keys()]) ?? '');
  throw new UsageError(`no column or config key "${key}"${near ? `; did you mean "${near}"?` : ''}`);
}

/** Missing values last in either direction; numbers numerically; otherwise by text. */
function compareValues(a: unknown, b: unknown, desc: boolean): number {
  const missA = a === undefined || a === null;
  const missB = b === undefined || b === null;
  if (missA || missB) return missA === missB ? 0 : missA ? 1 : -1;
  let c: number;
  if (typeof a === 'number' && typeof b === 'number') c = a - b;
  else if (sameValue(a, b)) c = 0;
  else c = String(formatValue(a)).localeCompare(String(formatValue(b)), undefined, { numeric: true });
  return desc ? -c : c;
}

export function lsTable(result: LsResult, opts: { csv?: boolean } = {}): Table {
  return {
    columns: result.columns.map((c) => ({ header: c.header, align: c.align })),
    rows: result.rows.map((r) =>
      result.columns.map((c) => {
        const v = c.value(r);
        // CSV is for spreadsheets: raw numbers, empty cells for missing values.
        if (opts.csv) return v === undefined || v === null ? '' : typeof v === 'number' ? String(v) : c.key === 'started' ? String(v) : c.format(v);
        return c.format(v);
      }),
    ),
  };
}
