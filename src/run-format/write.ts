import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedExperiment } from '../config/load';
import { writeFileAtomic } from '../util/atomic';
import { summarize } from './metrics';
import { CONFIG_YAML, META_JSON, METRICS_JSONL, OVERRIDES_JSON, RESOLVED_JSON, SUMMARY_JSON } from './names';
import { FORMAT_VERSION, type MainMetric, type MetricsRow, type RunMeta, type Summary } from './types';

/**
 * Writing a run folder's files. Every file is replaced atomically (util/atomic.ts), so a
 * reader sees the old or the new version, never half of one; metrics.jsonl is the one file
 * appended to, a whole line in one write.
 */

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The files a run starts with: the experiment as given, the --set values, the resolved experiment. */
export function writeRunInputs(runDir: string, loaded: LoadedExperiment): void {
  writeFileAtomic(path.join(runDir, CONFIG_YAML), loaded.text);
  writeJson(path.join(runDir, OVERRIDES_JSON), loaded.overrides);
  // In the file's key order, for people; configHash is over its canonical (sorted) form.
  writeJson(path.join(runDir, RESOLVED_JSON), loaded.experiment);
}

/** meta.json with this pipeline's format version first (a folder written before it was recorded gets it on its next write). */
export function writeMetaJson(runDir: string, meta: object): void {
  const { formatVersion: _old, ...rest } = meta as { formatVersion?: number };
  writeJson(path.join(runDir, META_JSON), { formatVersion: FORMAT_VERSION, ...rest });
}

/** meta.json owned by one process: every change rewrites the whole file atomically. */
export class MetaFile {
  constructor(
    private readonly runDir: string,
    private meta: RunMeta,
  ) {
    this.write();
  }

  get value(): Readonly<RunMeta> {
    return this.meta;
  }

  update(changes: Partial<RunMeta>): void {
    this.meta = { ...this.meta, ...changes };
    this.write();
  }

  private write(): void {
    writeMetaJson(this.runDir, this.meta);
  }
}

/**
 * metrics.jsonl (one appended line per epoch; a single write, so a reader never sees half a
 * line unless the process dies inside that write, and readers skip such a last line) and
 * summary.json (atomic), after every epoch. `previous`: rows already in metrics.jsonl (a
 * resumed run), so `best` covers the whole run.
 */
export class MetricsWriter {
  private readonly rows: MetricsRow[];

  constructor(
    private readonly runDir: string,
    private readonly by: MainMetric,
    previous: readonly MetricsRow[] = [],
  ) {
    this.rows = [...previous];
  }

  append(row: MetricsRow): void {
    fs.appendFileSync(path.join(this.runDir, METRICS_JSONL), JSON.stringify(row) + '\n');
    this.rows.push(row);
    writeJson(path.join(this.runDir, SUMMARY_JSON), this.summary());
  }

  summary(): Summary | undefined {
    return summarize(this.rows, this.by);
  }
}

/**
 * Cuts metrics.jsonl back to `rows` (a resume retrains the epochs after its checkpoint);
 * summary.json goes with the last row, until the next epoch writes it again.
 */
export function truncateMetrics(runDir: string, rows: readonly MetricsRow[]): void {
  writeFileAtomic(path.join(runDir, METRICS_JSONL), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  if (rows.length === 0) fs.rmSync(path.join(runDir, SUMMARY_JSON), { force: true });
}
