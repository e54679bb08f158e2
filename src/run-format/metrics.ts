import { METRICS } from '../builders/metrics';
import type { MainMetric, MetricsRow, RunSummary, StoredMeta, Summary } from './types';

/**
 * The facts about metrics that the run folder records and every reader relies on, decided
 * here only: how a split's metric is named in metrics.jsonl, which way is better, which
 * metric selects the best epoch, and which epoch that is.
 */

/** Per-epoch metric names (docs/run-folder.md): `loss`, `accuracy` on train; `valLoss`, `testAccuracy`... on the other splits. */
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

export function splitKey(split: 'train' | 'validation' | 'test', key: string): string {
  return split === 'train' ? key : (split === 'validation' ? 'val' : 'test') + cap(key);
}

/** The metric a row name measures, without its split prefix: valTop5Accuracy -> top5Accuracy. */
export function baseMetric(name: string): string {
  const m = /^(val|test)([A-Z].*)$/.exec(name);
  return m ? m[2][0].toLowerCase() + m[2].slice(1) : name;
}

/** Names that are no registry metric but go down: errors, durations (`seconds`) and the like. */
const LOWER_IS_BETTER = /loss|error|mse|mae|seconds/i;

/**
 * Better is higher or lower: losses go down, a registry metric goes its registry's way, and any
 * other column (`seconds`, a metric of a newer pipeline) down when its name says it measures
 * an error or a cost, else up.
 */
export function metricGoal(name: string): 'max' | 'min' {
  const base = baseMetric(name);
  if (base === 'loss') return 'min';
  return METRICS.get(base)?.goal ?? (LOWER_IS_BETTER.test(base) ? 'min' : 'max');
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

/** The row with the best finite value of `by` (the first of equals), or undefined when no row has one. */
export function bestEpoch(rows: readonly MetricsRow[], by: MainMetric): MetricsRow | undefined {
  let best: MetricsRow | undefined;
  for (const r of rows) if (improves(r[by.name], best?.[by.name], by.goal)) best = r;
  return best;
}

/** The best finite value among `values` (missing and NaN ones skipped), or undefined. */
export function bestValue(values: ReadonlyArray<number | undefined>, goal: 'max' | 'min'): number | undefined {
  let best: number | undefined;
  for (const v of values) if (typeof v === 'number' && improves(v, best, goal)) best = v;
  return best;
}

/** summary.json for these rows: the last epoch, and the best by `by` (the last when none has a finite value). */
export function summarize(rows: readonly MetricsRow[], by: MainMetric): Summary | undefined {
  if (rows.length === 0) return undefined;
  const final = rows[rows.length - 1];
  return { final, best: bestEpoch(rows, by) ?? final, bestBy: by.name, bestGoal: by.goal, epochs: rows.length };
}

/** What runs from before the main metric was recorded were ranked by. */
export const DEFAULT_MAIN_METRIC: MainMetric = { name: 'testAccuracy', goal: 'max' };

/**
 * The metric that selected a run's best epoch: summary.json's bestBy (its one owner), else what
 * meta.json recorded at the start (a run before its first epoch), else the old default.
 */
export function runMainMetric(summary: RunSummary | undefined, meta: StoredMeta | undefined): MainMetric {
  if (typeof summary?.bestBy === 'string')
    return { name: summary.bestBy, goal: summary.bestGoal ?? meta?.mainMetric?.goal ?? metricGoal(summary.bestBy) };
  return meta?.mainMetric ?? DEFAULT_MAIN_METRIC;
}
