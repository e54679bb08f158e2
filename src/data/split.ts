import { createRng, deriveSeed } from '../util/random';
import type { Split } from './types';

/**
 * Stratified, seeded subsets: `limit` and `validationSplit` keep each class's
 * share of the examples, and the same seed picks the same examples.
 */

/** Per-class counts of `y`. */
export function classCounts(y: Uint8Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  return counts;
}

/**
 * How many of `take` examples each class gets: proportional to its count,
 * rounded by largest remainder (ties to the lower class index) so the
 * quotas sum to exactly `take`.
 */
export function stratifiedQuotas(counts: number[], take: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (take >= total) return [...counts];
  const exact = counts.map((c) => (c * take) / total);
  const quotas = exact.map(Math.floor);
  let left = take - quotas.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    if (quotas[i] < counts[i]) {
      quotas[i]++;
      left--;
    }
  }
  return quotas;
}

/**
 * Choose `take` indices of `y`, stratified by class and seeded; returns
 * [chosen, rest], each in ascending index order (the source's order).
 */
export function stratifiedPick(
  y: Uint8Array,
  numClasses: number,
  take: number,
  seed: number,
): [Int32Array, Int32Array] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < y.length; i++) byClass[y[i]].push(i);
  const quotas = stratifiedQuotas(
    byClass.map((c) => c.length),
    take,
  );
  const rng = createRng(seed);
  const chosen = new Uint8Array(y.length);
  byClass.forEach((indices, c) => {
    rng.shuffle(indices);
    for (let k = 0; k < quotas[c]; k++) chosen[indices[k]] = 1;
  });
  const picked = new Int32Array(quotas.reduce((a, b) => a + b, 0));
  const rest = new Int32Array(y.length - picked.length);
  let p = 0;
  let r = 0;
  for (let i = 0; i < y.length; i++) {
    if (chosen[i]) picked[p++] = i;
    else rest[r++] = i;
  }
  return [picked, rest];
}

/** The examples at `indices`, copied into a new split. */
export function gather(split: Split, indices: Int32Array, sampleSize: number): Split {
  const x = new Uint8Array(indices.length * sampleSize);
  const y = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    x.set(split.x.subarray(i * sampleSize, (i + 1) * sampleSize), k * sampleSize);
    y[k] = split.y[i];
  }
  return { x, y, n: indices.length };
}

/** A stratified subset of at most `limit` examples (the split itself when it is no larger). */
export function limitSplit(
  split: Split,
  limit: number | undefined,
  numClasses: number,
  sampleSize: number,
  seed: number,
  stream: string,
): Split {
  if (limit === undefined || limit >= split.n) return split;
  const [picked] = stratifiedPick(split.y, numClasses, limit, deriveSeed(seed, 'limit', stream));
  return gather(split, picked, sampleSize);
}

/** Number of examples a validation fraction holds out of n (at least 1 when the fraction is positive). */
export function validationCount(n: number, fraction: number): number {
  if (!(fraction > 0) || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/** Hold out a stratified `fraction` of `split` for validation. */
export function holdOut(
  split: Split,
  fraction: number,
  numClasses: number,
  sampleSize: number,
  seed: number,
): { train: Split; validation?: Split } {
  const count = validationCount(split.n, fraction);
  if (count === 0) return { train: split };
  const [held, kept] = stratifiedPick(split.y, numClasses, count, deriveSeed(seed, 'validation'));
  return { train: gather(split, kept, sampleSize), validation: gather(split, held, sampleSize) };
}
