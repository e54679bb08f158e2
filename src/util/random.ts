/**
 * Seeded pseudo-random numbers shared by the data pipeline and the training
 * loop. xoshiro128** (fast, 128-bit state, passes BigCrush) seeded through
 * splitmix32, so neighbouring seeds (1, 2, 3...) give unrelated streams.
 * The state is four uint32s so a checkpoint can save and restore it exactly.
 */

export interface Rng {
  /** A float in [0, 1), 32 bits of randomness. */
  next(): number;
  /** An integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number;
  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: any }>(array: T): T;
  /** The full state, to save in a checkpoint. */
  getState(): [number, number, number, number];
  setState(state: readonly number[]): void;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new TypeError(`createRng: seed must be a finite number, got ${seed}`);
  const init = splitmix32(Math.trunc(seed));
  let a = init(),
    b = init(),
    c = init(),
    d = init();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c = (c ^ t) >>> 0;
    d = rotl(d >>> 0, 11);
    a >>>= 0;
    b >>>= 0;
    return result;
  };

  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > 4294967296)
        throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
      // Reject the top sliver that would make small values more likely.
      const limit = 4294967296 - (4294967296 % n);
      let x = nextU32();
      while (x >= limit) x = nextU32();
      return x % n;
    },
    shuffle(array) {
      for (let i = array.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = array[i];
        array[i] = array[j];
        array[j] = tmp;
      }
      return array;
    },
    getState: () => [a, b, c, d],
    setState(state) {
      if (state.length !== 4) throw new RangeError('Rng.setState: expected 4 uint32 values');
      [a, b, c, d] = state.map((v) => v >>> 0) as [number, number, number, number];
    },
  };
  return rng;
}

/**
 * A seed for one independent stream, derived from the experiment seed and a
 * label ('shuffle', epoch 3...). Streams for different purposes never share
 * numbers, so e.g. turning augmentation on does not change the shuffle order.
 */
export function deriveSeed(seed: number, ...parts: Array<string | number>): number {
  // FNV-1a over the parts, then mixed with the seed through splitmix32.
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = `${part}\u0000`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return splitmix32((Math.trunc(seed) ^ h) >>> 0)();
}
