import * as fs from 'node:fs';
import * as path from 'node:path';
import { processLiveness } from './liveness';
import {
  DEFAULT_MAIN_METRIC,
  goalOf,
  type MainMetric,
  type MetricsRow,
  type RunMeta,
  type RunStatus,
  type RunSummary,
} from './types';

/**
 * Reading run folders. Listing thousands of runs must stay fast, so a Run reads
 * nothing until asked, and each file at most once; `ls` touches only meta.json,
 * summary.json and resolved.json. Files are written atomically by `pipeline run`,
 * so a file that exists parses; one that does not yet exist reads as undefined.
 */

/** `--runs-dir`, else PIPELINE_RUNS_DIR, else ./runs — as an absolute path. */
export function resolveRunsRoot(runsDir?: string): string {
  return path.resolve(runsDir ?? process.env.PIPELINE_RUNS_DIR ?? 'runs');
}

const VERSION_DIR = /^[1-9][0-9]*$/;

/**
 * Experiment folders under the root: every directory not starting with '.' or '_'
 * (those are reserved for tools), sorted by name.
 */
export function listExperimentNames(root: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_'))
    .map((e) => e.name)
    .sort();
}

/** Version numbers of one experiment, ascending. Non-numeric folders (sweeps/) are not runs. */
export function listVersions(root: string, name: string): number[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, name), { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && VERSION_DIR.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
}

export function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // Written by something other than `pipeline run` (or by hand): treat as absent rather than fail a listing.
    return undefined;
  }
}

/**
 * Parse an append-only JSON-lines file. A last line that does not parse is a
 * write in progress (or cut by a crash) and is ignored, as docs/run-folder.md says.
 */
export function parseJsonLines<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // skip: partial line
    }
  }
  return rows;
}

const UNSET = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

export class Run {
  private _meta: Lazy<RunMeta | undefined> = UNSET;
  private _summary: Lazy<RunSummary | undefined> = UNSET;
  private _resolved: Lazy<Record<string, unknown> | undefined> = UNSET;
  private _metrics: Lazy<MetricsRow[]> = UNSET;
  private _status: Lazy<RunStatus> = UNSET;

  /** `dir` is absolute; name and version come from the folder (meta.json may be missing). */
  constructor(
    readonly dir: string,
    readonly name: string,
    readonly version: number,
  ) {}

  static fromDir(dir: string): Run {
    const abs = path.resolve(dir);
    return new Run(abs, path.basename(path.dirname(abs)), Number(path.basename(abs)));
  }

  /** `cifar-lenet/3`: how every command names a run. */
  get id(): string {
    return `${this.name}/${this.version}`;
  }

  meta(): RunMeta | undefined {
    if (this._meta === UNSET) this._meta = readJsonIfExists<RunMeta>(path.join(this.dir, 'meta.json'));
    return this._meta;
  }

  summary(): RunSummary | undefined {
    if (this._summary === UNSET) this._summary = readJsonIfExists<RunSummary>(path.join(this.dir, 'summary.json'));
    return this._summary;
  }

  resolved(): Record<string, unknown> | undefined {
    if (this._resolved === UNSET)
      this._resolved = readJsonIfExists<Record<string, unknown>>(path.join(this.dir, 'resolved.json'));
    return this._resolved;
  }

  overrides(): string[] {
    return readJsonIfExists<string[]>(path.join(this.dir, 'overrides.json')) ?? [];
  }

  /** Per-epoch rows from metrics.jsonl (read once). */
  metrics(): MetricsRow[] {
    if (this._metrics === UNSET) {
      let text = '';
      try {
        text = fs.readFileSync(path.join(this.dir, 'metrics.jsonl'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this._metrics = parseJsonLines<MetricsRow>(text).filter((r) => typeof r?.epoch === 'number');
    }
    return this._metrics;
  }

  /** Re-read metrics.jsonl (for watching a run in progress). */
  refreshMetrics(): MetricsRow[] {
    this._metrics = UNSET;
    return this.metrics();
  }

  /** The written status, except a `running` run whose process is gone is `crashed`. */
  status(): RunStatus {
    if (this._status === UNSET) {
      const meta = this.meta();
      if (!meta || typeof meta.status !== 'string') this._status = 'unknown';
      else if (meta.status === 'running' && processLiveness(meta.pid, meta.host, meta.startedAt) === 'dead')
        this._status = 'crashed';
      else this._status = meta.status;
    }
    return this._status;
  }

  /**
   * The metric that selected the run's best epoch: summary.json's bestBy (its one owner), else what
   * meta.json recorded at the start (a run before its first epoch), else the old default.
   */
  mainMetric(): MainMetric {
    const s = this.summary();
    if (typeof s?.bestBy === 'string')
      return { name: s.bestBy, goal: s.bestGoal ?? this.meta()?.mainMetric?.goal ?? goalOf(s.bestBy) };
    return this.meta()?.mainMetric ?? DEFAULT_MAIN_METRIC;
  }

  /** Final metrics: summary.final, else the last metrics row (a run still going or killed). */
  finalMetrics(): MetricsRow | undefined {
    return this.summary()?.final ?? this.metrics().at(-1);
  }

  /** The best epoch's row by the main metric: summary.best, else computed from metrics.jsonl. */
  bestMetrics(): MetricsRow | undefined {
    const s = this.summary();
    if (s?.best) return s.best;
    return bestRow(this.metrics(), this.mainMetric());
  }
}

/** The row with the best value of `metric`; ties go to the earlier epoch. */
export function bestRow(rows: MetricsRow[], metric: MainMetric): MetricsRow | undefined {
  let best: MetricsRow | undefined;
  for (const r of rows) {
    const v = r[metric.name];
    if (typeof v !== 'number' || Number.isNaN(v)) continue;
    if (!best || (metric.goal === 'max' ? v > best[metric.name] : v < best[metric.name])) best = r;
  }
  return best;
}

/** Every run of the given experiments (all experiments when omitted), by name then version. */
export function listRuns(root: string, names?: string[]): Run[] {
  const runs: Run[] = [];
  for (const name of names ?? listExperimentNames(root)) {
    for (const v of listVersions(root, name)) runs.push(new Run(path.join(root, name, String(v)), name, v));
  }
  return runs;
}
