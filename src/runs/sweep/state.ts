import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../../errors';
import { writeFileAtomic } from '../../util/atomic';
import { didYouMean } from '../../util/suggest';
import { listExperimentNames, listVersions, readJsonIfExists, Run } from '../read';
import type { MetricsRow } from '../../run-format/types';
import type { SweepSpec } from './spec';

/**
 * A sweep's folder: `<runs root>/<experiment>/sweeps/<n>/` with `sweep.json`
 * (the plan, each trial's status and result, rewritten atomically whenever a
 * trial changes) and `trials/<n>.log` (each trial's output). `sweeps` is not a
 * number, so it never collides with the experiment's version folders; `<n>`
 * counts up like versions and is claimed the same way (mkdir, EEXIST -> next).
 */

export type TrialStatus = 'pending' | 'running' | 'completed' | 'failed' | 'diverged' | 'interrupted' | 'pruned';
/** Statuses a resumed sweep does not run again. */
export const DONE: readonly TrialStatus[] = ['completed', 'pruned'];

export interface TrialState {
  index: number;
  params: Record<string, unknown>;
  overrides: string[];
  status: TrialStatus;
  /** `cifar-lenet/7` and its folder, once the run has claimed one. */
  run: string | null;
  runDir: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  exitCode: number | null;
  /** The sweep metric at the last epoch (what the leaderboard ranks). */
  value: number | null;
  /** Its best value over epochs, by the goal. */
  bestValue: number | null;
  final: MetricsRow | null;
  error: string | null;
  /** Set when the median rule stopped the trial. */
  pruned: { epoch: number; value: number; median: number; others: number } | null;
  attempts: number;
}

export interface SweepState {
  format: 1;
  id: string;
  dir: string;
  name: string;
  status: 'running' | 'completed' | 'failed' | 'interrupted';
  createdAt: string;
  updatedAt: string;
  pid: number;
  host: string;
  file: string;
  fileSha256: string;
  /** --set values applied to every trial. */
  baseOverrides: string[];
  runsDir: string;
  /** pipeline run flags passed through to every trial (--data-dir, --backend). */
  runArgs: string[];
  /**
   * training.workers is 'auto' in the experiment: trials running side by side then get
   * `--workers <cpus / parallel>` so they do not fight over the same cores.
   */
  workersAuto: boolean;
  seed: number;
  spec: SweepSpec;
  gridSize: number | null;
  trials: TrialState[];
}

export const SWEEPS_DIR = 'sweeps';

/** Claim `<root>/<name>/sweeps/<n>/` for a new sweep. */
export function claimSweepDir(root: string, name: string): { dir: string; id: string } {
  const parent = path.join(root, name, SWEEPS_DIR);
  fs.mkdirSync(parent, { recursive: true });
  const taken = fs
    .readdirSync(parent)
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number);
  for (let n = taken.length ? Math.max(...taken) + 1 : 1; ; n++) {
    try {
      fs.mkdirSync(path.join(parent, String(n)));
      return { dir: path.join(parent, String(n)), id: `${name}/${SWEEPS_DIR}/${n}` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export function sweepFile(dir: string): string {
  return path.join(dir, 'sweep.json');
}

export function saveSweep(state: SweepState): void {
  state.updatedAt = new Date().toISOString();
  writeFileAtomic(sweepFile(state.dir), JSON.stringify(state, null, 2) + '\n');
}

export function newTrialState(t: { index: number; params: Record<string, unknown>; overrides: string[] }): TrialState {
  return {
    index: t.index,
    params: t.params,
    overrides: t.overrides,
    status: 'pending',
    run: null,
    runDir: null,
    startedAt: null,
    endedAt: null,
    durationSeconds: null,
    exitCode: null,
    value: null,
    bestValue: null,
    final: null,
    error: null,
    pruned: null,
    attempts: 0,
  };
}

/**
 * A sweep reference: `cifar-lenet/sweeps/2`, the sweep folder, or its sweep.json
 * (relative to the working directory, or the runs root for the first form).
 */
export function resolveSweep(ref: string, root: string): SweepState {
  const trimmed = ref.replace(/[\\/]+$/, '');
  const candidates = [path.resolve(trimmed), path.join(root, trimmed)];
  for (const c of candidates) {
    const file = c.endsWith('.json') ? c : sweepFile(c);
    const state = readJsonIfExists<SweepState>(file);
    if (state) {
      // The folder may have moved with the runs root: trust where we found it.
      state.dir = path.dirname(file);
      return state;
    }
  }
  const m = /^([^/]+)\/sweeps\/([^/]+)$/.exec(trimmed);
  if (m) {
    const names = listExperimentNames(root);
    if (!names.includes(m[1])) throw new UsageError(`no experiment "${m[1]}" in ${root}${didYouMean(m[1], names)}`);
    const dir = path.join(root, m[1], SWEEPS_DIR);
    const have = fs.existsSync(dir)
      ? fs.readdirSync(dir).filter((n) => fs.existsSync(sweepFile(path.join(dir, n))))
      : [];
    throw new UsageError(
      `no sweep ${trimmed}: ${have.length ? `${m[1]} has sweeps ${have.sort((a, b) => Number(a) - Number(b)).join(', ')}` : `${m[1]} has no sweeps`}`,
    );
  }
  throw new UsageError(
    `no sweep "${ref}": expected NAME/sweeps/N (under ${root}) or a sweep folder holding sweep.json`,
  );
}

export function thisHost(): string {
  return os.hostname();
}

/** The runs of a sweep's trial (every attempt, found by the sweep= and trial= tags each carries), newest first. */
export function trialRuns(state: Pick<SweepState, 'runsDir' | 'name' | 'id'>, index: number): Run[] {
  return listVersions(state.runsDir, state.name)
    .sort((a, b) => b - a)
    .map((v) => new Run(path.join(state.runsDir, state.name, String(v)), state.name, v))
    .filter((run) => {
      const tags = run.meta()?.tags;
      return tags !== undefined && String(tags.sweep) === state.id && String(tags.trial) === String(index);
    });
}
