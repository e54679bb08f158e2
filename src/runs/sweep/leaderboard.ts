import { formatValue } from '../flatten';
import { formatDuration, formatMetric } from '../format';
import type { Table } from '../table';
import type { SweepState, TrialState } from './state';

/**
 * Completed trials ranked by the sweep metric's final value (goal-wise). Trials
 * stopped early or failed are listed after them, unranked: a value from a
 * shorter run is not comparable.
 */

export interface LeaderboardRow {
  rank: number | null;
  trial: number;
  run: string | null;
  status: TrialState['status'];
  params: Record<string, unknown>;
  value: number | null;
  bestValue: number | null;
  durationSeconds: number | null;
  error: string | null;
}

const GROUP: Record<TrialState['status'], number> = {
  completed: 0,
  pruned: 1,
  interrupted: 2,
  diverged: 3,
  failed: 3,
  running: 4,
  pending: 5,
};

export function leaderboard(state: SweepState): LeaderboardRow[] {
  const sign = state.spec.goal === 'max' ? -1 : 1;
  const byValue = (a: TrialState, b: TrialState) => {
    if (a.value === null || b.value === null) return a.value === b.value ? 0 : a.value === null ? 1 : -1;
    return sign * (a.value - b.value);
  };
  const ranked = (t: TrialState) => t.status === 'completed' && t.value !== null;
  const sorted = [...state.trials].sort(
    (a, b) =>
      Number(!ranked(a)) - Number(!ranked(b)) ||
      GROUP[a.status] - GROUP[b.status] ||
      byValue(a, b) ||
      a.index - b.index,
  );
  let rank = 0;
  return sorted.map((t) => ({
    rank: ranked(t) ? ++rank : null,
    trial: t.index,
    run: t.run,
    status: t.status,
    params: t.params,
    value: t.value,
    bestValue: t.bestValue,
    durationSeconds: t.durationSeconds,
    error: t.error,
  }));
}

export function leaderboardTable(state: SweepState, rows = leaderboard(state)): Table {
  const keys = Object.keys(state.spec.parameters);
  const right = { align: 'right' as const };
  return {
    columns: [
      { header: 'rank', ...right },
      { header: 'trial', ...right },
      { header: 'run' },
      { header: 'status' },
      ...keys.map((k) => ({ header: k, ...right })),
      { header: state.spec.metric, ...right },
      { header: `best ${state.spec.metric}`, ...right },
      { header: 'duration', ...right },
    ],
    rows: rows.map((r) => [
      r.rank === null ? '—' : String(r.rank),
      String(r.trial),
      r.run ?? '—',
      r.status,
      ...keys.map((k) => formatValue(r.params[k])),
      formatMetric(r.value),
      formatMetric(r.bestValue),
      formatDuration(r.durationSeconds),
    ]),
  };
}

/** One line under the table: what happened overall. */
export function sweepSummaryLine(state: SweepState): string {
  const counts = new Map<string, number>();
  for (const t of state.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const parts = [...counts.entries()].map(([s, n]) => `${n} ${s}`);
  const best = leaderboard(state)[0];
  const bestText = best?.rank
    ? `; best: trial ${best.trial} (${best.run}) ${state.spec.metric} ${formatMetric(best.value)}`
    : '';
  return `sweep ${state.id}: ${state.trials.length} trial${state.trials.length === 1 ? '' : 's'}, ${parts.join(', ')}${bestText} (${state.dir}/sweep.json)`;
}
