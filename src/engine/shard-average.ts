/**
 * The arithmetic of the data-parallel gradient average, in one place, so that the exchange
 * between replicas (pipeline/parallel/exchange.ts, average-wasm.ts) and a single replica that reduces its batch
 * in the same shards (direct/direct-step.ts) round identically:
 *
 *   average[e] = float32( sum over non-empty shards k, in shard order, of (size_k / total) * g_k[e] )
 *
 * with g_k the gradient of shard k's mean loss, the sum taken in float64 starting from 0 and
 * rounded once to float32.
 */

export interface ShardPart {
  /** The shard's index (replica order). */
  k: number;
  /** Its share of the batch, size_k / total. */
  w: number;
}

/** The non-empty shards of a batch split into `sizes`, with their weights, in order. */
export function shardWeights(sizes: readonly number[]): ShardPart[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const parts: ShardPart[] = [];
  sizes.forEach((size, k) => {
    if (size > 0) parts.push({ k, w: size / total });
  });
  return parts;
}

/** out[e] = float32(sum over parts, in order, of w * src[e]) in float64 (see the top of this file). */
export function weightedSumInto(out: Float32Array, parts: ReadonlyArray<{ w: number; src: Float32Array }>): void {
  if (parts.length === 1) {
    const { w, src } = parts[0];
    if (w === 1) out.set(src.subarray(0, out.length));
    else for (let e = 0; e < out.length; e++) out[e] = w * src[e];
  } else if (parts.length === 2) {
    // The common case (two shards), as the wasm loop in average-wasm.ts computes it.
    const [{ w: wa, src: a }, { w: wb, src: b }] = parts;
    for (let e = 0; e < out.length; e++) out[e] = wa * a[e] + wb * b[e];
  } else {
    for (let e = 0; e < out.length; e++) {
      let acc = 0;
      for (const p of parts) acc += p.w * p.src[e];
      out[e] = acc;
    }
  }
}
