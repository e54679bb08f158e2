import * as path from 'node:path';
import { UsageError } from '../errors';
import { suggest } from '../util/suggest';
import { archSummary, configColumns, notAColumn, SHORT_HEADERS, withHeaders } from './columns';
import { flatten, formatValue, mergeKeyOrder, sameValue, varyingKeys, type Flat } from './flatten';
import { formatDuration, formatMetric, formatStarted } from './format';
import { cellText, fitWidth, type FitColumn } from './ls-fit';
import { listRuns, type Run } from './read';
import { resolveRuns } from './refs';
import type { Column, Table } from './table';
import type { MetricsRow, RunStatus } from '../run-format/types';

/**
 * `pipeline ls`: one row per run with its status, timing, main metric, and the
 * config values that differ among the listed runs, so a series of edited
 * versions (or a sweep) reads as a table of what changed and what it did.
 * Given a width (a terminal's), the default columns are cut to fit it and the
 * ones left out are named; `--columns` chooses exactly, `--all-columns` shows all.
 */

export interface LsOptions {
  root: string;
  /** Experiment names or run references; none: every run under the root. */
  refs?: string[];
  /** A column key or dotted config key; `-key` or `key:desc` for descending. */
  sort?: string;
  allColumns?: boolean;
  /** Exactly these columns, in this order (keys, headers such as `lr`, or dotted config keys). */
  columns?: string[];
  /** `key=value` or `key!=value`, all must hold; key as in `columns`. */
  filters?: string[];
  /** `key=value` (or `key`: has the tag), all must hold. */
  tags?: string[];
  /** Fit the default columns into this many characters (a terminal's width). */
  width?: number;
  /** List sweep trials with the experiment's own runs (by default a sweep is listed on its own: NAME/sweeps/N). */
  sweeps?: boolean;
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
  /** The sweep and trial number a sweep's run was started for (its `sweep` and `trial` tags). */
  sweep: string | null;
  trial: number | null;
  /** Layers in short: conv6-pool-conv16-pool-d120-d84-d10. */
  arch: string | null;
  final: MetricsRow | null;
  best: MetricsRow | null;
  /** Only the keys that differ among the listed runs (all keys with allColumns). */
  config: Record<string, unknown>;
}

export interface ColumnDef extends FitColumn<LsRow> {
  align?: Column['align'];
}

export interface LsResult {
  rows: LsRow[];
  columns: ColumnDef[];
  /** Headers of default columns left out to fit the width. */
  hidden: string[];
  /** Sweep trials not listed with their experiment's runs: sweep id -> how many. */
  hiddenTrials: Record<string, number>;
}

/** Tags `pipeline sweep` sets on its trials: shown as the trial column, not as tags. */
const SWEEP_TAGS = ['sweep', 'trial'];

/** Metric headers: short enough for a terminal (testAccuracy -> testAcc). */
function metricHeader(m: string): string {
  return m.replace(/Accuracy$/, 'Acc').replace(/^accuracy$/, 'acc');
}

interface Collected {
  runs: Run[];
  hiddenTrials: Record<string, number>;
}

/** The runs the references name. A whole experiment (or no reference) leaves out sweep trials unless `sweeps`. */
export function collectRuns(root: string, refs: string[] | undefined, sweeps = false): Collected {
  const seen = new Set<string>();
  const runs: Run[] = [];
  const hiddenTrials: Record<string, number> = {};
  const add = (r: Run, whole: boolean) => {
    if (seen.has(r.dir)) return;
    seen.add(r.dir);
    const sweep = r.meta()?.tags?.sweep;
    if (whole && !sweeps && sweep !== undefined) hiddenTrials[String(sweep)] = (hiddenTrials[String(sweep)] ?? 0) + 1;
    else runs.push(r);
  };
  if (!refs || refs.length === 0) for (const r of listRuns(root)) add(r, true);
  for (const ref of refs ?? []) for (const r of resolveRuns(ref, root)) add(r, namesWholeExperiment(ref));
  return { runs, hiddenTrials };
}

/** `cifar-lenet` or `runs/cifar-lenet`, not `cifar-lenet/3`, `/best`, `/latest` or a sweep. */
function namesWholeExperiment(ref: string): boolean {
  const trimmed = ref.replace(/[\\/]+$/, '');
  return (
    !/^([1-9][0-9]*|latest|best)$/.test(path.basename(trimmed)) &&
    !/(^|\/)sweeps\/[1-9][0-9]*$/.test(trimmed) &&
    !trimmed.endsWith('.json')
  );
}

function toRow(run: Run, flat: Flat, configKeys: string[]): LsRow {
  const meta = run.meta();
  const config: Record<string, unknown> = {};
  for (const k of configKeys) if (flat.has(k)) config[k] = flat.get(k);
  const tags = meta?.tags ?? {};
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
    tags,
    sweep: tags.sweep === undefined ? null : String(tags.sweep),
    trial: typeof tags.trial === 'number' ? tags.trial : null,
    arch: archSummary(run.resolved()) ?? null,
    final: run.finalMetrics() ?? null,
    best: run.bestMetrics() ?? null,
    config,
  };
}

export function listTable(opts: LsOptions): LsResult {
  const { runs, hiddenTrials } = collectRuns(opts.root, opts.refs, opts.sweeps);
  let flats: Flat[] = runs.map((r) => flatten(r.resolved() ?? {}));
  let rows = runs.map((run, i) => toRow(run, flats[i], []));
  const flatOf = new Map(rows.map((r, i) => [r, flats[i]]));
  const runOf = new Map(rows.map((r, i) => [r, runs[i]]));
  const catalog = () =>
    catalogColumns(
      rows,
      rows.map((r) => flatOf.get(r)!),
      rows.map((r) => runOf.get(r)!.resolved()),
      !!opts.allColumns,
    );

  // Filter first: the columns show what differs among the runs that are listed.
  if (opts.tags?.length) rows = rows.filter((r) => opts.tags!.every((t) => hasTag(r, t)));
  for (const f of opts.filters ?? []) rows = rows.filter(filterFor(f, catalog(), [...flatOf.values()], flatOf));
  flats = rows.map((r) => flatOf.get(r)!);
  const all = catalog();
  const sweepListing = rows.length > 0 && rows.every((r) => r.trial !== null && r.sweep === rows[0].sweep);
  let columns: ColumnDef[];
  let hidden: string[] = [];
  if (opts.columns?.length) columns = opts.columns.map((c) => columnNamed(c, all, rows, flatOf));
  else if (opts.allColumns) columns = all.columns;
  else ({ columns, hidden } = defaultColumns(rows, all, sweepListing, opts.width));
  // --json: the config keys that differ (every key with --all-columns), and any asked for.
  const jsonKeys = opts.allColumns
    ? mergeKeyOrder(...flats.map((f) => [...f.keys()])).filter((k) => !notAColumn(k))
    : configKeysOf(all.config, flats);
  for (const c of columns) if (flats[0]?.has(c.key) && !jsonKeys.includes(c.key)) jsonKeys.push(c.key);
  for (const [i, r] of rows.entries()) for (const k of jsonKeys) if (flats[i].has(k)) r.config[k] = flats[i].get(k);

  if (opts.sort) sortRows(rows, columns.concat(all.columns), flatOf, opts.sort);
  else if (sweepListing) rows.sort((a, b) => a.trial! - b.trial!);
  return { rows, columns, hidden, hiddenTrials };
}

/** The dotted keys behind the config columns (arch stands for every layer key that differs). */
function configKeysOf(config: ColumnDef[], flats: Flat[]): string[] {
  const keys = config.map((c) => c.key).filter((k) => k !== 'arch');
  if (config.some((c) => c.key === 'arch'))
    keys.push(...varyingKeys(flats, notAColumn).filter((k) => k.startsWith('model.layers[')));
  return keys;
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

const text = (
  key: string,
  header: string,
  value: (r: LsRow) => unknown,
  format: (v: unknown) => string = (v) => (v == null || v === '' ? '—' : String(v)),
): ColumnDef => ({
  key,
  header,
  kind: 'text',
  value,
  format,
});
const num = (
  key: string,
  header: string,
  value: (r: LsRow) => unknown,
  format: (v: unknown) => string = formatMetric,
): ColumnDef => ({
  key,
  header,
  kind: 'number',
  align: 'right',
  value,
  format,
});

function userTags(r: LsRow): string {
  return Object.entries(r.tags)
    .filter(([k]) => !SWEEP_TAGS.includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** `--tag key=value`: the run has that tag with that value; `--tag key`: has the tag. */
function hasTag(r: LsRow, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return spec in r.tags;
  const key = spec.slice(0, eq);
  return key in r.tags && String(r.tags[key]) === spec.slice(eq + 1);
}

interface Catalog {
  /** Every column a run list can show (run facts, metrics, tags, config). */
  columns: ColumnDef[];
  /** The config columns that differ (arch collapsed), in display order. */
  config: ColumnDef[];
  /** The metric shown by default. */
  headline: string | undefined;
}

function metricNames(rows: LsRow[]): string[] {
  const names = mergeKeyOrder(
    ['testAccuracy', 'testLoss'],
    ...rows.map((r) => Object.keys(r.final ?? {}).filter((k) => k !== 'epoch')),
  );
  return names.filter((m) => rows.some((r) => typeof r.final?.[m] === 'number' || typeof r.best?.[m] === 'number'));
}

function configColumn(key: string, header: string, rows: LsRow[], flatOf: (r: LsRow) => Flat | undefined): ColumnDef {
  if (key === 'arch') return text('arch', header, (r) => r.arch);
  const value = (r: LsRow) => flatOf(r)?.get(key);
  const isNum = rows.every((r) => value(r) === undefined || typeof value(r) === 'number');
  const def = { key, header, value, format: formatValue };
  return isNum ? { ...def, kind: 'number', align: 'right' } : { ...def, kind: 'text' };
}

function catalogColumns(
  rows: LsRow[],
  flats: Flat[],
  resolved: Array<Record<string, unknown> | undefined>,
  all: boolean,
): Catalog {
  const flatOf = new Map(rows.map((r, i) => [r, flats[i]]));
  const get = (r: LsRow) => flatOf.get(r);
  const cols: ColumnDef[] = [
    num(
      'trial',
      'trial',
      (r) => r.trial,
      (v) => (v == null ? '—' : String(v)),
    ),
    text('run', 'run', (r) => r.run),
    text('status', 'status', (r) => r.status),
    text(
      'started',
      'when',
      (r) => r.startedAt,
      (v) => formatStarted((v as string | null) ?? undefined).slice(5),
    ),
    num(
      'duration',
      'took',
      (r) => r.durationSeconds,
      (v) => formatDuration(v as number | null),
    ),
    text('backend', 'backend', (r) => r.backend),
    num('epochs', 'epochs', (r) => r.final?.epoch),
  ];
  const metrics = metricNames(rows);
  for (const m of all ? metrics : metrics.filter((x) => /^(test|val)/.test(x) || x === 'loss' || x === 'accuracy')) {
    cols.push(num(m, metricHeader(m), (r) => r.final?.[m]));
    cols.push(num(`best.${m}`, `best ${metricHeader(m)}`, (r) => r.best?.[m]));
  }
  cols.push(text('tags', 'tags', userTags));
  for (const t of mergeKeyOrder(...rows.map((r) => Object.keys(r.tags))))
    cols.push(text(`tags.${t}`, `tag ${t}`, (r) => r.tags[t]));
  const varying = configColumns(resolved, flats);
  const config = varying.map((c) => configColumn(c.key, c.header, rows, get));
  const allKeys = mergeKeyOrder(...flats.map((f) => [...f.keys()])).filter((k) => !notAColumn(k));
  const everyKey = all
    ? [...(varying.some((c) => c.key === 'arch') ? [] : [{ key: 'arch', header: 'arch' }]), ...withHeaders(allKeys)]
    : [];
  const extra = everyKey
    .filter((c) => !config.some((x) => x.key === c.key))
    .map((c) => configColumn(c.key, c.key === 'arch' ? 'arch' : c.key, rows, get));
  const headline = [
    'testAccuracy',
    'testLoss',
    ...rows.flatMap((r) => r.best && Object.keys(r.best)),
    'accuracy',
    'loss',
  ].find((m): m is string => typeof m === 'string' && metrics.includes(m));
  if (all) {
    // --all-columns: every fact, metric, tag and config key, under full names.
    const shown = cols
      .filter((c) => c.key !== 'trial' || rows.some((r) => r.trial !== null))
      .filter((c) => c.key !== 'tags');
    return { columns: [...shown, ...config.map((c) => ({ ...c, header: c.key })), ...extra], config, headline };
  }
  const arch = config.some((c) => c.key === 'arch') ? [] : [text('arch', 'arch', (r) => r.arch)];
  return { columns: [...cols, ...config, ...arch], config, headline };
}

/** The default choice: who, how it went, the main metric, tags, then what differs; cut to `width` if given. */
function defaultColumns(
  rows: LsRow[],
  cat: Catalog,
  sweepListing: boolean,
  width: number | undefined,
): { columns: ColumnDef[]; hidden: string[] } {
  const pick = (key: string) => cat.columns.find((c) => c.key === key)!;
  const fixed = [
    ...(sweepListing ? ['trial'] : []),
    'run',
    'status',
    'started',
    'duration',
    ...(cat.headline ? [cat.headline] : []),
  ].map(pick);
  const optional: ColumnDef[] = [];
  // Tags people wrote first (short, and written to be seen), the architecture, then the other differences.
  if (rows.some((r) => userTags(r) !== '')) optional.push(pick('tags'));
  optional.push(...cat.config.filter((c) => c.key === 'arch'));
  if (new Set(rows.map((r) => r.backend)).size > 1) optional.push(pick('backend'));
  optional.push(...cat.config.filter((c) => c.key !== 'arch'));
  if (width === undefined) return { columns: [...fixed, ...optional], hidden: [] };
  return fitWidth(rows, fixed, optional, width, (r) => r.arch);
}

/** A column by key, header (`lr`, `when`) or dotted config key (a unique last part is enough). */
function columnNamed(name: string, cat: Catalog, rows: LsRow[], flatOf: Map<LsRow, Flat>): ColumnDef {
  const byKey = cat.columns.find((c) => c.key === name) ?? cat.columns.find((c) => c.header === name);
  if (byKey) return byKey;
  if (name.startsWith('tag.'))
    return text(`tags.${name.slice(4)}`, `tag ${name.slice(4)}`, (r) => r.tags[name.slice(4)]);
  const short = Object.entries(SHORT_HEADERS).find(([, h]) => h === name)?.[0];
  const keys = mergeKeyOrder(...[...flatOf.values()].map((f) => [...f.keys()]));
  const key = short ?? resolveKey(name, [...cat.columns.map((c) => c.key), ...keys]);
  return cat.columns.find((c) => c.key === key) ?? configColumn(key, short ? name : key, rows, (r) => flatOf.get(r));
}

/** `key=value` / `key!=value` as a row predicate; numbers compare as numbers (0.001 = 1e-3). */
function filterFor(spec: string, cat: Catalog, flats: Flat[], flatOf: Map<LsRow, Flat>): (r: LsRow) => boolean {
  const m = /^([^=!]+)(!?=)(.*)$/.exec(spec);
  if (!m) throw new UsageError(`--filter ${spec}: expected key=value or key!=value, e.g. --filter status=completed`);
  const [, name, op, want] = m;
  const col = cat.columns.find((c) => c.key === name || c.header === name);
  const short = Object.entries(SHORT_HEADERS).find(([, h]) => h === name)?.[0];
  const keys = mergeKeyOrder(...flats.map((f) => [...f.keys()]));
  const key = col ? undefined : (short ?? resolveKey(name, [...cat.columns.map((c) => c.key), ...keys]));
  const c = col ?? cat.columns.find((x) => x.key === key);
  const value = c ? c.value : (r: LsRow) => flatOf.get(r)?.get(key!);
  const format = c ? c.format : formatValue;
  const equal = (v: unknown) => {
    if (typeof v === 'number' && want.trim() !== '' && Number.isFinite(Number(want))) return v === Number(want);
    return v !== undefined && v !== null && (String(v) === want || format(v) === want);
  };
  return (r) => equal(value(r)) === (op === '=');
}

function sortRows(rows: LsRow[], columns: ColumnDef[], flats: Map<LsRow, Flat>, spec: string): void {
  let key = spec;
  let desc = false;
  if (key.startsWith('-')) (desc = true), (key = key.slice(1));
  const m = /^(.*):(asc|desc)$/.exec(key);
  if (m) (key = m[1]), (desc = m[2] === 'desc');
  // Any column or config key sorts, shown as a column or not; a header (lr, when) or a unique last part (batchSize) is enough.
  const byHeader = columns.find((c) => c.header === key && c.key !== key);
  if (byHeader) key = byHeader.key;
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
        if (opts.csv)
          return v === undefined || v === null
            ? ''
            : typeof v === 'number'
              ? String(v)
              : c.key === 'started'
                ? String(v)
                : c.format(v);
        return cellText(c, v);
      }),
    ),
  };
}

/** The note under a listing: columns left out for width, sweep trials listed on their own. */
export function lsNotes(result: LsResult): string[] {
  const notes: string[] = [];
  if (result.hidden.length)
    notes.push(
      `${result.hidden.length} more column${result.hidden.length === 1 ? '' : 's'} did not fit: ${result.hidden.join(', ')} (--columns to choose, --all-columns for all)`,
    );
  for (const [sweep, n] of Object.entries(result.hiddenTrials))
    notes.push(`${n} run${n === 1 ? '' : 's'} of sweep ${sweep} not listed: pipeline ls ${sweep} (or --sweeps)`);
  return notes;
}
