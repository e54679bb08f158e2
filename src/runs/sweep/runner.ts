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
  return new SweepRunner(state, opts).run();
}

/** One run of a sweep's remaining trials: each method does one job (resume, spawn, signals, poll, prune, record). */
class SweepRunner {
  private readonly total: number;
  /** Trial index -> the run folder it continues. */
  private readonly resumes = new Map<number, string>();
  private readonly active = new Map<number, Active>();
  /** Versions that existed before this sweep (re)started cannot be its trials' runs. */
  private knownVersions = new Set<number>();
  private interrupted = false;
  private wake: () => void = () => {};

  constructor(
    private readonly state: SweepState,
    private readonly opts: RunnerOptions,
  ) {
    this.total = state.trials.length;
  }

  async run(): Promise<SweepState> {
    const { state } = this;
    this.reconcile();
    const queue = state.trials.filter((t) => !DONE.includes(t.status));
    state.status = 'running';
    state.pid = process.pid;
    saveSweep(state);
    this.knownVersions = new Set(listVersions(state.runsDir, state.name));
    const onSignal = (signal: NodeJS.Signals) => this.stopAll(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await this.drain(queue);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (this.interrupted) {
      for (const t of state.trials) if (t.status === 'running') t.status = 'interrupted';
      state.status = 'interrupted';
      saveSweep(state);
      throw new InterruptedError(`sweep ${state.id} interrupted; resume with: pipeline sweep --resume ${state.id}`);
    }
    state.status = state.trials.every((t) => DONE.includes(t.status)) ? 'completed' : 'failed';
    saveSweep(state);
    return state;
  }

  /**
   * Trials a previous sweep process left unfinished: one whose run completed after the sweep
   * died takes that result; one whose run stopped part-way continues it; the others start over.
   */
  private reconcile(): void {
    const { state } = this;
    for (const t of state.trials.filter((t) => !DONE.includes(t.status))) {
      const prior = previousRun(state, t);
      resetTrial(t);
      if (prior?.status === 'completed') {
        setRun(t, prior.dir);
        readResults(state, t, prior.dir);
        t.status = 'completed';
        const value = t.value === null ? '' : `: ${state.spec.metric} ${t.value.toFixed(4)}`;
        this.opts.log(`[trial ${t.index}/${this.total}] completed after the sweep stopped (${t.run})${value}`);
      } else if (prior?.resumable) {
        this.resumes.set(t.index, prior.dir);
        setRun(t, prior.dir);
      }
    }
  }

  /** Starts trials up to `parallel` at a time until none is left (or a signal came), then waits for the running ones. */
  private async drain(queue: TrialState[]): Promise<void> {
    while (!this.interrupted && (queue.length > 0 || this.active.size > 0)) {
      while (!this.interrupted && this.active.size < this.state.spec.parallel && queue.length > 0) {
        const trial = queue.shift()!;
        this.start(trial);
        // Trial numbers and run versions go up together: the next trial starts once this one has its folder.
        if (!this.resumes.has(trial.index)) await this.claimed(trial);
      }
      if (this.active.size === 0) break;
      await this.nextWake();
      this.judge();
    }
    // After an interrupt: let the running trials checkpoint and exit.
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** Resolves when a trial ends (its close handler calls wake) or, with early stopping, when it is time to look at the curves. */
  private nextWake(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.state.spec.earlyStopping ? setTimeout(resolve, this.opts.pollMs ?? 1000) : undefined;
      this.wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  /** SIGINT/SIGTERM: every running trial gets one SIGINT (it checkpoints and exits); no new trial starts. */
  private stopAll(signal: NodeJS.Signals): void {
    if (this.interrupted) return;
    this.interrupted = true;
    const n = this.active.size;
    this.opts.log(
      `sweep ${this.state.id}: ${signal}: stopping ${n} running trial${n === 1 ? '' : 's'} (they checkpoint and exit); resume with: pipeline sweep --resume ${this.state.id}`,
    );
    for (const a of this.active.values()) signalChild(a.child, 'SIGINT');
    this.wake();
  }

  /** Spawns the trial's `pipeline run` (its own process group: Ctrl-C reaches the sweep, which forwards exactly one SIGINT). */
  private start(trial: TrialState): void {
    const { state, opts } = this;
    trial.status = 'running';
    trial.attempts += 1;
    trial.startedAt = new Date().toISOString();
    const logPath = path.join(state.dir, 'trials', `${trial.index}.log`);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const logFile = fs.openSync(logPath, 'a');
    const resume = this.resumes.get(trial.index);
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
    a.done = this.follow(a, logFile, logPath);
    this.active.set(trial.index, a);
    const how = resume ? `continues its run (${trial.run})` : 'started';
    opts.log(`[trial ${trial.index}/${this.total}] ${how}: ${trial.overrides.join(' ')}`);
    saveSweep(state);
  }

  /** The trial's output into its log (the tails kept for its result and error); resolves when it has ended and been recorded. */
  private follow(a: Active, logFile: number, logPath: string): Promise<void> {
    a.child.stdout!.on('data', (b: Buffer) => {
      writeAll(logFile, b, logPath);
      a.stdoutTail = (a.stdoutTail + b.toString('utf8')).slice(-TAIL);
    });
    a.child.stderr!.on('data', (b: Buffer) => {
      writeAll(logFile, b, logPath);
      a.stderrTail = (a.stderrTail + b.toString('utf8')).slice(-TAIL);
    });
    return new Promise<void>((resolve) => {
      a.child.on('error', (err) => {
        a.stderrTail += `\n${err.message}`;
      });
      a.child.on('close', (code, signal) => {
        fs.closeSync(logFile);
        this.finish(a, code, signal);
        this.active.delete(a.trial.index);
        saveSweep(this.state);
        resolve();
        this.wake();
      });
    });
  }

  /** Resolves when a started trial has claimed its run folder (or exited, or the sweep is interrupted). */
  private async claimed(trial: TrialState): Promise<void> {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    while (
      !this.interrupted &&
      this.active.has(trial.index) &&
      Date.now() < deadline &&
      !findTrialRun(this.state, trial, this.knownVersions)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Records how a trial's process ended: its run, results, status and error. */
  private finish(a: Active, code: number | null, signal: NodeJS.Signals | null): void {
    const { state } = this;
    const t = a.trial;
    t.endedAt = new Date().toISOString();
    t.durationSeconds = (Date.now() - a.started) / 1000;
    t.exitCode = code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : null);
    const result = lastJsonLine(a.stdoutTail);
    const runDir = result?.runDir ?? t.runDir ?? findTrialRun(state, t, this.knownVersions);
    if (runDir) setRun(t, runDir);
    readResults(state, t, runDir, result?.metrics);
    let status: TrialStatus = trialStatus(result?.status, code);
    if (status === 'interrupted' && a.pruneRequested) {
      status = 'pruned';
      t.pruned = a.pruneRequested;
    }
    t.status = status;
    t.error = status === 'completed' || status === 'pruned' ? null : trialError(runDir, a.stderrTail, code, signal);
    this.opts.log(`[trial ${t.index}/${this.total}] ${status} in ${t.durationSeconds.toFixed(1)}s${endNote(state, t)}`);
  }

  /** Early stopping: each running trial with a new epoch is judged against the others' curves, and stopped when the rule says so. */
  private judge(): void {
    const { state } = this;
    const es = state.spec.earlyStopping;
    if (!es) return;
    const curves = this.curves();
    for (const a of this.active.values()) {
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
        this.opts.log(`[trial ${a.trial.index}/${this.total}] stopping early: ${stopReason(es, state.spec.metric, d)}`);
        signalChild(a.child, 'SIGINT');
      }
    }
  }

  /** Every trial's curve of the sweep metric so far, by trial index (running trials' runs found as they claim them). */
  private curves(): Map<number, Array<number | undefined>> {
    const { state } = this;
    const curves = new Map<number, Array<number | undefined>>();
    for (const t of state.trials) {
      const dir = t.runDir ?? (this.active.has(t.index) ? findTrialRun(state, t, this.knownVersions) : null);
      if (!dir) continue;
      if (!t.runDir) setRun(t, dir);
      curves.set(t.index, readMetricCurve(dir, state.spec.metric));
    }
    return curves;
  }
}

/** `: metric 0.8123 (tiny/4)` and why it stopped, for the trial's end line. */
function endNote(state: SweepState, t: TrialState): string {
  const what = t.value === null ? '' : `: ${state.spec.metric} ${t.value.toFixed(4)}`;
  const where = t.run ? ` (${t.run})` : '';
  const why =
    t.status === 'pruned' && t.pruned
      ? ` at epoch ${t.pruned.epoch}: ${t.pruned.value.toFixed(4)} vs median ${t.pruned.median.toFixed(4)} of ${t.pruned.others} trials`
      : t.error
        ? ` — ${t.error}`
        : '';
  return `${what}${where}${why}`;
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
    // Deliberate: the child has already exited; there is nothing left to signal.
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
