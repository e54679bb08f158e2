import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Run } from '../runs/read';
import { META_JSON, METRICS_JSONL, SUMMARY_JSON } from '../run-format/names';
import { DamagedRunFile, readMetaIfExists, readSummaryIfExists } from '../run-format/read';
import type { RunStatus } from '../run-format/types';
import { isNotFound } from '../util/not-found';

/**
 * What is wrong with a run folder that the readers silently step over: they treat a
 * file that does not parse as absent (so `ls` keeps working), but a person looking at
 * the dashboard should see that the folder is damaged rather than merely sparse.
 * Cheap on purpose (the last byte of metrics.jsonl; a file read again only for a run the
 * listing could not read), since the runs table asks this of every run.
 */
export function runDamage(run: Run): string[] {
  const problems = listedRunDamage(run.dir, run.status());
  if (run.summary() === undefined) {
    const why = damageOf(SUMMARY_JSON, () => readSummaryIfExists(run.dir));
    if (why) problems.push(why);
  }
  return problems;
}

/**
 * The part of runDamage the runs table can afford for thousands of runs, from what
 * `ls` already read: its status is `unknown` exactly when meta.json did not parse or is absent.
 */
export function listedRunDamage(dir: string, status: RunStatus): string[] {
  const problems: string[] = [];
  if (status === 'unknown') problems.push(damageOf(META_JSON, () => readMetaIfExists(dir)) ?? `no ${META_JSON}`);
  // A line is appended whole, newline included; a tail without one is a cut write. While the
  // run is going that is a write in progress, not damage.
  if (status !== 'running' && !endsWithNewline(path.join(dir, METRICS_JSONL)))
    problems.push(`${METRICS_JSONL} ends in a partial line`);
  return problems;
}

/** Why a file the readers took as absent is not: undefined when it really is absent (or reads fine). */
function damageOf(name: string, read: () => unknown): string | undefined {
  try {
    read();
    return undefined;
  } catch (err) {
    if (!(err instanceof DamagedRunFile)) throw err;
    return err.notJson ? `${name} is not valid JSON` : `${name}: ${err.detail}`;
  }
}

/** True for a missing or empty file too: only a non-empty file cut mid-line is damage. */
function endsWithNewline(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
