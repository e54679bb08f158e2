import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { InterruptedError, RunError } from '../../../errors';
import { leaderboard } from '../leaderboard';
import { newSweepState, type PreparedSweep } from '../sweep';
import { claimSweepDir, DONE, saveSweep, thisHost } from '../state';
import { proposeTrial } from '../search/propose';
import { TRIAL_FORMAT, TRIAL_KIND, type TrialJob } from './payload';
import { applyResult, applyRunning, type QueuedSweepState, type QueuedTrialState } from './records';
import { claimPlan, clearResult, readResults, readRunning, saveTrialParams, TRIAL_QUEUE, waitEvent } from './store';
import type { QueueAddress } from './url';

/**
 * `pipeline sweep FILE --queue URL`: the trials, validated as for a local
 * sweep, go on the shared BullMQ queue (`pipeline-trials`; each job is named
 * after its sweep and trial) for `pipeline worker`s anywhere to run, and this
 * process follows them: it rewrites sweep.json as results arrive in Redis and
 * prints the leaderboard at the end. With --method tpe it enqueues `parallel`
 * trials at a time, each next one chosen from the results so far. Stopping it
 * (Ctrl-C) leaves the trials to the workers; `--resume` follows them again.
 */

export interface QueueSettings {
  address: QueueAddress;
  attempts: number;
  backoffSeconds: number;
  log: (line: string) => void;
}

interface Conn {
  redis: Redis;
  blocking: Redis;
  queue: Queue;
  close(): Promise<void>;
}

export async function connect(address: QueueAddress, waitMs = 10_000): Promise<Conn> {
  const redis = new Redis(address.connection);
  let lastError = '';
  redis.on('error', (e) => (lastError = e.message));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.disconnect();
      reject(new RunError(`cannot reach the queue at ${address.display}${lastError ? `: ${lastError}` : ''}`));
    }, waitMs);
    redis.once('ready', () => (clearTimeout(timer), resolve()));
  });
  const blocking = redis.duplicate();
  blocking.on('error', () => {});
  const queue = new Queue(TRIAL_QUEUE, { connection: address.connection });
  queue.on('error', () => {});
  // Closing a queue whose connection is still opening throws from inside ioredis.
  await queue.waitUntilReady();
  return {
    redis,
    blocking,
    queue,
    close: async () => {
      // Deliberate: closing is best effort (Redis may be gone already); the connections are dropped next anyway.
      await queue.close().catch(() => {});
      redis.disconnect();
      blocking.disconnect();
    },
  };
}

export async function startQueuedSweep(
  p: PreparedSweep,
  runsDir: string,
  runArgs: string[],
  s: QueueSettings,
): Promise<QueuedSweepState> {
  const conn = await connect(s.address);
  try {
    const name = p.base.experiment.name;
    const skipped: string[] = [];
    let state: QueuedSweepState | undefined;
    // The id must be free in Redis too: another machine's runs folder may have used it.
    while (!state) {
      const { dir, id } = claimSweepDir(runsDir, name);
      const candidate: QueuedSweepState = {
        ...newSweepState(p, { dir, id }, runsDir, runArgs),
        queue: {
          address: s.address.display,
          name: TRIAL_QUEUE,
          attempts: s.attempts,
          backoffSeconds: s.backoffSeconds,
        },
      };
      if (await claimPlan(conn.redis, id, { ...candidate, trials: undefined, trialCount: candidate.trials.length }))
        state = candidate;
      else skipped.push(dir);
    }
    for (const d of skipped) fs.rmSync(d, { recursive: true, force: true });
    fs.writeFileSync(path.join(state.dir, 'experiment.yaml'), p.text);
    saveSweep(state);
    s.log(
      `sweep ${state.id}: ${state.trials.length} trial${state.trials.length === 1 ? '' : 's'} on the queue at ${s.address.display}, ranked by ${p.spec.metric} (${p.spec.goal}); start workers with: pipeline worker --queue URL`,
    );
    return await follow(state, conn, s, p.text);
  } finally {
    await conn.close();
  }
}

export async function resumeQueuedSweep(state: QueuedSweepState, s: QueueSettings): Promise<QueuedSweepState> {
  const conn = await connect(s.address);
  try {
    const text = fs.readFileSync(path.join(state.dir, 'experiment.yaml'), 'utf8');
    const results = await readResults(conn.redis, state.id);
    for (const t of state.trials) {
      const r = results.get(t.index);
      if (r) applyResult(t, r, Date.now());
      if (DONE.includes(t.status)) continue;
      const job = await conn.queue.getJob(jobId(state.id, t.index));
      const jobState = job ? await job.getState() : 'missing';
      if (['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes(jobState)) continue;
      // Failed for good, or never queued: a fresh job with fresh attempts.
      if (job) await job.remove();
      await clearResult(conn.redis, state.id, t.index);
      t.status = 'pending';
      t.queued = false;
    }
    state.status = 'running';
    state.pid = process.pid;
    state.host = thisHost();
    saveSweep(state);
    s.log(
      `sweep ${state.id}: following ${state.trials.filter((t) => !DONE.includes(t.status)).length} of ${state.trials.length} trials on ${s.address.display}`,
    );
    return await follow(state, conn, s, text);
  } finally {
    await conn.close();
  }
}

export function jobId(sweep: string, index: number): string {
  return `${sweep}#${index}`;
}

async function enqueue(
  state: QueuedSweepState,
  conn: Conn,
  s: QueueSettings,
  t: QueuedTrialState,
  text: string,
): Promise<void> {
  if (state.spec.method === 'tpe' && t.attempts === 0) {
    const p = proposeTrial(state.spec, state.seed, t, state.trials, {
      file: state.file,
      text,
      baseOverrides: state.baseOverrides,
    });
    if (p.fallback) s.log(`[trial ${t.index}/${state.trials.length}] ${p.fallback}; it runs its planned random draw`);
    t.params = p.params;
    t.overrides = p.overrides;
    t.byTpe = p.byTpe;
  }
  await saveTrialParams(conn.redis, state.id, t.index, t);
  const job: TrialJob = {
    kind: TRIAL_KIND,
    format: TRIAL_FORMAT,
    sweep: state.id,
    name: state.name,
    trial: t.index,
    total: state.trials.length,
    params: t.params,
    overrides: t.overrides,
    baseOverrides: state.baseOverrides,
    experiment: { fileName: 'experiment.yaml', text, sha256: state.fileSha256 },
    runArgs: state.runArgs,
    workersAuto: state.workersAuto,
    metric: state.spec.metric,
    goal: state.spec.goal,
    earlyStopping: state.spec.earlyStopping ?? null,
    enqueuedAt: Date.now(),
  };
  await conn.queue.add(`${state.id} trial ${t.index}`, job, {
    jobId: jobId(state.id, t.index),
    attempts: state.queue.attempts,
    backoff: { type: 'exponential', delay: state.queue.backoffSeconds * 1000 },
  });
  t.queued = true;
}

/** Trials on the queue now: all of them, or for TPE `parallel` at a time (each next one learns from the finished). */
async function fill(state: QueuedSweepState, conn: Conn, s: QueueSettings, text: string): Promise<boolean> {
  const waiting = state.trials.filter((t) => !t.queued && !DONE.includes(t.status));
  const inFlight = state.trials.filter((t) => t.queued && !isFinal(t)).length;
  const room = state.spec.method === 'tpe' ? Math.max(0, state.spec.parallel - inFlight) : waiting.length;
  for (const t of waiting.slice(0, room)) await enqueue(state, conn, s, t, text);
  return room > 0 && waiting.length > 0;
}

function isFinal(t: QueuedTrialState): boolean {
  return !t.retrying && t.status !== 'pending' && t.status !== 'running';
}

async function follow(state: QueuedSweepState, conn: Conn, s: QueueSettings, text: string): Promise<QueuedSweepState> {
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    conn.blocking.disconnect(); // wakes the blocking wait
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let unreachable = false;
  let lastJobCheck = 0;
  try {
    while (!interrupted) {
      try {
        let changed = await fill(state, conn, s, text);
        changed = (await refresh(state, conn, s)) || changed;
        if (Date.now() - lastJobCheck > 2000) {
          changed = (await checkJobs(state, conn, s)) || changed;
          lastJobCheck = Date.now();
        }
        if (changed) saveSweep(state);
        if (unreachable) s.log(`sweep ${state.id}: the queue is back`);
        unreachable = false;
        if (state.trials.every((t) => t.queued && isFinal(t))) break;
        await waitEvent(conn.blocking, state.id, 1);
      } catch (err) {
        if (interrupted) break;
        if (!unreachable)
          s.log(`sweep ${state.id}: the queue is unreachable (${(err as Error).message}); waiting for it`);
        unreachable = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (interrupted) {
    state.status = 'interrupted';
    saveSweep(state);
    throw new InterruptedError(
      `sweep ${state.id}: stopped following; its queued trials still run on the workers; follow them again with: pipeline sweep --resume ${state.id}`,
    );
  }
  state.status = state.trials.every((t) => DONE.includes(t.status)) ? 'completed' : 'failed';
  saveSweep(state);
  return state;
}

/** Results and running trials from Redis into the record; logs what changed. */
async function refresh(state: QueuedSweepState, conn: Conn, s: QueueSettings): Promise<boolean> {
  const [results, running] = await Promise.all([readResults(conn.redis, state.id), readRunning(conn.redis, state.id)]);
  const now = Date.now();
  let changed = false;
  const total = state.trials.length;
  for (const t of state.trials) {
    const live = running.get(t.index);
    const r = results.get(t.index);
    if (live && !(r?.final && r.recordedAt >= Date.parse(live.since))) {
      if (applyRunning(t, live)) {
        changed = true;
        s.log(
          `[trial ${t.index}/${total}] running on ${live.worker} (${live.run})${live.takeover ? `, ${live.takeover}` : ''}: ${t.overrides.join(' ')}`,
        );
      }
    } else if (!r && t.status === 'running') {
      // Handed back by a worker that was stopped: waiting for the next one.
      t.status = 'pending';
      changed = true;
      s.log(`[trial ${t.index}/${total}] back on the queue (its worker stopped)`);
    } else if (r && applyResult(t, r, now)) {
      changed = true;
      const what = t.value === null ? '' : `: ${state.spec.metric} ${t.value.toFixed(4)}`;
      s.log(
        `[trial ${t.index}/${total}] ${r.status} on ${r.worker} in ${r.durationSeconds.toFixed(1)}s${what}${r.run ? ` (${r.run})` : ''}${r.takeover ? `, ${r.takeover}` : ''}${r.error ? ` — ${r.error}` : ''}${r.final ? '' : ' (will retry)'}`,
      );
      if (r.final) s.log(standing(state));
    }
  }
  return changed;
}

/** The sweep's own live view: the leader so far and how many trials are done. */
function standing(state: QueuedSweepState): string {
  const done = state.trials.filter(isFinal).length;
  const best = leaderboard(state)[0];
  const lead = best?.rank
    ? `best so far: trial ${best.trial} ${state.spec.metric} ${best.value!.toFixed(4)}`
    : 'no completed trial yet';
  return `sweep ${state.id}: ${done}/${state.trials.length} trials done; ${lead}`;
}

/** Trials whose job failed without a final result from a worker (e.g. it lost its worker too often). */
async function checkJobs(state: QueuedSweepState, conn: Conn, s: QueueSettings): Promise<boolean> {
  let changed = false;
  for (const t of state.trials.filter((x) => x.queued && !isFinal(x))) {
    const job = await conn.queue.getJob(jobId(state.id, t.index));
    if (!job || (await job.getState()) !== 'failed') continue;
    const r = (await readResults(conn.redis, state.id)).get(t.index);
    if (r?.final) continue;
    t.status = 'failed';
    t.retrying = false;
    t.error = job.failedReason || 'the job failed';
    t.attempts = Math.max(t.attempts, job.attemptsMade);
    s.log(`[trial ${t.index}/${state.trials.length}] failed: ${t.error}`);
    changed = true;
  }
  return changed;
}
