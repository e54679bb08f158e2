import * as fs from 'node:fs';
import * as path from 'node:path';
import { bestEpoch, runMainMetric } from '../run-format/metrics';
import {
  DamagedRunFile,
  readMetaIfExists,
  readMetricsRows,
  readOverridesIfExists,
  readResolvedIfExists,
  readSummaryIfExists,
} from '../run-format/read';
import type { MainMetric, MetricsRow, RunStatus, RunSummary, StoredMeta } from '../run-format/types';
import { processLiveness } from './liveness';
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
    // Deliberate: a file written by another tool (or by hand) reads as absent rather than failing a listing.
    return undefined;
  }
}

const UNSET = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

/**
 * One run folder, read through run-format/read.ts. A damaged file reads as absent here, so a
 * listing keeps going (the dashboard shows the damage); a folder of a newer format fails every
 * reader (NewerRunFormat).
 */
export class Run {
  private _meta: Lazy<StoredMeta | undefined> = UNSET;
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

  /** meta.json; undefined when absent or damaged. Read first by every other file's reader, for its format version. */
  meta(): StoredMeta | undefined {
    if (this._meta === UNSET) this._meta = unlessDamaged(() => readMetaIfExists(this.dir));
    return this._meta;
  }

  summary(): RunSummary | undefined {
    this.meta();
    if (this._summary === UNSET) this._summary = unlessDamaged(() => readSummaryIfExists(this.dir));
    return this._summary;
  }

  resolved(): Record<string, unknown> | undefined {
    this.meta();
    if (this._resolved === UNSET) this._resolved = unlessDamaged(() => readResolvedIfExists(this.dir));
    return this._resolved;
  }

  overrides(): string[] {
    this.meta();
    return unlessDamaged(() => readOverridesIfExists(this.dir)) ?? [];
  }

  /** Per-epoch rows from metrics.jsonl (read once). */
  metrics(): MetricsRow[] {
    this.meta();
    if (this._metrics === UNSET) this._metrics = readMetricsRows(this.dir);
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
      if (!meta) this._status = 'unknown';
      else if (meta.status === 'running' && processLiveness(meta.pid, meta.host, meta.startedAt) === 'dead')
        this._status = 'crashed';
      else this._status = meta.status;
    }
    return this._status;
  }

  /** The metric that selected the run's best epoch (run-format/metrics.ts decides). */
  mainMetric(): MainMetric {
    return runMainMetric(this.summary(), this.meta());
  }

  /** Final metrics: summary.final, else the last metrics row (a run still going or killed). */
  finalMetrics(): MetricsRow | undefined {
    return this.summary()?.final ?? this.metrics().at(-1);
  }

  /** The best epoch's row by the main metric: summary.best, else chosen from metrics.jsonl. */
  bestMetrics(): MetricsRow | undefined {
    const s = this.summary();
    if (s?.best) return s.best;
    return bestEpoch(this.metrics(), this.mainMetric());
  }
}

/** A listing's reading: a damaged file is as good as absent; anything else (a newer format, EACCES) is thrown. */
function unlessDamaged<T>(read: () => T | undefined): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof DamagedRunFile) return undefined;
    throw err;
  }
}

/** Every run of the given experiments (all experiments when omitted), by name then version. */
export function listRuns(root: string, names?: string[]): Run[] {
  const runs: Run[] = [];
  for (const name of names ?? listExperimentNames(root)) {
    for (const v of listVersions(root, name)) runs.push(new Run(path.join(root, name, String(v)), name, v));
  }
  return runs;
}
