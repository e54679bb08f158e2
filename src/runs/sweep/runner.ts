import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InterruptedError } from '../../errors';
import { writeAll } from '../../util/atomic';
import { readMetricCurve } from '../../run-format/read';
import type { MetricsRow } from '../../run-format/types';
import { listVersions, Run } from '../read';
import { lastJsonLine, resumable, trialError, trialStatus, trialValues } from './outcome';
import { judgeTrial, stopReason } from './search/early-stop';
import { proposeTrial } from './search/propose';
import { DONE, saveSweep, trialRuns, type SweepState, type TrialState, type TrialStatus } from './state';

/**
 * Runs a sweep's trials as separate `pipeline run` processes, `parallel` at a
 * time. Each trial is a normal run (its own versioned folder, tagged with the
 * sweep and trial); a failing trial does not stop the others. sweep.json is
 * rewritten (atomically) whenever a trial starts or ends, so an interrupted
 * sweep can be resumed: a trial stopped part-way (interrupted, its process
 * killed, or failed) continues in its own run folder from its last checkpoint
 * (`pipeline run --resume`); other trials that did not complete run again.
 */

export interface RunnerOptions {
  /** The `pipeline` entry script; trials run as `node <script> run FILE ...`. */
  script: string;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
  /** How often running trials' metrics are read for early stopping (ms). */
  pollMs?: number;
  /** Extra environment for trial processes. */
  env?: NodeJS.ProcessEnv;
}

interface Active {
  trial: TrialState;
  child: ChildProcess;
  started: number;
  stdoutTail: string;
  stderrTail: string;
  pruneRequested: TrialState['pruned'];
  lastJudgedEpoch: number;
  done: Promise<void>;
}

const TAIL = 8192;
/** Longest wait for a trial to claim its run folder before the next one starts anyway. */
const CLAIM_WAIT_MS = 60_000;

/**
 * The `pipeline run` arguments for one trial; with `resume`, the run folder it continues
 * (which keeps its own config, tags and worker count).
 */
export function trialArgs(state: SweepState, trial: TrialState, cpus = os.cpus().length, resume?: string): string[] {
  if (resume) return ['run', '--resume', resume, '--json', ...state.runArgs];
  const sets = [...state.baseOverrides, ...trial.overrides].flatMap((o) => ['--set', o]);
  const workers =
    state.workersAuto &&
    state.spec.parallel > 1 &&
    !state.runArgs.includes('--workers') &&
    !trial.overrides.some((o) => o.startsWith('training.workers='))
      ? ['--workers', String(Math.max(1, Math.floor(cpus / state.spec.parallel)))]
      : [];
  return [
    'run',
    state.file,
    ...sets,
    '--json',
    '--runs-dir',
    state.runsDir,
    '--tag',
    `sweep=${state.id}`,
    '--tag',
    `trial=${trial.index}`,
    ...workers,
    ...state.runArgs,
  ];
}

export async function runSweep(state: SweepState, opts: RunnerOptions): Promise<SweepState> {
  const total = state.trials.length;
  /** Trial index -> the run folder it continues. */
  const resumes = new Map<number, string>();
  for (const t of state.trials.filter((t) => !DONE.includes(t.status))) {
    const prior = previousRun(state, t);
    resetTrial(t);
    if (prior?.status === 'completed') {
      // The sweep died, its trial did not: take the result it wrote.
      setRun(t, prior.dir);
      readResults(state, t, prior.dir);
      t.status = 'completed';
      opts.log(
        `[trial ${t.index}/${total}] completed after the sweep stopped (${t.run})${t.value === null ? '' : `: ${state.spec.metric} ${t.value.toFixed(4)}`}`,
      );
    } else if (prior?.resumable) {
      resumes.set(t.index, prior.dir);
      setRun(t, prior.dir);
    }
  }
  const queue = state.trials.filter((t) => !DONE.includes(t.status));
  state.status = 'running';
  state.pid = process.pid;
  saveSweep(state);

  const active = new Map<number, Active>();
  // Versions that existed before this sweep (re)started cannot be its trials' runs.
  const knownVersions = new Set(listVersions(state.runsDir, state.name));
  let interrupted = false;
  let wake: () => void = () => {};

  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    opts.log(
      `sweep ${state.id}: ${signal}: stopping ${active.size} running trial${active.size === 1 ? '' : 's'} (they checkpoint and exit); resume with: pipeline sweep --resume ${state.id}`,
    );
    for (const a of active.values()) signalChild(a.child, 'SIGINT');
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const start = (trial: TrialState) => {
    trial.status = 'running';
    trial.attempts += 1;
    trial.startedAt = new Date().toISOString();
    const logDir = path.join(state.dir, 'trials');
    fs.mkdirSync(logDir, { recursive: true });
    const logPath = path.join(logDir, `${trial.index}.log`);
    const logFile = fs.openSync(logPath, 'a');
    // Its own process group: Ctrl-C reaches the sweep, which forwards exactly one SIGINT.
    const resume = resumes.get(trial.index);
    if (!resume && trial.attempts === 1) chooseParams(state, trial, opts.log);
    const child = spawn(process.execPath, [opts.script, ...trialArgs(state, trial, undefined, resume)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...opts.env },
    });
    const a: Active = {
      trial,
      child,
      started: Date.now(),
      stdoutTail: '',
      stderrTail: '',
      pruneRequested: null,
      lastJudgedEpoch: 0,
      done: Promise.resolve(),
    };
    child.stdout!.on('data', (b: Buffer) => {
      writeAll(logFile, b, logPath);
      a.stdoutTail = (a.stdoutTail + b.toString('utf8')).slice(-TAIL);
    });
    child.stderr!.on('data', (b: Buffer) => {
      writeAll(logFile, b, logPath);
      a.stderrTail = (a.stderrTail + b.toString('utf8')).slice(-TAIL);
    });
    a.done = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        a.stderrTail += `\n${err.message}`;
      });
      child.on('close', (code, signal) => {
        fs.closeSync(logFile);
        finish(a, code, signal);
        active.delete(trial.index);
        saveSweep(state);
        resolve();
        wake();
      });
    });
    active.set(trial.index, a);
    opts.log(
      `[trial ${trial.index}/${total}] ${resume ? `continues its run (${trial.run})` : 'started'}: ${trial.overrides.join(' ')}`,
    );
    saveSweep(state);
  };

  /** Resolves when a started trial has claimed its run folder (or exited, or the sweep is interrupted). */
  const claimed = async (trial: TrialState) => {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    while (
      !interrupted &&
      active.has(trial.index) &&
      Date.now() < deadline &&
      !findTrialRun(state, trial, knownVersions)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const finish = (a: Active, code: number | null, signal: NodeJS.Signals | null) => {
    const t = a.trial;
    t.endedAt = new Date().toISOString();
    t.durationSeconds = (Date.now() - a.started) / 1000;
    t.exitCode = code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : null);
    const result = lastJsonLine(a.stdoutTail);
    const runDir = result?.runDir ?? t.runDir ?? findTrialRun(state, t, knownVersions);
    if (runDir) setRun(t, runDir);
    readResults(state, t, runDir, result?.metrics);
    let status: TrialStatus = trialStatus(result?.status, code);
    if (status === 'interrupted' && a.pruneRequested) {
      status = 'pruned';
      t.pruned = a.pruneRequested;
    }
    t.status = status;
    t.error = status === 'completed' || status === 'pruned' ? null : trialError(runDir, a.stderrTail, code, signal);
    const what = t.value === null ? '' : `: ${state.spec.metric} ${t.value.toFixed(4)}`;
    const where = t.run ? ` (${t.run})` : '';
    const why =
      status === 'pruned' && t.pruned
        ? ` at epoch ${t.pruned.epoch}: ${t.pruned.value.toFixed(4)} vs median ${t.pruned.median.toFixed(4)} of ${t.pruned.others} trials`
        : t.error
          ? ` — ${t.error}`
          : '';
    opts.log(`[trial ${t.index}/${total}] ${status} in ${t.durationSeconds.toFixed(1)}s${what}${where}${why}`);
  };

  const judge = () => {
    const es = state.spec.earlyStopping;
    if (!es) return;
    const curves = new Map<number, Array<number | undefined>>();
    for (const t of state.trials) {
      const dir = t.runDir ?? (active.has(t.index) ? findTrialRun(state, t, knownVersions) : null);
      if (!dir) continue;
      if (!t.runDir) setRun(t, dir);
      curves.set(t.index, readMetricCurve(dir, state.spec.metric));
    }
    for (const a of active.values()) {
      if (a.pruneRequested) continue;
      const mine = curves.get(a.trial.index);
      if (!mine || mine.length <= a.lastJudgedEpoch) continue;
      const epoch = mine.length;
      const since = a.lastJudgedEpoch;
      a.lastJudgedEpoch = epoch;
      const others = [...curves.entries()].filter(([i]) => i !== a.trial.index).map(([, c]) => c);
      const d = judgeTrial(es, mine, others, epoch, state.spec.goal, since);
      if (d?.stop) {
        a.pruneRequested = { epoch: d.epoch, value: d.value, median: d.median, others: d.others };
        opts.log(`[trial ${a.trial.index}/${total}] stopping early: ${stopReason(es, state.spec.metric, d)}`);
        signalChild(a.child, 'SIGINT');
      }
    }
  };

  try {
    while (!interrupted && (queue.length > 0 || active.size > 0)) {
      while (!interrupted && active.size < state.spec.parallel && queue.length > 0) {
        const trial = queue.shift()!;
        start(trial);
        // Trial numbers and run versions go up together: the next trial starts once this one has its folder.
        if (!resumes.has(trial.index)) await claimed(trial);
      }
      if (active.size === 0) break;
      // Wake when a trial ends (its close handler calls wake) or, with early stopping, to look at the curves.
      await new Promise<void>((resolve) => {
        const timer = state.spec.earlyStopping ? setTimeout(resolve, opts.pollMs ?? 1000) : undefined;
        wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
      judge();
    }
    // After an interrupt: let the running trials checkpoint and exit.
    await Promise.all([...active.values()].map((a) => a.done));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (interrupted) {
    for (const t of state.trials) if (t.status === 'running') t.status = 'interrupted';
    state.status = 'interrupted';
    saveSweep(state);
    throw new InterruptedError(`sweep ${state.id} interrupted; resume with: pipeline sweep --resume ${state.id}`);
  }
  state.status = state.trials.every((t) => DONE.includes(t.status)) ? 'completed' : 'failed';
  saveSweep(state);
  return state;
}

/** --method tpe: the trial's parameters from the trials finished so far (search/propose.ts). */
function chooseParams(state: SweepState, t: TrialState, log: (line: string) => void): void {
  if (state.spec.method !== 'tpe') return;
  const text = fs.readFileSync(path.join(state.dir, 'experiment.yaml'), 'utf8');
  const p = proposeTrial(state.spec, state.seed, t, state.trials, {
    file: state.file,
    text,
    baseOverrides: state.baseOverrides,
  });
  if (p.fallback) log(`[trial ${t.index}/${state.trials.length}] ${p.fallback}; it runs its planned random draw`);
  t.params = p.params;
  t.overrides = p.overrides;
}

/** A trial's final metrics, its sweep metric and that metric's best over epochs, from its run folder. */
function readResults(state: SweepState, t: TrialState, runDir: string | undefined, reported?: MetricsRow): void {
  const v = trialValues(runDir, state.spec.metric, state.spec.goal, reported);
  t.final = v.final;
  t.value = v.value;
  t.bestValue = v.bestValue;
}

/**
 * The run a trial's last attempt left, if any: the folder sweep.json names, or (when the
 * sweep died before writing it down) the newest run carrying this sweep's and trial's tags.
 * `resumable`: it stopped part-way, so the trial continues it (`pipeline run --resume`):
 * interrupted, or still marked running though its process is gone (killed; resumeSweep has
 * refused trials that still run), or failed once (a resume retries from the last
 * checkpoint). Not when `run --resume` would refuse or has already failed on it (a run
 * resumed before that failed again, a trial that exited 2, an experiment that now resolves
 * differently), or every sweep resume would fail the same way: those trials start over,
 * like diverged ones and trials that never claimed a folder.
 */
function previousRun(
  state: SweepState,
  t: TrialState,
): { dir: string; status: string | undefined; resumable: boolean } | undefined {
  const dir = t.runDir && fs.existsSync(t.runDir) ? t.runDir : trialRuns(state, t.index)[0]?.dir;
  if (!dir) return undefined;
  const run = Run.fromDir(dir);
  return { dir, status: run.meta()?.status, resumable: !(t.exitCode === 2 && t.runDir === dir) && resumable(run) };
}

function resetTrial(t: TrialState): void {
  t.status = 'pending';
  t.run = null;
  t.runDir = null;
  t.startedAt = null;
  t.endedAt = null;
  t.durationSeconds = null;
  t.exitCode = null;
  t.value = null;
  t.bestValue = null;
  t.final = null;
  t.error = null;
  t.pruned = null;
}

function setRun(t: TrialState, runDir: string): void {
  const run = Run.fromDir(runDir);
  t.runDir = run.dir;
  t.run = run.id;
}

function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return os.constants.signals[signal];
}

/** The run folder a trial's process claimed: a new version whose meta.json carries this sweep's tags. */
function findTrialRun(state: SweepState, t: TrialState, known: Set<number>): string | undefined {
  // A previous attempt of this trial (before a resume) is in `known`; this one is new.
  return trialRuns(state, t.index).find((run) => !known.has(run.version) && run.meta()?.pid !== undefined)?.dir;
}
