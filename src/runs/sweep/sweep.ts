import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, UsageError } from '../../errors';
import { loadExperimentText, type LoadedExperiment } from '../../config/load';
import { readSource } from '../../config/parse';
import { processLiveness } from '../liveness';
import type { Run } from '../read';
import { planTrials, type Plan } from './plan';
import { runSweep, type RunnerOptions } from './runner';
import { buildSpec, type SweepFlags, type SweepSpec } from './spec';
import {
  claimSweepDir,
  DONE,
  newTrialState,
  resolveSweep,
  saveSweep,
  thisHost,
  trialRuns,
  type SweepState,
} from './state';
import { validateTrials } from './validate';

/**
 * `pipeline sweep`: plan the trials, validate every one, then (unless --dry-run)
 * claim the sweep folder and run them. Nothing touches the runs root before
 * every trial has validated.
 */

export interface PreparedSweep {
  file: string;
  text: string;
  sha256: string;
  base: LoadedExperiment;
  baseOverrides: string[];
  spec: SweepSpec;
  plan: Plan;
}

export function prepareSweep(file: string, baseOverrides: string[], flags: SweepFlags): PreparedSweep {
  const text = readSource(file);
  // The base experiment (file + --set) must be valid on its own: it names the sweep and seeds random search.
  const base = loadExperimentText(file, text, { overrides: baseOverrides });
  const spec = buildSpec(base.experiment, flags);
  const plan = planTrials(spec, base.experiment.seed);
  if (plan.trials.length === 0) throw new UsageError('the sweep has no trials');
  validateTrials(file, text, baseOverrides, plan.trials);
  return { file: path.resolve(file), text, sha256: sha256(text), base, baseOverrides, spec, plan };
}

/** A new sweep's record in its claimed folder: every trial pending. Queued sweeps add their queue to it. */
export function newSweepState(
  p: PreparedSweep,
  claimed: { dir: string; id: string },
  runsDir: string,
  runArgs: string[],
): SweepState {
  const now = new Date().toISOString();
  return {
    format: 1,
    id: claimed.id,
    dir: claimed.dir,
    name: p.base.experiment.name,
    status: 'running',
    createdAt: now,
    updatedAt: now,
    pid: process.pid,
    host: thisHost(),
    file: p.file,
    fileSha256: p.sha256,
    baseOverrides: p.baseOverrides,
    runsDir,
    runArgs,
    workersAuto: p.base.experiment.training.workers === 'auto',
    seed: p.base.experiment.seed,
    spec: p.spec,
    gridSize: p.plan.gridSize ?? null,
    trials: p.plan.trials.map(newTrialState),
  };
}

export async function startSweep(
  p: PreparedSweep,
  runsDir: string,
  runArgs: string[],
  opts: RunnerOptions,
): Promise<SweepState> {
  const state = newSweepState(p, claimSweepDir(runsDir, p.base.experiment.name), runsDir, runArgs);
  // The experiment file as the sweep saw it: what `--resume` checks the file against.
  fs.writeFileSync(path.join(state.dir, 'experiment.yaml'), p.text);
  saveSweep(state);
  opts.log(
    `sweep ${state.id}: ${state.trials.length} trial${state.trials.length === 1 ? '' : 's'}, ${p.spec.parallel} at a time, ranked by ${p.spec.metric} (${p.spec.goal})`,
  );
  return runSweep(state, opts);
}

export interface ResumeFlags {
  parallel?: number;
}

export async function resumeSweep(
  ref: string,
  runsDir: string,
  flags: ResumeFlags,
  opts: RunnerOptions,
): Promise<SweepState> {
  const state = resolveSweep(ref, runsDir);
  if (state.status === 'running' && state.host === thisHost() && state.pid !== process.pid) {
    if (processLiveness(state.pid, state.host, undefined) === 'alive') {
      throw new UsageError(`sweep ${state.id} is still running (pid ${state.pid}); stop it first, or wait`);
    }
  }
  let text: string;
  try {
    text = readSource(state.file);
  } catch (err) {
    // readSource words every problem as a ConfigError; only a file that is not there any more is "gone".
    if (!(err instanceof ConfigError) || fs.existsSync(state.file)) throw err;
    throw new UsageError(
      `sweep ${state.id}: its experiment file ${state.file} is gone; a copy is in ${path.join(state.dir, 'experiment.yaml')}`,
    );
  }
  if (sha256(text) !== state.fileSha256) {
    throw new UsageError(
      `sweep ${state.id}: ${state.file} changed since the sweep started, so new trials would not be comparable with the finished ones; ` +
        `restore it (the sweep's copy is ${path.join(state.dir, 'experiment.yaml')}) or start a new sweep`,
    );
  }
  // A sweep killed outright leaves its trial processes running on their own: do not start them twice.
  for (const t of state.trials) {
    const live = t.status === 'running' ? liveTrialRun(state, t.index) : undefined;
    if (live)
      throw new UsageError(
        `sweep ${state.id}: trial ${t.index} is still running as ${live.id} (pid ${live.meta()?.pid}); wait for it or stop it first`,
      );
  }
  const todo = state.trials.filter((t) => !DONE.includes(t.status));
  if (todo.length === 0) {
    opts.log(`sweep ${state.id}: every trial already completed`);
    return state;
  }
  // The code may have changed under the sweep: check again before starting anything.
  validateTrials(state.file, text, state.baseOverrides, todo);
  if (flags.parallel !== undefined) state.spec.parallel = flags.parallel;
  opts.log(
    `sweep ${state.id}: resuming ${todo.length} of ${state.trials.length} trials (${todo.map((t) => t.index).join(', ')}), ${state.spec.parallel} at a time`,
  );
  return runSweep(state, opts);
}

/** The run of a trial whose process is alive, found by the sweep's tags. */
function liveTrialRun(state: SweepState, index: number): Run | undefined {
  return trialRuns(state, index).find((r) => r.status() === 'running');
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** bin/pipeline.js of this installation: trials run the same code as the sweep. */
export function pipelineScript(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'bin', 'pipeline.js');
    if (fs.existsSync(candidate) && fs.existsSync(path.join(dir, 'package.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find bin/pipeline.js above ${__dirname}`);
}
