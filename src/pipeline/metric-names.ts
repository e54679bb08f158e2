import { METRICS } from '../builders/metrics';
import type { ResolvedExperiment } from '../config/load';
import type { EvalSplit } from './types';

/** Per-epoch metric names (RUNDIR.md): `loss`, `accuracy` on train; `valLoss`, `testAccuracy`... on the other splits. */
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

export function splitKey(split: 'train' | EvalSplit, key: string): string {
  return split === 'train' ? key : (split === 'validation' ? 'val' : 'test') + cap(key);
}

/** The metric a row name measures, without its split prefix: valTop5Accuracy -> top5Accuracy. */
export function baseMetric(name: string): string {
  const m = /^(val|test)([A-Z].*)$/.exec(name);
  return m ? m[2][0].toLowerCase() + m[2].slice(1) : name;
}

/** Better is higher or lower: losses and errors go down, accuracies up (the registry's goal). */
export function metricGoal(name: string): 'max' | 'min' {
  const base = baseMetric(name);
  if (base === 'loss') return 'min';
  return METRICS.get(base)?.goal ?? 'max';
}

/** The metric that ranks runs and picks the best checkpoint: testAccuracy, else testLoss (RUNDIR.md). */
export function mainMetric(experiment: ResolvedExperiment): { name: string; goal: 'max' | 'min' } {
  return experiment.training.metrics.includes('accuracy') ? { name: 'testAccuracy', goal: 'max' } : { name: 'testLoss', goal: 'min' };
}

/** Is `value` an improvement over `best` by more than minDelta? */
export function improves(value: number, best: number | undefined, goal: 'max' | 'min', minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === undefined) return true;
  return goal === 'max' ? value > best + minDelta : value < best - minDelta;
}
