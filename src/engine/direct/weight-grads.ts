import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import { shardWeights, weightedSumInto } from '../shard-average';
import type { Shard } from '../shards';
import { size, view, type CallScope } from './call-scope';

/**
 * How the direct step hands over a weight's gradient (an engine tensor in the variable's
 * shape, in `grads` under the variable's name), reduced as the data-parallel exchange reduces
 * it: `partial(s)` of each non-empty shard, then the shards' weighted average (shard-average.ts).
 */
export interface WeightGrads {
  /** The non-empty shards, in order. */
  readonly shards: Shard[];
  /** A weight's gradient from each shard's own partial gradient. */
  weightGrad(v: tfjs.LayerVariable, partial: (s: Shard, k: number) => TensorInfo): void;
  /** A bias gradient: dz's column sums over each shard's rows. */
  biasGrad(v: tfjs.LayerVariable, dz: TensorInfo, cols: number): void;
  /** A gradient computed whole (a layer that mixes rows), handed over as is. */
  wholeGrad(v: tfjs.LayerVariable, t: TensorInfo): void;
}

/** `penalties`: a regularized weight's penalty gradient, added to each shard's partial (each replica's loss has the penalty). */
export function weightGrads(
  scope: CallScope,
  grads: tfjs.NamedTensorMap,
  all: Shard[],
  penalties: ReadonlyMap<tfjs.LayerVariable, TensorInfo> = new Map(),
): WeightGrads {
  const { alloc, loops, ptr, heapF32 } = scope;
  const parts = shardWeights(all.map((s) => s.size));
  const shards = parts.map((p) => all[p.k]);
  const keep = (v: tfjs.LayerVariable, t: TensorInfo) => {
    grads[(v.read() as tfjs.Variable).name] = scope.export(t, v.shape as number[]);
  };
  const average = (partials: TensorInfo[]): TensorInfo => {
    const out = alloc(partials[0].shape);
    const n = size(out.shape);
    // Views after the allocation (it may grow the heap).
    if (parts.length === 2) {
      // The common case, as a wasm SIMD loop (~8x the JS one) over pairs, and a last odd element the same way in JS.
      const even = n & ~1;
      loops().averageTwo(ptr(out), ptr(partials[0]), ptr(partials[1]), even, parts[0].w, parts[1].w);
      if (even < n)
        weightedSumInto(
          heapF32(out).subarray(even),
          partials.map((t, i) => ({ w: parts[i].w, src: heapF32(t).subarray(even) })),
        );
    } else {
      weightedSumInto(
        heapF32(out),
        partials.map((t, i) => ({ w: parts[i].w, src: heapF32(t) })),
      );
    }
    return out;
  };
  const withPenalty = (v: tfjs.LayerVariable, g: TensorInfo): TensorInfo => {
    const p = penalties.get(v);
    return p ? scope.run('Add', { a: g, b: view(p, g.shape) }, {}) : g;
  };
  const weightGrad: WeightGrads['weightGrad'] = (v, partial) => {
    if (parts.length === 1) return keep(v, withPenalty(v, partial(shards[0], 0)));
    keep(v, average(shards.map((s, k) => withPenalty(v, partial(s, k)))));
  };
  return {
    shards,
    weightGrad,
    biasGrad: (v, dz, cols) =>
      weightGrad(v, (s) => {
        const out = alloc([cols]);
        const rowFloats = size(dz.shape.slice(1));
        loops().columnSum(ptr(dz) + 4 * s.offset * rowFloats, ptr(out), (s.size * rowFloats) / cols, cols);
        return out;
      }),
    wholeGrad: keep,
  };
}
