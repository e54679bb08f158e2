import { bestValue } from '../../run-format/metrics';

/**
 * The median stopping rule (Google Vizier, Golovin et al. 2017; Optuna's
 * MedianPruner): at epoch e, stop a trial whose best value so far is worse
 * than the median of the other trials' best values up to the same epoch. Only
 * judged once the trial has run `minEpochs` epochs and at least `minTrials`
 * other trials reached epoch e, so early noise cannot kill a trial.
 */

export interface MedianDecision {
  stop: boolean;
  epoch: number;
  value: number;
  median: number;
  /** How many other trials the median is over. */
  others: number;
}

/** Best of the first `epoch` values by goal (missing and non-finite values ignored). */
export function bestUpTo(values: Array<number | undefined>, epoch: number, goal: 'max' | 'min'): number | undefined {
  return bestValue(values.slice(0, epoch), goal);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * `mine` and each of `others` are per-epoch metric values (index 0 = epoch 1).
 * Returns undefined while the rule cannot judge yet.
 */
export function medianRule(
  mine: Array<number | undefined>,
  others: Array<Array<number | undefined>>,
  epoch: number,
  goal: 'max' | 'min',
  minEpochs: number,
  minTrials: number,
): MedianDecision | undefined {
  if (epoch < minEpochs || mine.length < epoch) return undefined;
  const value = bestUpTo(mine, epoch, goal);
  if (value === undefined) return undefined;
  const peers = others
    .filter((o) => o.length >= epoch)
    .map((o) => bestUpTo(o, epoch, goal))
    .filter((v): v is number => v !== undefined);
  if (peers.length < minTrials) return undefined;
  const m = median(peers);
  return { stop: goal === 'max' ? value < m : value > m, epoch, value, median: m, others: peers.length };
}
