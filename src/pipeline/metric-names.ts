import { METRICS } from '../builders/metrics';
import type { ResolvedExperiment } from '../config/load';
import type { EvalSplit } from './types';

/** Per-epoch metric names (docs/run-folder.md): `loss`, `accuracy` on train; `valLoss`, `testAccuracy`... on the other splits. */
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

/**
 * Which epoch is "best", for checkpoints/best/, summary.json, NAME/best and sweeps: `training.selectBy`,
 * else the validation split's accuracy (loss without accuracy), else the training set's with a warning.
 * Test metrics are reported, never selected on: a model chosen on the test set has an optimistic test score.
 */
export interface Selection {
  name: string;
  goal: 'max' | 'min';
  /** Set when the default had to fall back to training metrics. */
  warning?: string;
}

/** What selection reads of an experiment (loose, so partial experiments such as a sweep plan's work too). */
export interface SelectionInput {
  training?: { metrics?: readonly string[]; selectBy?: { metric: string; goal?: string } };
  dataset?: { validationSplit?: number };
}

export function selectionMetric(experiment: SelectionInput): Selection {
  const chosen = experiment.training?.selectBy;
  if (chosen)
    return {
      name: chosen.metric,
      goal: chosen.goal === 'min' || chosen.goal === 'max' ? chosen.goal : metricGoal(chosen.metric),
    };
  // The schema's default metrics list is [accuracy].
  const base = (experiment.training?.metrics ?? ['accuracy']).includes('accuracy') ? 'accuracy' : 'loss';
  if ((experiment.dataset?.validationSplit ?? 0) > 0)
    return { name: splitKey('validation', base), goal: metricGoal(base) };
  return {
    name: base,
    goal: metricGoal(base),
    warning: `no validation split, so the best epoch is selected on the training ${base}; test metrics are reported, never selected on (set dataset.validationSplit, or training.selectBy)`,
  };
}

/** Is `value` an improvement over `best` by more than minDelta? */
export function improves(value: number, best: number | undefined, goal: 'max' | 'min', minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === undefined) return true;
  return goal === 'max' ? value > best + minDelta : value < best - minDelta;
}
