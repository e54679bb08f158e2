import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import { shardVectors, type BatchRows, type ShardVector } from '../row-gather';
import { shardWeights, weightedSumInto } from '../shard-average';
import type { Shard } from '../shards';
import type { TF } from '../types';
import { size, type CallScope } from './call-scope';
import type { DirectOp } from './plan';
import type { WeightGrads } from './weight-grads';

/**
 * Batch normalization in training, for tfjs-layers' arithmetic (normalizeBatchInTraining:
 * y = gamma * (x - mean) / sqrt(var + eps) + beta, with the batch's mean and biased variance over
 * every axis but the last, as tf.moments defines them; the moving statistics updated as the
 * layer's doMovingAverage does), in wasm loops
 * (kernels/assembly/batch-norm-grad.ts) and closed-form gradients:
 *   dbeta = sum dy;  dgamma = sum dy * xhat;  dx = gamma / sqrt(var + eps) * (dy - (dbeta + xhat * dgamma) / m)
 *
 * Over the whole batch however it is split. Each sum is taken per shard of the batch (the shards a
 * lone replica reduces its gradient in, or this replica's shard and the others' through the row
 * gather) and the shards' sums are combined in shard order by the same JS on every replica, so
 * that one worker and two compute the same bits: in the forward pass each shard's sum and squared
 * deviations about its own mean (one exchange between replicas per layer), in the backward pass
 * its dbeta and dgamma (one more). The normalization itself is the FusedBatchNorm kernel
 * (kernels/batch-norm.ts) on those statistics. Gradients are in the direct step's shard units
 * (each shard's rows carry the gradient of that shard's mean loss): the whole batch's dbeta and
 * dgamma are the shards' sums weighted by their share of the batch (shard-average.ts), and each
 * shard divides by its own row count m.
 */

type BatchNorm = Extract<DirectOp, { kind: 'batchNorm' }>;

/** What the forward pass keeps for the backward, per channel: the mean, 1 / sqrt(var + eps), and gamma times it. */
export interface BatchNormStats {
  mean: TensorInfo;
  inv: TensorInfo;
  scale: TensorInfo;
}

/** The [rows, channels] view of x: channels, and rows per example (the spatial positions). */
function layout(x: TensorInfo): { cols: number; perExample: number } {
  const cols = x.shape[x.shape.length - 1];
  return { cols, perExample: size(x.shape) / (x.shape[0] * cols) };
}

/** One shard's rows of x: their first float's byte offset from x's, and their count. */
const rowsOf = (s: Shard, cols: number, perExample: number) => ({
  byteOffset: 4 * s.offset * perExample * cols,
  rows: s.size * perExample,
});

/**
 * One shard's [sum x | sum (x - m)^2] per channel, m the shard's own mean (rounded to float32): what the
 * replicas exchange once per layer and pass, where the whole batch's mean first and then its squared
 * deviations would take two meetings.
 */
function shardMoments(scope: CallScope, x: TensorInfo, at: { byteOffset: number; rows: number }, cols: number) {
  const loops = scope.loops();
  const sums = columns(scope, cols, (out) => loops.batchNormSums(scope.ptr(x) + at.byteOffset, out, at.rows, cols));
  const own = scope.write(
    sums.map((v) => v / at.rows),
    [cols],
  );
  const squares = columns(scope, cols, (out) =>
    loops.batchNormSquares(scope.ptr(x) + at.byteOffset, scope.ptr(own), out, at.rows, cols),
  );
  const out = new Float32Array(2 * cols);
  out.set(sums);
  out.set(squares, cols);
  return out;
}

/**
 * The batch's mean and (biased) variance from every shard's moments, in shard order, in float64, each rounded
 * once: the mean of the sums, and the squared deviations about each shard's mean moved to the batch's mean
 * (Chan, Golub and LeVeque's pairwise update: m2 + rows * (shardMean - mean)^2).
 */
function moments(vectors: ShardVector[], cols: number, perExample: number) {
  const rows = vectors.reduce((a, v) => a + v.rows, 0) * perExample;
  const mean = new Float32Array(cols);
  const variance = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (const v of vectors) sum += v.values[c];
    const m = sum / rows;
    let m2 = 0;
    for (const v of vectors) {
      const r = v.rows * perExample;
      const d = Math.fround(v.values[c] / r) - m;
      m2 += v.values[cols + c] + r * d * d;
    }
    mean[c] = m;
    variance[c] = m2 / rows;
  }
  return { mean, variance };
}

/** A per-shard column loop into a fresh vector of `floats`, read out of the heap. */
function columns(scope: CallScope, floats: number, fill: (out: number) => void): Float32Array {
  const out = scope.alloc([floats]);
  fill(scope.ptr(out));
  return scope.heapF32(out).slice();
}

/** The layer's doMovingAverage: v - (v - value) * (1 - momentum), in tfjs ops as the layer computes it. */
function updateMoving(tf: TF, variable: tfjs.LayerVariable, value: Float32Array, momentum: number): void {
  tf.tidy(() => {
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, tf.tensor1d(value)), 1 - momentum)));
  });
}

/** The training-mode forward pass: y, and the statistics the backward pass reads. */
export function batchNormForward(
  tf: TF,
  scope: CallScope,
  op: BatchNorm,
  x: TensorInfo,
  batch: BatchRows,
): { y: TensorInfo; stats: BatchNormStats } {
  const { cols, perExample } = layout(x);
  const at = (s: Shard) => rowsOf(s, cols, perExample);
  const { mean, variance } = moments(
    shardVectors(batch, (s) => shardMoments(scope, x, at(s), cols)),
    cols,
    perExample,
  );
  const gamma = op.gamma ? scope.heapF32(scope.read(op.gamma)).slice() : undefined;
  const inv = new Float32Array(cols);
  const scale = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    // As the FusedBatchNorm kernel computes its factor: scale / sqrt(variance + epsilon) in float64.
    const root = Math.sqrt(variance[c] + op.epsilon);
    inv[c] = 1 / root;
    scale[c] = (gamma ? gamma[c] : 1) / root;
  }
  const stats = { mean: scope.write(mean, [cols]), inv: scope.write(inv, [cols]), scale: scope.write(scale, [cols]) };
  const y = scope.run(
    'FusedBatchNorm',
    {
      x,
      mean: stats.mean,
      variance: scope.write(variance, [cols]),
      scale: op.gamma ? scope.read(op.gamma) : undefined,
      offset: op.beta ? scope.read(op.beta) : undefined,
    },
    { varianceEpsilon: op.epsilon },
  );
  const layer = op.layer as unknown as {
    movingMean: tfjs.LayerVariable;
    movingVariance: tfjs.LayerVariable;
    momentum: number;
  };
  updateMoving(tf, layer.movingMean, mean, layer.momentum);
  updateMoving(tf, layer.movingVariance, variance, layer.momentum);
  return { y, stats };
}

/** dx, with gamma's and beta's gradients handed to `w`. */
export function batchNormBackward(
  scope: CallScope,
  op: BatchNorm,
  x: TensorInfo,
  dy: TensorInfo,
  stats: BatchNormStats,
  batch: BatchRows,
  w: WeightGrads,
): TensorInfo {
  const { cols, perExample } = layout(x);
  const loops = scope.loops();
  const { ptr } = scope;
  const at = (s: Shard) => rowsOf(s, cols, perExample);
  // [dbeta | dgamma] of each own shard (kept for the weight gradients), then of every shard.
  const own = new Map<number, Float32Array>();
  const all = shardVectors(batch, (s) => {
    const { byteOffset, rows } = at(s);
    const v = columns(scope, 2 * cols, (out) =>
      loops.batchNormGradSums(
        ptr(x) + byteOffset,
        ptr(dy) + byteOffset,
        ptr(stats.mean),
        ptr(stats.inv),
        out,
        rows,
        cols,
      ),
    );
    own.set(s.offset, v);
    return v;
  });
  const whole = new Float32Array(2 * cols);
  const parts = shardWeights(all.map((v) => v.rows));
  weightedSumInto(
    whole,
    parts.map((p) => ({ w: p.w, src: all[p.k].values })),
  );
  const wholeT = scope.write(whole, [2 * cols]);
  const dx = scope.alloc(x.shape);
  for (const s of batch.shards) {
    if (s.size === 0) continue;
    const { byteOffset, rows } = at(s);
    loops.batchNormGradApply(
      ptr(x) + byteOffset,
      ptr(dy) + byteOffset,
      ptr(stats.mean),
      ptr(stats.inv),
      ptr(stats.scale),
      ptr(wholeT),
      ptr(dx) + byteOffset,
      rows,
      cols,
    );
  }
  const part = (s: Shard, k: 0 | 1) => scope.write(own.get(s.offset)!.slice(k * cols, (k + 1) * cols), [cols]);
  if (op.gamma) w.weightGrad(op.gamma, (s) => part(s, 1));
  if (op.beta) w.weightGrad(op.beta, (s) => part(s, 0));
  return dx;
}
