import * as os from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { loadExperimentText } from '../../../config/load';
import { ConfigError, InterruptedError } from '../../../errors';
import { checkTrialJob, type TrialJob } from './payload';
import { runTrial } from './run-trial';
import { clearRunning, pushEvent, saveResult, TRIAL_QUEUE, type TrialResult } from './store';
import type { QueueAddress } from './url';

/**
 * `pipeline worker`: takes trials off the queue and runs each (run-trial.ts),
 * `concurrency` at a time, until stopped. Locks and stalls are BullMQ's: a
 * worker renews the lock on each trial it runs every lockSeconds/2; if it dies,
 * the lock expires and the stalled-job check (every lockSeconds) puts the trial
 * back for another worker. A trial that fails by itself is retried with
 * backoff until its attempts are used up; one that diverged (its seed makes it
 * diverge again) or does not validate here is failed at once. A job that is
 * not a trial this worker understands is failed with the reason, and the
 * worker goes on. Redis going away is waited out: ioredis reconnects.
 */

export interface WorkerOptions {
  queue: QueueAddress;
  runsDir: string;
  dataDir?: string;
  concurrency: number;
  /** Lock duration and stalled-check interval (seconds). */
  lockSeconds: number;
  /** How many times a trial may lose its worker before it is failed. */
  maxStalls: number;
  script: string;
  log: (line: string) => void;
  pollMs?: number;
}

export async function runWorker(o: WorkerOptions): Promise<never> {
  const name = `${os.hostname()}:${process.pid}`;
  const redis = new Redis({ ...o.queue.connection, lazyConnect: false });
  redis.on('error', () => {}); // reconnecting; the worker's own 'error' handler reports once
  let stopRequested: () => void = () => {};
  const stopping = new Promise<void>((r) => (stopRequested = r));
  const ctx: Processing = { o, name, redis, stopping };
  const worker = new Worker(TRIAL_QUEUE, (job: Job, token?: string) => processTrial(ctx, job, token), {
    connection: o.queue.connection,
    concurrency: o.concurrency,
    lockDuration: o.lockSeconds * 1000,
    stalledInterval: o.lockSeconds * 1000,
    maxStalledCount: o.maxStalls,
    autorun: false,
  });
  reportEvents(worker, name, o);
  const done = stopOnSignals(worker, redis, name, o, stopRequested);
  warmUp();
  o.log(
    `worker ${name}: ${o.concurrency} trial${o.concurrency === 1 ? '' : 's'} at a time from ${o.queue.display} into ${o.runsDir}`,
  );
  void worker.run();
  return done;
}

interface Processing {
  o: WorkerOptions;
  /** host:pid, how logs and refusals name this worker. */
  name: string;
  redis: Redis;
  /** Resolves when the worker is asked to stop. */
  stopping: Promise<void>;
}

/** One job: a trial run here, its result recorded (or the trial handed back to the queue when the worker stops). */
async function processTrial(ctx: Processing, job: Job, token?: string): Promise<TrialResult> {
  const { o, name, redis } = ctx;
  const why = checkTrialJob(job.data);
  if (why) {
    o.log(`worker ${name}: refused job ${job.id} (${job.name}): ${why}`);
    throw new UnrecoverableError(`refused by worker ${name}: ${why}`);
  }
  const t = job.data as TrialJob;
  const attempt = job.attemptsMade + 1;
  const out = await runTrial(t, attempt, {
    redis,
    runsDir: o.runsDir,
    dataDir: o.dataDir,
    concurrency: o.concurrency,
    script: o.script,
    worker: name,
    log: o.log,
    pollMs: o.pollMs ?? 250,
    stopping: ctx.stopping,
  });
  if (out.handBack) {
    o.log(`[${t.sweep} trial ${t.trial}/${t.total}] checkpointed and handed back to the queue`);
    await clearRunning(redis, t.sweep, t.trial);
    await pushEvent(redis, t.sweep, t.trial);
    await job.moveToWait(token);
    throw new WaitingError();
  }
  const r = out.result;
  const lastAttempt = attempt >= (job.opts.attempts ?? 1);
  const givesUp = out.refused || r.status === 'diverged';
  r.final = r.status === 'completed' || r.status === 'pruned' || givesUp || lastAttempt;
  await saveResult(redis, t.sweep, r);
  await pushEvent(redis, t.sweep, t.trial);
  const value = r.value === null ? '' : `: ${t.metric} ${r.value.toFixed(4)}`;
  o.log(
    `[${t.sweep} trial ${t.trial}/${t.total}] ${r.status} in ${r.durationSeconds.toFixed(1)}s${value}${r.run ? ` (${r.run})` : ''}${r.error ? ` — ${r.error}` : ''}${!r.final ? `; attempt ${attempt} of ${job.opts.attempts}, will retry` : ''}`,
  );
  if (r.status === 'completed' || r.status === 'pruned') return r;
  if (givesUp) throw new UnrecoverableError(r.error ?? r.status);
  throw new Error(r.error ?? r.status);
}

/** The queue's errors (each new reason once while Redis is away), reconnection and stalled trials, as log lines. */
function reportEvents(worker: Worker, name: string, o: WorkerOptions): void {
  let lastError = '';
  worker.on('error', (err) => {
    if (err.message !== lastError) o.log(`worker ${name}: ${err.message} (retrying)`);
    lastError = err.message;
  });
  worker.on('ready', () => {
    if (lastError) o.log(`worker ${name}: connected again to ${o.queue.display}`);
    lastError = '';
  });
  worker.on('stalled', (jobId) => o.log(`worker ${name}: job ${jobId} lost its worker; it goes back on the queue`));
}

/**
 * SIGINT/SIGTERM: running trials checkpoint and go back on the queue, then the returned promise
 * rejects with InterruptedError (exit 130); a second signal quits at once.
 */
function stopOnSignals(
  worker: Worker,
  redis: Redis,
  name: string,
  o: WorkerOptions,
  stopRequested: () => void,
): Promise<never> {
  let signals = 0;
  return new Promise<never>((_, reject) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      o.log(
        `worker ${name}: ${signal}: running trials checkpoint and go back on the queue (Ctrl-C again to quit at once)`,
      );
      stopRequested();
      void worker.close().finally(() => {
        redis.disconnect();
        reject(new InterruptedError(`worker ${name} stopped`));
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Loads the experiment validator now (tens of ms), so the first trial does not wait for it. */
function warmUp(): void {
  try {
    loadExperimentText('warm-up.yaml', 'version: 1\n');
  } catch (err) {
    // An incomplete experiment, as expected: only the loading mattered.
    if (!(err instanceof ConfigError)) throw err;
  }
}
