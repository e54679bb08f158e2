import { formatMetric } from '../../format';
import { UsageError } from '../../../errors';
import { newTrialState, type SweepState } from '../state';
import { applyResult, applyRunning, isQueued, type QueuedSweepState } from './records';
import { connect } from './submit';
import { readEpochs, readPlan, readResults, readRunning, readTrialParams } from './store';
import type { QueueAddress } from './url';

/**
 * `pipeline sweep --status NAME/sweeps/N`: the sweep as it stands, from any
 * machine. A queued sweep is read from Redis (the plan, each trial's result,
 * the trials running now and their latest epoch), so it needs no folder here;
 * a single-machine sweep is its sweep.json.
 */

export interface SweepStatus {
  state: SweepState;
  /** Running trials' latest epoch, by trial index. */
  latest: Map<number, { epoch: number; value: number | undefined }>;
}

export async function queuedStatus(
  id: string,
  local: SweepState | undefined,
  address: QueueAddress | undefined,
): Promise<SweepStatus> {
  if (local && !isQueued(local)) return { state: local, latest: new Map() };
  if (!address)
    throw new UsageError(`sweep ${id} ran through a queue: give its address with --queue URL or $PIPELINE_QUEUE`);
  const conn = await connect(address);
  try {
    const plan = await readPlan<QueuedSweepState>(conn.redis, id);
    if (!plan) throw new UsageError(`no sweep ${id} on the queue at ${address.display}`);
    const params = await readTrialParams(conn.redis, id);
    const state: QueuedSweepState = local && isQueued(local) ? local : { ...plan, trials: [] };
    if (!state.trials.length) {
      // Rebuild the trials from what the sweep put on the queue.
      const count = (plan as unknown as { trialCount?: number }).trialCount ?? Math.max(0, ...params.keys());
      for (let i = 1; i <= count; i++)
        state.trials.push(
          newTrialState({ index: i, params: params.get(i)?.params ?? {}, overrides: params.get(i)?.overrides ?? [] }),
        );
    }
    const [results, running] = await Promise.all([readResults(conn.redis, id), readRunning(conn.redis, id)]);
    const latest = new Map<number, { epoch: number; value: number | undefined }>();
    for (const t of state.trials) {
      const p = params.get(t.index);
      if (p) Object.assign(t, { params: p.params, overrides: p.overrides });
      const r = results.get(t.index);
      const live = running.get(t.index);
      if (live) {
        applyRunning(t, live);
        const rows = await readEpochs(conn.redis, id, t.index);
        const last = rows.at(-1);
        if (last) latest.set(t.index, { epoch: last.epoch, value: last[state.spec.metric] });
      } else if (r) applyResult(t, r, r.recordedAt);
    }
    return { state, latest };
  } finally {
    await conn.close();
  }
}

/** Lines under the leaderboard: what runs where, at which epoch. */
export function runningLines(s: SweepStatus): string[] {
  const state = s.state as QueuedSweepState;
  return state.trials
    .filter((t) => t.status === 'running')
    .map((t) => {
      const at = s.latest.get(t.index);
      const progress = at
        ? `epoch ${at.epoch}, ${state.spec.metric} ${formatMetric(at.value ?? null)}`
        : 'no epoch yet';
      return `trial ${t.index} running on ${t.worker ?? 'a worker'} (${t.run ?? 'starting'}): ${progress}`;
    });
}
