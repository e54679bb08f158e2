import type { Redis } from 'ioredis';
import type { MetricsRow } from '../../../run-format/types';
import type { TrialStatus } from '../state';

/**
 * What a queued sweep keeps in Redis besides BullMQ's own job records, under
 * `pipeline:sweep:<sweep id>:`. This module owns that layout.
 *
 * - `plan`: the sweep's plan (TrialJob fields shared by every trial), set once
 *   with NX: two machines cannot run different sweeps under one id.
 * - `trials`: trial index -> its parameters and `--set` overrides.
 * - `results`: trial index -> TrialResult, the worker's summary of its last attempt.
 * - `epochs:<index>`: epoch -> that epoch's metrics row (the run's metrics.jsonl line).
 * - `running`: trial index -> where it runs now (removed when it ends).
 * - `claims`: trial index -> how many times a worker has taken it.
 */

export const TRIAL_QUEUE = 'pipeline-trials';

const key = (sweep: string, part: string) => `pipeline:sweep:${sweep}:${part}`;

/** Where a trial's run continued from when a worker took it over, for the sweep record. */
export type Takeover = 'continued from checkpoint' | 'started over' | 'finished on its own' | null;

export interface TrialResult {
  trial: number;
  status: TrialStatus;
  /** No further attempt will follow (completed, pruned, diverged, refused, or out of attempts). */
  final: boolean;
  attempt: number;
  host: string;
  worker: string;
  run: string | null;
  runDir: string | null;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  exitCode: number | null;
  metrics: MetricsRow | null;
  value: number | null;
  bestValue: number | null;
  error: string | null;
  pruned: { epoch: number; value: number; median: number; others: number } | null;
  takeover: Takeover;
  /** Milliseconds since the epoch when the worker recorded this. */
  recordedAt: number;
  /** Milliseconds since the epoch: the job put on the queue, taken by the worker, its process started and ended (queue overhead). */
  timings?: { enqueuedAt: number; pickedAt: number; spawnedAt: number; exitedAt: number; prepareCpuMs: number };
}

export interface RunningTrial {
  host: string;
  worker: string;
  run: string | null;
  since: string;
  takeover: Takeover;
}

export async function claimPlan(redis: Redis, sweep: string, plan: unknown): Promise<boolean> {
  return (await redis.set(key(sweep, 'plan'), JSON.stringify(plan), 'NX')) === 'OK';
}

export async function readPlan<T>(redis: Redis, sweep: string): Promise<T | undefined> {
  const text = await redis.get(key(sweep, 'plan'));
  return text ? (JSON.parse(text) as T) : undefined;
}

export async function saveTrialParams(
  redis: Redis,
  sweep: string,
  index: number,
  t: { params: Record<string, unknown>; overrides: string[] },
): Promise<void> {
  await redis.hset(key(sweep, 'trials'), String(index), JSON.stringify({ params: t.params, overrides: t.overrides }));
}

export async function readTrialParams(
  redis: Redis,
  sweep: string,
): Promise<Map<number, { params: Record<string, unknown>; overrides: string[] }>> {
  return toMap(await redis.hgetall(key(sweep, 'trials')));
}

export async function saveResult(redis: Redis, sweep: string, r: TrialResult): Promise<void> {
  await redis
    .multi()
    .hset(key(sweep, 'results'), String(r.trial), JSON.stringify(r))
    .hdel(key(sweep, 'running'), String(r.trial))
    .exec();
}

export async function readResults(redis: Redis, sweep: string): Promise<Map<number, TrialResult>> {
  return toMap(await redis.hgetall(key(sweep, 'results')));
}

export async function clearResult(redis: Redis, sweep: string, index: number): Promise<void> {
  await redis.hdel(key(sweep, 'results'), String(index));
}

export async function saveEpoch(redis: Redis, sweep: string, index: number, row: MetricsRow): Promise<void> {
  await redis.hset(key(sweep, `epochs:${index}`), String(row.epoch), JSON.stringify(row));
}

/** Each trial's metric per epoch (index 0 = epoch 1), for the early-stopping rules. */
export async function readCurves(
  redis: Redis,
  sweep: string,
  trials: number,
  metric: string,
): Promise<Map<number, Array<number | undefined>>> {
  const pipe = redis.pipeline();
  for (let i = 1; i <= trials; i++) pipe.hgetall(key(sweep, `epochs:${i}`));
  const replies = (await pipe.exec()) ?? [];
  const curves = new Map<number, Array<number | undefined>>();
  replies.forEach(([err, h], i) => {
    if (err || !h) return;
    const curve: Array<number | undefined> = [];
    for (const text of Object.values(h as Record<string, string>)) {
      const row = JSON.parse(text) as MetricsRow;
      if (typeof row.epoch === 'number' && row.epoch >= 1) curve[row.epoch - 1] = row[metric];
    }
    if (curve.length) curves.set(i + 1, curve);
  });
  return curves;
}

export async function readEpochs(redis: Redis, sweep: string, index: number): Promise<MetricsRow[]> {
  const h = await redis.hgetall(key(sweep, `epochs:${index}`));
  return Object.values(h)
    .map((t) => JSON.parse(t) as MetricsRow)
    .sort((a, b) => a.epoch - b.epoch);
}

export async function markRunning(redis: Redis, sweep: string, index: number, r: RunningTrial): Promise<void> {
  await redis.hset(key(sweep, 'running'), String(index), JSON.stringify(r));
}

export async function clearRunning(redis: Redis, sweep: string, index: number): Promise<void> {
  await redis.hdel(key(sweep, 'running'), String(index));
}

export async function readRunning(redis: Redis, sweep: string): Promise<Map<number, RunningTrial>> {
  return toMap(await redis.hgetall(key(sweep, 'running')));
}

/** Counts a worker taking the trial; returns how many times it has been taken (1 the first time). */
export async function countClaim(redis: Redis, sweep: string, index: number): Promise<number> {
  return redis.hincrby(key(sweep, 'claims'), String(index), 1);
}

function toMap<T>(h: Record<string, string>): Map<number, T> {
  const m = new Map<number, T>();
  for (const [k, v] of Object.entries(h)) m.set(Number(k), JSON.parse(v) as T);
  return m;
}

/** Tells the sweep's follower that a trial's result changed (it blocks on this list instead of polling). */
export async function pushEvent(redis: Redis, sweep: string, index: number): Promise<void> {
  await redis.lpush(key(sweep, 'events'), String(index));
}

/** Waits up to `seconds` for a result event; resolves either way. Needs a connection of its own (it blocks). */
export async function waitEvent(blocking: Redis, sweep: string, seconds: number): Promise<void> {
  await blocking.brpop(key(sweep, 'events'), seconds);
}
