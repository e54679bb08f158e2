import { medianRule } from '../median';
import type { EarlyStopSpec } from '../spec';
import { ashaRule } from './asha';
import { DEFAULT_ASHA_REDUCTION } from '../spec';

/**
 * One entry point for the sweep's early-stopping rules, so the single-machine
 * runner and the queue workers judge a trial the same way. `median` is the
 * MedianPruner-style rule, `asha` successive halving at rungs by epoch.
 */

export interface StopDecision {
  stop: boolean;
  epoch: number;
  value: number;
  /** The median of the others (median) or the rung's promotion threshold (asha). */
  median: number;
  others: number;
}

export function judgeTrial(
  es: EarlyStopSpec,
  mine: Array<number | undefined>,
  others: Array<Array<number | undefined>>,
  epoch: number,
  goal: 'max' | 'min',
  /** The epoch the trial was last judged at (asha judges each rung once, even one passed between looks). */
  since = epoch - 1,
): StopDecision | undefined {
  if (es.type === 'asha') {
    const d = ashaRule(
      mine,
      others,
      epoch,
      goal,
      { minEpochs: es.minEpochs, reductionFactor: es.reductionFactor ?? DEFAULT_ASHA_REDUCTION },
      since,
    );
    return d && { stop: d.stop, epoch: d.epoch, value: d.value, median: d.threshold, others: d.others };
  }
  return medianRule(mine, others, epoch, goal, es.minEpochs, es.minTrials);
}

/** Why a trial was stopped, for the sweep's log. */
export function stopReason(es: EarlyStopSpec, metric: string, d: StopDecision): string {
  const v = d.value.toFixed(4);
  if (es.type === 'asha')
    return `${metric} ${v} at epoch ${d.epoch} is outside the best 1/${es.reductionFactor ?? DEFAULT_ASHA_REDUCTION} (threshold ${d.median.toFixed(4)}) of ${d.others + 1} trials at that rung`;
  return `${metric} ${v} at epoch ${d.epoch} is worse than the median ${d.median.toFixed(4)} of ${d.others} other trials`;
}
