import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunError } from '../errors';
import { isNotFound } from '../util/not-found';
import { checkRunFile } from './check';
import type { RunFileSchema } from './validators';
import { META_JSON, METRICS_JSONL, OVERRIDES_JSON, RESOLVED_JSON, SUMMARY_JSON } from './names';
import { FORMAT_VERSION, type MetricsRow, type RunMeta, type RunSummary, type StoredMeta } from './types';

/**
 * Reading a run folder's files, with one error policy for every reader:
 * - a file that does not exist (yet) reads as undefined (metrics.jsonl as no rows): a run
 *   is written file by file, and a folder may have been claimed but never filled;
 * - a file that exists but is damaged (not JSON, or a field pipeline relies on is wrong) is a
 *   DamagedRunFile (a RunError, exit 1) naming the file and the field; listings (ls, the
 *   dashboard) show such a run as damaged instead of failing, commands that need the file fail;
 * - a folder written in a newer format than this pipeline reads is a NewerRunFormat (a
 *   RunError, exit 1) for every reader: guessing at a newer format could misread it;
 * - any other OS error (EACCES, EIO) is thrown as it is, for the error boundary to word.
 * metrics.jsonl is appended a line at a time: a line that does not parse (the last one, cut by
 * a crash or still being written) is skipped.
 */

/** A run file that exists but cannot be used: `detail` says where and what. */
export class DamagedRunFile extends RunError {
  constructor(
    readonly file: string,
    readonly detail: string,
    /** Not JSON at all (as opposed to JSON with a wrong field). */
    readonly notJson: boolean,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A run folder from a newer pipeline. */
export class NewerRunFormat extends RunError {
  constructor(runDir: string, found: number) {
    super(
      `run folder ${runDir} has format version ${found}; this pipeline reads up to ${FORMAT_VERSION}: upgrade pipeline`,
    );
  }
}

/** The file's text, or undefined when it (or its folder) does not exist. */
export function readTextIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** JSON text as a value, or a DamagedRunFile naming the file. */
export function parseRunJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DamagedRunFile(file, `not valid JSON (${(err as Error).message})`, true);
  }
}

/** A run file checked against its schema; undefined when absent (the policy above). */
export function readRunJsonIfExists<T>(file: string, schema: RunFileSchema): T | undefined {
  const text = readTextIfExists(file);
  if (text === undefined) return undefined;
  return checkedJson<T>(file, parseRunJson(file, text), schema);
}

function checkedJson<T>(file: string, value: unknown, schema: RunFileSchema): T {
  try {
    return checkRunFile<T>(file, schema, value);
  } catch (err) {
    if (!(err instanceof RunError)) throw err;
    throw new DamagedRunFile(file, err.message.slice(file.length + 2), false);
  }
}

/** The format version a parsed meta.json declares (1 when it has none), refused when newer than this pipeline's. */
export function checkFormatVersion(runDir: string, meta: unknown): number {
  const v = (meta as { formatVersion?: unknown } | null)?.formatVersion;
  const version = typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : 1;
  if (version > FORMAT_VERSION) throw new NewerRunFormat(runDir, version);
  return version;
}

/** meta.json, checked (format version first, then the fields); undefined when the folder has none. */
export function readMetaIfExists(runDir: string): StoredMeta | undefined {
  const file = path.join(runDir, META_JSON);
  const text = readTextIfExists(file);
  return text === undefined ? undefined : metaFrom(runDir, file, text);
}

/**
 * meta.json for commands that need it (resume, eval, predict): a missing file is the OS error
 * (ENOENT, which the error boundary words as "does not exist"). The schema holds what these
 * commands rely on.
 */
export function readMeta(runDir: string): RunMeta {
  const file = path.join(runDir, META_JSON);
  return metaFrom(runDir, file, fs.readFileSync(file, 'utf8')) as RunMeta;
}

function metaFrom(runDir: string, file: string, text: string): StoredMeta {
  const value = parseRunJson(file, text);
  checkFormatVersion(runDir, value);
  return checkedJson<StoredMeta>(file, value, 'meta');
}

export function readSummaryIfExists(runDir: string): RunSummary | undefined {
  return readRunJsonIfExists<RunSummary>(path.join(runDir, SUMMARY_JSON), 'summary');
}

/** resolved.json for commands that need it (predict, serve, export); a missing one throws ENOENT. */
export function readResolved(runDir: string): Record<string, unknown> {
  const file = path.join(runDir, RESOLVED_JSON);
  return checkedJson(file, parseRunJson(file, fs.readFileSync(file, 'utf8')), 'resolved');
}

export function readResolvedIfExists(runDir: string): Record<string, unknown> | undefined {
  return readRunJsonIfExists<Record<string, unknown>>(path.join(runDir, RESOLVED_JSON), 'resolved');
}

/** overrides.json; a missing one throws ENOENT (every run has one from its start). */
export function readOverrides(runDir: string): string[] {
  const file = path.join(runDir, OVERRIDES_JSON);
  return checkedJson<string[]>(file, parseRunJson(file, fs.readFileSync(file, 'utf8')), 'overrides');
}

export function readOverridesIfExists(runDir: string): string[] | undefined {
  return readRunJsonIfExists<string[]>(path.join(runDir, OVERRIDES_JSON), 'overrides');
}

/** Rows of an append-only JSON-lines text; a line that does not parse (a cut last line) is skipped. */
export function parseJsonLines<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // Deliberate: a line cut by a crash, or still being appended, is not a row yet.
    }
  }
  return rows;
}

/** metrics.jsonl's rows (those with a numeric epoch), none when the file does not exist yet. */
export function readMetricsRows(runDir: string): MetricsRow[] {
  const text = readTextIfExists(path.join(runDir, METRICS_JSONL)) ?? '';
  return parseJsonLines<MetricsRow>(text).filter((r) => typeof r?.epoch === 'number');
}

/** One metric's per-epoch values from metrics.jsonl (index 0 = epoch 1; missing epochs are holes). */
export function readMetricCurve(runDir: string, metric: string): Array<number | undefined> {
  const curve: Array<number | undefined> = [];
  for (const r of readMetricsRows(runDir)) if (r.epoch >= 1) curve[r.epoch - 1] = r[metric];
  return curve;
}
