import type { SweepState, TrialState } from '../state';
import type { RunningTrial, Takeover, TrialResult } from './store';

/**
 * The sweep record of a queued sweep: sweep.json as for a single-machine sweep,
 * plus where the queue is (its address without the password) and, per trial,
 * which worker ran it and whether a takeover continued it from a checkpoint or
 * started it over. Results come from Redis (store.ts); this module turns them
 * into the record, for the sweep that follows its trials and for --status.
 */

export interface QueueInfo {
  /** The address with its password replaced by ***. */
  address: string;
  name: string;
  attempts: number;
  backoffSeconds: number;
}

export interface QueuedTrialState extends TrialState {
  host?: string | null;
  worker?: string | null;
  takeover?: Takeover;
  /** Set while the trial waits for another attempt after a failure. */
  retrying?: boolean;
  /** Milliseconds since the epoch: enqueued, taken by a worker, process started and ended there, result seen by the sweep. */
  timings?: {
    enqueuedAt: number;
    pickedAt: number;
    spawnedAt: number;
    exitedAt: number;
    prepareCpuMs: number;
    recordedAt: number;
  } | null;
  /** --method tpe: whether TPE chose the parameters (false: the planned random draw). */
  byTpe?: boolean;
  queued?: boolean;
  /** The recordedAt of the worker result this record shows. */
  resultAt?: number;
}

export interface QueuedSweepState extends SweepState {
  queue: QueueInfo;
  trials: QueuedTrialState[];
}

export function isQueued(state: SweepState): state is QueuedSweepState {
  return typeof (state as Partial<QueuedSweepState>).queue?.address === 'string';
}

/** Applies a worker's result to the trial; true when the record changed. */
export function applyResult(t: QueuedTrialState, r: TrialResult, seenAt: number): boolean {
  if (t.resultAt === r.recordedAt && t.status !== 'running') return false;
  t.resultAt = r.recordedAt;
  const retrying = !r.final;
  t.status = r.final ? r.status : 'pending';
  t.retrying = retrying;
  t.attempts = r.attempt;
  t.run = r.run;
  t.runDir = r.runDir;
  t.startedAt = r.startedAt;
  t.endedAt = r.endedAt;
  t.durationSeconds = r.durationSeconds;
  t.exitCode = r.exitCode;
  t.value = r.value;
  t.bestValue = r.bestValue;
  t.final = r.metrics;
  t.error = r.error;
  t.pruned = r.pruned;
  t.host = r.host;
  t.worker = r.worker;
  t.takeover = r.takeover;
  t.timings = r.timings ? { ...r.timings, recordedAt: seenAt } : null;
  return true;
}

/** Marks a trial a worker is running now; true when the record changed. */
export function applyRunning(t: QueuedTrialState, r: RunningTrial): boolean {
  if (t.status === 'running' && t.run === r.run && t.worker === r.worker) return false;
  t.status = 'running';
  t.run = r.run;
  t.host = r.host;
  t.worker = r.worker;
  t.takeover = r.takeover;
  t.startedAt = r.since;
  return true;
}
