import { parse as parseYaml } from 'yaml';
import { UsageError } from '../../errors';
import { parsePath } from '../../config/paths';
import { metricGoal, selectionMetric, type SelectionInput } from '../../run-format/metrics';

/**
 * What a sweep varies and how it ranks trials: from the experiment file's
 * `sweep:` section (validated by the schema), then the command line on top
 * (`--param key=a,b` replaces or adds a parameter; --method, --trials,
 * --parallel, --metric, --goal, --early-stop replace their setting).
 */

export interface RangeSpec {
  min: number;
  max: number;
  scale: 'linear' | 'log';
  type: 'int' | 'float';
}
export type ParamSpec = unknown[] | RangeSpec;

export interface EarlyStopSpec {
  /** median: below the median of the others at the same epoch; asha: successive halving at rungs. */
  type: 'median' | 'asha';
  /** Epochs every trial runs before the rule may stop it. */
  minEpochs: number;
  /** Trials that must have reached an epoch before a median there means anything. */
  minTrials: number;
  /** asha: keep the best 1/reductionFactor at each rung (rungs at minEpochs * reductionFactor^k). */
  reductionFactor?: number;
}

export interface SweepSpec {
  /** tpe: random startup trials, then each next trial from the results so far (search/tpe.ts). */
  method: 'grid' | 'random' | 'tpe';
  parameters: Record<string, ParamSpec>;
  /** Cap on trials; random search draws this many (default 10). */
  trials?: number;
  metric: string;
  goal: 'max' | 'min';
  parallel: number;
  earlyStopping?: EarlyStopSpec;
}

export interface SweepFlags {
  params?: string[];
  method?: string;
  trials?: string | number;
  parallel?: string | number;
  metric?: string;
  goal?: string;
  earlyStop?: boolean | string;
}

export const DEFAULT_RANDOM_TRIALS = 10;
export const DEFAULT_MEDIAN_MIN_TRIALS = 3;
export const DEFAULT_ASHA_REDUCTION = 3;

export function isRange(p: ParamSpec): p is RangeSpec {
  return !Array.isArray(p) && typeof p === 'object' && p !== null;
}

/**
 * `key=a,b,c` (values as YAML scalars or flow lists: `kernelSize=[3,3],[5,5]`) or a range
 * `key=MIN..MAX[:log][:int]` for random search.
 */
export function parseParamFlag(raw: string): [string, ParamSpec] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`--param ${raw}: expected key=a,b,c or key=MIN..MAX[:log][:int]`);
  const key = raw.slice(0, eq).trim();
  const text = raw.slice(eq + 1).trim();
  if (!parsePath(key))
    throw new UsageError(`--param ${raw}: "${key}" is not a dotted path like training.optimizer.learningRate`);
  const range =
    /^(-?[0-9.]+(?:e[-+]?[0-9]+)?)\s*\.\.\s*(-?[0-9.]+(?:e[-+]?[0-9]+)?)((?::(?:log|linear|int|float))*)$/i.exec(text);
  if (range) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    const opts = range[3].toLowerCase().split(':').filter(Boolean);
    if (!Number.isFinite(min) || !Number.isFinite(max) || min >= max)
      throw new UsageError(`--param ${raw}: a range needs MIN < MAX`);
    const spec: RangeSpec = {
      min,
      max,
      scale: opts.includes('log') ? 'log' : 'linear',
      type: opts.includes('int') ? 'int' : 'float',
    };
    checkRange(key, spec);
    return [key, spec];
  }
  let values: unknown;
  try {
    values = parseYaml(`[${text}]`, { schema: 'core', customTags: [], maxAliasCount: 0 });
  } catch (e) {
    // The position would count from the brackets added above: leave it out.
    const why = (e as Error).message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new UsageError(`--param ${raw}: values are not valid YAML: ${why}`);
  }
  if (!Array.isArray(values) || values.length === 0 || text === '')
    throw new UsageError(`--param ${raw}: give at least one value`);
  return [key, values.map((v) => (v === undefined ? null : v))];
}

function checkRange(key: string, r: RangeSpec): void {
  if (r.scale === 'log' && r.min <= 0)
    throw new UsageError(`sweep parameter ${key}: a log-scale range needs min > 0, got ${r.min}`);
  if (!(r.min < r.max)) throw new UsageError(`sweep parameter ${key}: min must be below max`);
  if (r.type === 'int' && Math.ceil(r.min) > Math.floor(r.max))
    throw new UsageError(`sweep parameter ${key}: no whole number between ${r.min} and ${r.max}`);
}

function positiveInt(name: string, v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number >= 1, got "${v}"`);
  return n;
}

/** The metric trials rank by when nobody chose one: the experiment's selection metric (training.selectBy or its default). */
export function defaultMetric(experiment: SelectionInput): { metric: string; goal: 'max' | 'min' } {
  const s = selectionMetric(experiment);
  return { metric: s.name, goal: s.goal };
}

/** The resolved `sweep:` section, as far as this file reads it (the schema has checked it). */
interface SweepSection {
  method?: string;
  parameters?: Record<string, unknown>;
  trials?: number;
  metric?: string;
  goal?: string;
  parallel?: number;
  earlyStopping?: { type: 'median' | 'asha'; minEpochs?: number; minTrials?: number; reductionFactor?: number };
}

/** The sweep settings: the command line's flags over the resolved `sweep:` section (schema defaults filled). */
export function buildSpec(experiment: SelectionInput & { sweep?: unknown }, flags: SweepFlags): SweepSpec {
  const section = (experiment.sweep ?? undefined) as SweepSection | undefined;
  const parameters = sweepParameters(section, flags);
  const method = sweepMethod(section, flags, parameters);
  const { metric, goal } = sweepMetric(experiment, section, flags);
  const earlyStopping = sweepEarlyStopping(section, flags);
  return {
    method,
    parameters,
    trials: positiveInt('trials', flags.trials) ?? section?.trials,
    metric,
    goal,
    parallel: positiveInt('parallel', flags.parallel) ?? section?.parallel ?? 1,
    ...(earlyStopping ? { earlyStopping } : {}),
  };
}

/** The file's parameters, then each --param (replacing one of the same key, in the command line's order). */
function sweepParameters(section: SweepSection | undefined, flags: SweepFlags): Record<string, ParamSpec> {
  const parameters: Record<string, ParamSpec> = {};
  for (const [k, v] of Object.entries(section?.parameters ?? {})) {
    if (Array.isArray(v)) parameters[k] = v;
    else {
      const r = v as Partial<RangeSpec>;
      const spec: RangeSpec = {
        min: Number(r.min),
        max: Number(r.max),
        scale: r.scale ?? 'linear',
        type: r.type ?? 'float',
      };
      checkRange(k, spec);
      parameters[k] = spec;
    }
  }
  for (const raw of flags.params ?? []) {
    const [k, v] = parseParamFlag(raw);
    delete parameters[k]; // the command line's order wins for keys it names
    parameters[k] = v;
  }
  if (Object.keys(parameters).length === 0) {
    throw new UsageError('nothing to sweep: add a `sweep:` section with parameters to the file, or --param key=a,b');
  }
  return parameters;
}

function sweepMethod(
  section: SweepSection | undefined,
  flags: SweepFlags,
  parameters: Record<string, ParamSpec>,
): SweepSpec['method'] {
  const method = (flags.method ?? section?.method ?? 'grid') as string;
  if (method !== 'grid' && method !== 'random' && method !== 'tpe')
    throw new UsageError(`--method must be grid, random or tpe, got "${method}"`);
  if (method === 'grid') {
    const ranges = Object.entries(parameters).filter(([, p]) => isRange(p));
    if (ranges.length)
      throw new UsageError(
        `grid search needs a list of values for ${ranges.map(([k]) => k).join(', ')}; a {min, max} range is for --method random or tpe`,
      );
  }
  return method;
}

/** The metric: the command line, else what the file wrote, else the experiment's main metric; its goal likewise. */
function sweepMetric(
  experiment: SelectionInput,
  section: SweepSection | undefined,
  flags: SweepFlags,
): { metric: string; goal: 'max' | 'min' } {
  const fallback = defaultMetric(experiment);
  const metric = flags.metric ?? section?.metric ?? fallback.metric;
  const goal = flags.goal ?? section?.goal ?? (metric === fallback.metric ? fallback.goal : metricGoal(metric));
  if (goal !== 'max' && goal !== 'min') throw new UsageError(`--goal must be max or min, got "${goal}"`);
  return { metric, goal };
}

/** --early-stop (median or asha, with defaults), else the file's earlyStopping, else none. */
function sweepEarlyStopping(section: SweepSection | undefined, flags: SweepFlags): EarlyStopSpec | undefined {
  const es = flags.earlyStop;
  if (es === true || es === 'median') return { type: 'median', minEpochs: 1, minTrials: DEFAULT_MEDIAN_MIN_TRIALS };
  if (es === 'asha')
    return {
      type: 'asha',
      minEpochs: 1,
      minTrials: DEFAULT_MEDIAN_MIN_TRIALS,
      reductionFactor: DEFAULT_ASHA_REDUCTION,
    };
  if (es !== undefined && es !== false) throw new UsageError(`--early-stop supports "median" or "asha", got "${es}"`);
  const file = section?.earlyStopping;
  if (!file) return undefined;
  return {
    type: file.type,
    ...(file.type === 'asha' ? { reductionFactor: file.reductionFactor ?? DEFAULT_ASHA_REDUCTION } : {}),
    minEpochs: file.minEpochs ?? 1,
    minTrials: file.minTrials ?? DEFAULT_MEDIAN_MIN_TRIALS,
  };
}
