/**
 * Asynchronous successive halving (Li et al. 2018, "ASHA"), as Optuna's
 * SuccessiveHalvingPruner applies it: rungs at epochs minEpochs * eta^k; when
 * a trial reaches a rung it goes on only if its value there is among the best
 * 1/eta of the values every trial has recorded at that rung so far (its own
 * included). While fewer than eta trials reached the rung, only the best one
 * goes on. Trials are never held back waiting for others: that is what makes it
 * asynchronous, and what lets workers on many machines apply it independently.
 */

export interface AshaSettings {
  /** The first rung's epoch (the least every trial trains). */
  minEpochs: number;
  /** eta: keep the best 1/eta at each rung. */
  reductionFactor: number;
}

export interface AshaDecision {
  stop: boolean;
  epoch: number;
  value: number;
  /** The worst value that still goes on at this rung. */
  threshold: number;
  /** How many other trials recorded a value at this rung. */
  others: number;
}

/** Whether `epoch` is a rung: minEpochs * eta^k for some k >= 0. */
export function isRung(epoch: number, s: AshaSettings): boolean {
  for (let e = s.minEpochs; e <= epoch; e *= s.reductionFactor) {
    if (e === epoch) return true;
    if (s.reductionFactor <= 1) break;
  }
  return false;
}

/**
 * `mine` and `others` are per-epoch metric values (index 0 = epoch 1). The trial has reached
 * `epoch` and was last judged at `since`: it is judged at the latest rung in (since, epoch]
 * (a rung passed between two looks is not skipped); undefined when there is none.
 */
export function ashaRule(
  mine: Array<number | undefined>,
  others: Array<Array<number | undefined>>,
  reached: number,
  goal: 'max' | 'min',
  s: AshaSettings,
  since = reached - 1,
): AshaDecision | undefined {
  let epoch = reached;
  while (epoch > since && !isRung(epoch, s)) epoch--;
  if (epoch <= since || mine.length < epoch) return undefined;
  const value = mine[epoch - 1];
  if (typeof value !== 'number' || Number.isNaN(value)) return undefined;
  const peers = others.map((o) => o[epoch - 1]).filter((v): v is number => typeof v === 'number' && !Number.isNaN(v));
  // Best first.
  const competing = [...peers, value].sort((a, b) => (goal === 'max' ? b - a : a - b));
  const keep = Math.max(1, Math.floor(competing.length / s.reductionFactor));
  const threshold = competing[keep - 1];
  const stop = goal === 'max' ? value < threshold : value > threshold;
  return { stop, epoch, value, threshold, others: peers.length };
}
