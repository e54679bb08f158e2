import { parse as parseYaml } from 'yaml';
import { createRng, deriveSeed, type Rng } from '../../util/random';
import { sameValue } from '../flatten';
import { DEFAULT_RANDOM_TRIALS, isRange, type ParamSpec, type RangeSpec, type SweepSpec } from './spec';

/**
 * Trials from a sweep spec. Grid: every combination, the first parameter
 * varying slowest (as nested loops read). Random: draws seeded from the
 * experiment's seed, so the same file plans the same trials; duplicates are
 * skipped. Each trial becomes `--set` overrides for `pipeline run`.
 */

export interface PlannedTrial {
  /** 1-based, stable: resume and tags use it. */
  index: number;
  params: Record<string, unknown>;
  /** `key=value` as `--set` takes it. */
  overrides: string[];
}

export interface Plan {
  trials: PlannedTrial[];
  /** Grid size before a `trials` cap, for telling the user what was cut. */
  gridSize?: number;
}

export function planTrials(spec: SweepSpec, seed: number): Plan {
  const keys = Object.keys(spec.parameters);
  if (spec.method === 'grid') {
    const lists = keys.map((k) => spec.parameters[k] as unknown[]);
    const gridSize = lists.reduce((n, l) => n * l.length, 1);
    const count = Math.min(gridSize, spec.trials ?? gridSize);
    const trials: PlannedTrial[] = [];
    for (let i = 0; i < count; i++) {
      // Mixed-radix digits of i, last parameter fastest.
      let rest = i;
      const values: unknown[] = new Array(keys.length);
      for (let k = keys.length - 1; k >= 0; k--) {
        values[k] = lists[k][rest % lists[k].length];
        rest = Math.floor(rest / lists[k].length);
      }
      trials.push(makeTrial(i + 1, keys, values));
    }
    return { trials, gridSize };
  }

  const count = spec.trials ?? DEFAULT_RANDOM_TRIALS;
  const rng = createRng(deriveSeed(seed, 'sweep'));
  const trials: PlannedTrial[] = [];
  const maxDraws = count * 100;
  for (let draws = 0; trials.length < count && draws < maxDraws; draws++) {
    const values = keys.map((k) => sample(spec.parameters[k], rng));
    // A repeat of an earlier trial would only measure seed noise it does not vary.
    if (trials.some((t) => keys.every((k, i) => sameValue(t.params[k], values[i])))) continue;
    trials.push(makeTrial(trials.length + 1, keys, values));
  }
  return { trials };
}

function makeTrial(index: number, keys: string[], values: unknown[]): PlannedTrial {
  const params: Record<string, unknown> = {};
  keys.forEach((k, i) => (params[k] = values[i]));
  return { index, params, overrides: keys.map((k, i) => `${k}=${yamlValue(values[i])}`) };
}

export function sample(p: ParamSpec, rng: Rng): unknown {
  if (!isRange(p)) return p[rng.int(p.length)];
  return sampleRange(p, rng.next());
}

/** u in [0, 1) to a value in the range. Floats keep 4 significant digits: trial configs stay readable. */
export function sampleRange(r: RangeSpec, u: number): number {
  if (r.type === 'int') {
    const lo = Math.ceil(r.min);
    const hi = Math.floor(r.max);
    if (r.scale === 'log') {
      // Log-uniform over [lo, hi + 1), floored: each integer gets the mass of its unit interval.
      const v = Math.floor(Math.exp(Math.log(lo) + u * (Math.log(hi + 1) - Math.log(lo))));
      return Math.min(hi, Math.max(lo, v));
    }
    return lo + Math.min(hi - lo, Math.floor(u * (hi - lo + 1)));
  }
  const v =
    r.scale === 'log'
      ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min)))
      : r.min + u * (r.max - r.min);
  return Number(v.toPrecision(4));
}

/** A value as `--set` parses it back (YAML scalar or flow collection), identical in type and value. */
export function yamlValue(v: unknown): string {
  if (typeof v === 'string') {
    try {
      if (v !== '' && parseYaml(v, { schema: 'core' }) === v && !/[,[\]{}#]/.test(v)) return v;
    } catch {
      // Deliberate: a string that is no YAML scalar on its own (parseYaml throws only for that) is quoted.
    }
    return JSON.stringify(v);
  }
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  return JSON.stringify(v);
}
