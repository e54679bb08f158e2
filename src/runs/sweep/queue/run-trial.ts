import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { ConfigError } from '../../../errors';
import { describeOsError } from '../../../os-errors';
import { formatDiagnostics } from '../../../config/diagnostics';
import { readMetricsRows, readTextIfExists } from '../../../run-format/read';
import type { MetricsRow } from '../../../run-format/types';
import { writeFileAtomic } from '../../../util/atomic';
import { Run } from '../../read';
import { lastJsonLine, resumable, trialError, trialStatus, trialValues } from '../outcome';
import { judgeTrial, stopReason } from '../search/early-stop';
import { SWEEPS_DIR, trialRuns, type TrialStatus } from '../state';
import { validateTrials } from '../validate';
import type { TrialJob } from './payload';
import { countClaim, markRunning, readCurves, saveEpoch, type Takeover, type TrialResult } from './store';
import { startTrialProcess } from './trial-process';

/**
 * One trial on a worker: a normal `pipeline run` child process in the worker's
 * runs folder, tagged with the sweep and trial. Before it starts, the trial's
 * experiment is validated on this machine. If this runs folder holds a run of
 * the trial that stopped part-way (a worker here was killed, or the folder is
 * shared with the worker that was), the trial continues it from its last
 * checkpoint (`pipeline run --resume`); otherwise it starts over. While it runs,
 * each new epoch's metrics go to Redis, and the sweep's early-stopping rule is
 * applied to the curves every worker has recorded there.
 */

export interface TrialContext {
  redis: Redis;
  runsDir: string;
  dataDir?: string;
  /** Trials this worker runs at once (splits the cores when training.workers is auto). */
  concurrency: number;
  script: string;
  worker: string;
  log: (line: string) => void;
  pollMs: number;
  /** Resolves when the worker is asked to stop: the trial checkpoints and is handed back. */
  stopping: Promise<void>;
}

export type TrialOutcome = { handBack: true } | { handBack: false; result: TrialResult; refused: boolean };

type Base = { trial: number; attempt: number; host: string; worker: string; startedAt: string };

export async function runTrial(job: TrialJob, attempt: number, ctx: TrialContext): Promise<TrialOutcome> {
  const cpuAtStart = process.cpuUsage();
  const sweepDir = path.join(ctx.runsDir, job.name, SWEEPS_DIR, job.sweep.split('/').at(-1)!);
  const file = path.join(sweepDir, job.experiment.fileName);
  const base: Base = {
    trial: job.trial,
    attempt,
    host: os.hostname(),
    worker: ctx.worker,
    startedAt: new Date().toISOString(),
  };
  const unwritable = writeTrialFile(job, sweepDir, file, base);
  if (unwritable) return unwritable;
  // Counted while the trial validates (a round trip to Redis saved); a refused trial counts as taken too.
  const claimed = countClaim(ctx.redis, job.sweep, job.trial);
  // Deliberate: a failed count is reported where it is awaited below, not as an unhandled rejection meanwhile.
  claimed.catch(() => {});
  const invalid = validateHere(job, file, base);
  if (invalid) return invalid;

  const claims = await claimed;
  // Taken for the first time, the trial has no run anywhere yet: no need to read every run's meta.json here.
  const latest =
    claims > 1 ? trialRuns({ runsDir: ctx.runsDir, name: job.name, id: job.sweep }, job.trial)[0] : undefined;
  const prior = await stoppedRun(latest);
  if (!prior && latest && Run.fromDir(latest.dir).status() === 'completed') {
    // Its process finished the trial after its worker died: take the result it wrote.
    ctx.log(
      `[${job.sweep} trial ${job.trial}/${job.total}] completed on its own after its worker stopped (${latest.id})`,
    );
    return {
      handBack: false,
      refused: false,
      result: {
        ...result(base, { status: 'completed', error: null, takeover: 'finished on its own' }),
        ...runOutcome(job, latest.dir),
      },
    };
  }
  const takeover: Takeover = claims > 1 ? (prior ? 'continued from checkpoint' : 'started over') : null;
  let handBack = false;
  void ctx.stopping.then(() => (handBack = true));
  await Promise.resolve();
  if (handBack) return { handBack: true };
  const args = prior ? ['run', '--resume', prior, '--json', ...dataArgs(ctx), ...job.runArgs] : trialArgs(job, ctx);
  const how = prior ? `continues ${Run.fromDir(prior).id} from its checkpoint` : 'started';
  ctx.log(`[${job.sweep} trial ${job.trial}/${job.total}] ${how}: ${job.overrides.join(' ')}`);
  return supervise(job, ctx, {
    args,
    logFile: path.join(sweepDir, 'trials', `${job.trial}.log`),
    prior,
    takeover,
    base,
    cpuAtStart,
    handBack: () => handBack,
  });
}

/**
 * The sweep's experiment file in this runs folder. One this worker cannot write is a failed
 * attempt with the reason (logged, recorded in the sweep, retried elsewhere), not an exception
 * the queue would swallow.
 */
function writeTrialFile(job: TrialJob, sweepDir: string, file: string, base: Base): TrialOutcome | undefined {
  try {
    fs.mkdirSync(path.join(sweepDir, 'trials'), { recursive: true });
    if (readTextIfExists(file) !== job.experiment.text) writeFileAtomic(file, job.experiment.text);
    return undefined;
  } catch (err) {
    const why = describeOsError(err);
    if (!why) throw err;
    const error = `cannot prepare the trial on ${base.host}: ${why}`;
    return { handBack: false, refused: false, result: result(base, { status: 'failed', error, takeover: null }) };
  }
}

/** The trial's experiment validated on this machine (its data, its dataset paths); refused when it does not. */
function validateHere(job: TrialJob, file: string, base: Base): TrialOutcome | undefined {
  try {
    validateTrials(file, job.experiment.text, job.baseOverrides, [
      { index: job.trial, params: job.params, overrides: job.overrides },
    ]);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const error = `the trial does not validate on ${base.host}: ${formatDiagnostics(err.diagnostics).trim()}`;
    return { handBack: false, refused: true, result: result(base, { status: 'failed', error, takeover: null }) };
  }
}

interface Supervision {
  args: string[];
  logFile: string;
  prior: string | undefined;
  takeover: Takeover;
  base: Base;
  cpuAtStart: NodeJS.CpuUsage;
  handBack: () => boolean;
}

/** Runs the trial's process, records its epochs as they come, and sums up how it ended. */
async function supervise(job: TrialJob, ctx: TrialContext, s: Supervision): Promise<TrialOutcome> {
  const proc = startTrialProcess(ctx.script, s.args, s.logFile);
  const spawnedAt = Date.now();
  const cpu = process.cpuUsage(s.cpuAtStart);
  void ctx.stopping.then(() => proc.child.kill('SIGINT'));
  const watch = { runDir: s.prior, epochs: 0, pruned: null as TrialResult['pruned'], marked: false };
  let done = false;
  const ended = proc.exited.then((e) => ((done = true), e));
  while (!done) {
    await Promise.race([ended, sleep(ctx.pollMs)]);
    try {
      await follow(job, ctx, proc.child.pid, watch, s.takeover, () => proc.child.kill('SIGINT'));
    } catch (err) {
      ctx.log(
        `[${job.sweep} trial ${job.trial}] cannot record its progress in Redis (${(err as Error).message}); retrying`,
      );
    }
  }
  const { code, signal } = await ended;
  const exitedAt = Date.now();
  const reported = lastJsonLine(proc.stdout());
  const runDir = reported?.runDir ?? watch.runDir ?? null;
  if (runDir)
    await follow(job, ctx, undefined, { ...watch, runDir }, s.takeover, () => {}).catch((err: unknown) =>
      ctx.log(`[${job.sweep} trial ${job.trial}] cannot record its last epochs in Redis (${(err as Error).message})`),
    );
  let status: TrialStatus = trialStatus(reported?.status, code);
  if (status === 'interrupted' && watch.pruned) status = 'pruned';
  // Stopped by its worker (whether it got to checkpoint or not): back on the queue, not a failed attempt.
  else if (s.handBack() && status !== 'completed') return { handBack: true };
  const error = status === 'completed' || status === 'pruned' ? null : trialError(runDir, proc.stderr(), code, signal);
  return {
    handBack: false,
    refused: false,
    result: {
      ...result(s.base, { status, error, takeover: s.takeover }),
      ...(runDir ? runOutcome(job, runDir, reported?.metrics) : {}),
      exitCode: code ?? null,
      pruned: watch.pruned,
      durationSeconds: (exitedAt - spawnedAt) / 1000,
      timings: {
        enqueuedAt: job.enqueuedAt,
        pickedAt: Date.parse(s.base.startedAt),
        spawnedAt,
        exitedAt,
        prepareCpuMs: (cpu.user + cpu.system) / 1000,
      },
    },
  };
}

/** New epochs of the trial's run to Redis; then the early-stopping rule over every worker's curves. */
async function follow(
  job: TrialJob,
  ctx: TrialContext,
  pid: number | undefined,
  w: { runDir?: string; epochs: number; pruned: TrialResult['pruned']; marked: boolean },
  takeover: Takeover,
  stop: () => void,
): Promise<void> {
  if (!w.runDir && pid !== undefined)
    w.runDir = trialRuns({ runsDir: ctx.runsDir, name: job.name, id: job.sweep }, job.trial).find(
      (r) => r.meta()?.pid === pid,
    )?.dir;
  if (!w.runDir) return;
  if (!w.marked) {
    await markRunning(ctx.redis, job.sweep, job.trial, {
      host: os.hostname(),
      worker: ctx.worker,
      run: Run.fromDir(w.runDir).id,
      since: new Date().toISOString(),
      takeover,
    });
    w.marked = true;
  }
  const rows = readMetricsRows(w.runDir);
  if (rows.length <= w.epochs) return;
  for (const row of rows.slice(w.epochs)) await saveEpoch(ctx.redis, job.sweep, job.trial, row);
  const since = w.epochs;
  w.epochs = rows.length;
  const es = job.earlyStopping;
  if (!es || w.pruned || pid === undefined) return;
  const curves = await readCurves(ctx.redis, job.sweep, job.total, job.metric);
  const mine = curves.get(job.trial) ?? [];
  const others = [...curves.entries()].filter(([i]) => i !== job.trial).map(([, c]) => c);
  const d = judgeTrial(es, mine, others, rows.length, job.goal, since);
  if (d?.stop) {
    w.pruned = { epoch: d.epoch, value: d.value, median: d.median, others: d.others };
    ctx.log(`[${job.sweep} trial ${job.trial}/${job.total}] stopping early: ${stopReason(es, job.metric, d)}`);
    stop();
  }
}

/** A trial's run, final metrics, sweep metric and its best over epochs, from its run folder. */
function runOutcome(
  job: TrialJob,
  runDir: string,
  reported?: MetricsRow,
): Pick<TrialResult, 'run' | 'runDir' | 'metrics' | 'value' | 'bestValue'> {
  const v = trialValues(runDir, job.metric, job.goal, reported);
  return { run: Run.fromDir(runDir).id, runDir, metrics: v.final, value: v.value, bestValue: v.bestValue };
}

function trialArgs(job: TrialJob, ctx: TrialContext): string[] {
  const sets = [...job.baseOverrides, ...job.overrides].flatMap((o) => ['--set', o]);
  const split = job.workersAuto && ctx.concurrency > 1 && !job.overrides.some((o) => o.startsWith('training.workers='));
  const workers = split ? ['--workers', String(Math.max(1, Math.floor(os.cpus().length / ctx.concurrency)))] : [];
  return [
    'run',
    path.join(ctx.runsDir, job.name, SWEEPS_DIR, job.sweep.split('/').at(-1)!, job.experiment.fileName),
    ...sets,
    '--json',
    '--runs-dir',
    ctx.runsDir,
    '--tag',
    `sweep=${job.sweep}`,
    '--tag',
    `trial=${job.trial}`,
    ...workers,
    ...dataArgs(ctx),
    ...job.runArgs,
  ];
}

function dataArgs(ctx: TrialContext): string[] {
  return ctx.dataDir ? ['--data-dir', ctx.dataDir] : [];
}

/**
 * The run folder to continue, if this trial's newest run here stopped part-way and
 * `run --resume` would take it. A run still marked running whose process is alive is a
 * trial left by a worker killed here: it stops itself (parent-watch), so wait for that.
 */
async function stoppedRun(run: Run | undefined): Promise<string | undefined> {
  if (!run) return undefined;
  for (let waited = 0; Run.fromDir(run.dir).status() === 'running' && waited < 120_000; waited += 200) await sleep(200);
  run = Run.fromDir(run.dir);
  // Still running after the wait: not this worker's to take over.
  return run.status() !== 'running' && resumable(run) ? run.dir : undefined;
}

function result(base: Base, r: { status: TrialStatus; error: string | null; takeover: Takeover }): TrialResult {
  const now = Date.now();
  return {
    ...base,
    ...r,
    final: false,
    run: null,
    runDir: null,
    endedAt: new Date(now).toISOString(),
    durationSeconds: (now - Date.parse(base.startedAt)) / 1000,
    exitCode: null,
    metrics: null,
    value: null,
    bestValue: null,
    pruned: null,
    recordedAt: now,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
