import { createRng, deriveSeed, type Rng } from '../../../util/random';
import { sampleRange } from '../plan';
import { isRange, type ParamSpec, type RangeSpec } from '../spec';

/**
 * Tree-structured Parzen estimator (Bergstra et al. 2011), the way Optuna's
 * default sampler does it, univariate: after `startup` random trials, the
 * finished trials are split into the best gamma(n) ("good") and the rest
 * ("bad"); for each parameter a Parzen estimator (a mixture of truncated
 * normals, one per observation plus a prior over the whole range; for choices,
 * smoothed counts) is fitted to each group, `candidates` values are drawn from
 * the good one, and the value with the highest good/bad density ratio wins.
 * Ranges marked log are modelled in log space, int ranges on the real line and
 * rounded. Everything is drawn from a generator seeded by (seed, trial index),
 * so the same results in the same order propose the same trials.
 */

export interface Observation {
  params: Record<string, unknown>;
  /** The sweep metric; undefined for a trial that has no value (it counts as bad). */
  value: number | undefined;
}

export interface TpeOptions {
  goal: 'max' | 'min';
  seed: number;
  /** Random trials before the model is used (Optuna: 10). */
  startup?: number;
  /** Draws from the good density per parameter (Optuna: 24). */
  candidates?: number;
}

export const TPE_STARTUP = 10;
const CANDIDATES = 24;
const PRIOR_WEIGHT = 1;

/** How many of n observations are "good" (Optuna's default gamma). */
export function gamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default weights: flat for < 25 observations, else older ones ramp down. */
export function observationWeights(n: number): number[] {
  if (n < 25) return new Array(n).fill(1);
  const ramp = n - 25;
  return Array.from({ length: n }, (_, i) => (i < ramp ? 1 / n + (i * (1 - 1 / n)) / Math.max(1, ramp - 1) : 1));
}

/**
 * Parameters for trial `index` (1-based) given the observations so far, in the order they
 * finished. Below `startup` observations: a random draw, as random search would make.
 */
export function proposeTpe(
  parameters: Record<string, ParamSpec>,
  observations: Observation[],
  index: number,
  opts: TpeOptions,
): Record<string, unknown> {
  const rng = createRng(deriveSeed(opts.seed, 'tpe', index));
  const scored = observations.filter((o) => o.value === undefined || Number.isFinite(o.value));
  const out: Record<string, unknown> = {};
  if (scored.length < (opts.startup ?? TPE_STARTUP)) {
    for (const [k, p] of Object.entries(parameters))
      out[k] = isRange(p) ? sampleRange(p, rng.next()) : p[rng.int(p.length)];
    return out;
  }
  const { good, bad } = split(scored, opts.goal);
  const n = opts.candidates ?? CANDIDATES;
  for (const [k, p] of Object.entries(parameters)) {
    out[k] = isRange(p)
      ? proposeRange(
          p,
          good.map((o) => o.params[k]),
          bad.map((o) => o.params[k]),
          rng,
          n,
        )
      : proposeChoice(
          p,
          good.map((o) => o.params[k]),
          bad.map((o) => o.params[k]),
          rng,
          n,
        );
  }
  return out;
}

/** Best gamma(n) by goal (ties by order), the rest bad; trials without a value are always bad. */
export function split(obs: Observation[], goal: 'max' | 'min'): { good: Observation[]; bad: Observation[] } {
  const valued = obs.map((o, i) => ({ o, i })).filter((x) => x.o.value !== undefined);
  const sign = goal === 'max' ? -1 : 1;
  valued.sort((a, b) => sign * (a.o.value! - b.o.value!) || a.i - b.i);
  const k = Math.min(gamma(obs.length), valued.length);
  const goodIdx = new Set(valued.slice(0, k).map((x) => x.i));
  return { good: obs.filter((_, i) => goodIdx.has(i)), bad: obs.filter((_, i) => !goodIdx.has(i)) };
}

// ---- numeric parameters: mixtures of truncated normals ----

interface Mixture {
  mus: number[];
  sigmas: number[];
  weights: number[];
  low: number;
  high: number;
}

/** The space a range is modelled in: log for log ranges; int ranges widened by half a step each side. */
function bounds(r: RangeSpec): { low: number; high: number; to: (v: number) => number; from: (x: number) => number } {
  const lo = r.type === 'int' ? Math.ceil(r.min) - 0.5 : r.min;
  const hi = r.type === 'int' ? Math.floor(r.max) + 0.5 : r.max;
  if (r.scale === 'log')
    return { low: Math.log(Math.max(lo, 1e-12)), high: Math.log(hi), to: Math.log, from: Math.exp };
  return { low: lo, high: hi, to: (v) => v, from: (x) => x };
}

/** Optuna's Parzen estimator: a kernel per observation and a wide prior; bandwidths from the neighbours' gaps, clipped. */
export function fitMixture(xs: number[], low: number, high: number): Mixture {
  const n = xs.length;
  const w = observationWeights(n);
  const mus = [...xs, (low + high) / 2];
  const weights = [...w, PRIOR_WEIGHT];
  const order = mus.map((m, i) => ({ m, i })).sort((a, b) => a.m - b.m);
  const sorted = [low, ...order.map((x) => x.m), high];
  const sigmas = new Array<number>(mus.length);
  order.forEach(({ i }, j) => {
    sigmas[i] = Math.max(sorted[j + 1] - sorted[j], sorted[j + 2] - sorted[j + 1]);
  });
  const maxSigma = high - low;
  const minSigma = (high - low) / Math.min(100, 1 + n);
  for (let i = 0; i < mus.length; i++) sigmas[i] = Math.min(maxSigma, Math.max(minSigma, sigmas[i]));
  sigmas[mus.length - 1] = maxSigma; // the prior is as wide as the range
  const total = weights.reduce((a, b) => a + b, 0);
  return { mus, sigmas, weights: weights.map((x) => x / total), low, high };
}

export function mixtureLogPdf(m: Mixture, x: number): number {
  let p = 0;
  for (let i = 0; i < m.mus.length; i++) {
    const mass = phi((m.high - m.mus[i]) / m.sigmas[i]) - phi((m.low - m.mus[i]) / m.sigmas[i]);
    const z = (x - m.mus[i]) / m.sigmas[i];
    p += (m.weights[i] * Math.exp(-0.5 * z * z)) / (m.sigmas[i] * Math.sqrt(2 * Math.PI) * Math.max(mass, 1e-12));
  }
  return Math.log(Math.max(p, 1e-300));
}

function sampleMixture(m: Mixture, rng: Rng): number {
  let u = rng.next();
  let k = 0;
  while (k < m.weights.length - 1 && u >= m.weights[k]) u -= m.weights[k++];
  for (let tries = 0; tries < 100; tries++) {
    const x = m.mus[k] + m.sigmas[k] * normal(rng);
    if (x >= m.low && x <= m.high) return x;
  }
  return Math.min(m.high, Math.max(m.low, m.mus[k]));
}

function proposeRange(r: RangeSpec, good: unknown[], bad: unknown[], rng: Rng, n: number): number {
  const b = bounds(r);
  const xs = (vals: unknown[]) =>
    vals
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
      .map((v) => Math.min(b.high, Math.max(b.low, b.to(v))));
  const l = fitMixture(xs(good), b.low, b.high);
  const g = fitMixture(xs(bad), b.low, b.high);
  let best = NaN;
  let bestScore = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = sampleMixture(l, rng);
    const score = mixtureLogPdf(l, x) - mixtureLogPdf(g, x);
    if (score > bestScore) [best, bestScore] = [x, score];
  }
  // Back to the parameter's own space, rounded the way random search rounds.
  const u = (best - b.low) / (b.high - b.low);
  if (r.type === 'int') return Math.min(Math.floor(r.max), Math.max(Math.ceil(r.min), Math.round(b.from(best))));
  return sampleRange(r, Math.min(1 - 1e-12, Math.max(0, u)));
}

// ---- choices: smoothed counts ----

function choiceProbs(choices: unknown[], seen: unknown[]): number[] {
  const w = observationWeights(seen.length);
  const counts = choices.map(() => PRIOR_WEIGHT / choices.length);
  seen.forEach((v, i) => {
    const j = choices.findIndex((c) => JSON.stringify(c) === JSON.stringify(v));
    if (j >= 0) counts[j] += w[i];
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => c / total);
}

function proposeChoice(choices: unknown[], good: unknown[], bad: unknown[], rng: Rng, n: number): unknown {
  const l = choiceProbs(choices, good);
  const g = choiceProbs(choices, bad);
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < n; i++) {
    let u = rng.next();
    let j = 0;
    while (j < l.length - 1 && u >= l[j]) u -= l[j++];
    const score = Math.log(l[j]) - Math.log(g[j]);
    if (score > bestScore) [best, bestScore] = [j, score];
  }
  return choices[best];
}

// ---- numerics ----

/** Standard normal from two uniforms (Box-Muller). */
function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
