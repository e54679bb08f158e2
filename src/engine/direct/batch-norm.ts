import type { TensorInfo } from '../kernels/wasm-internals';
import { size, type CallScope } from './call-scope';
import type { DirectOp } from './plan';
import type { WeightGrads } from './weight-grads';

/**
 * Batch normalization's gradients in closed form, for tfjs-layers' training arithmetic
 * (normalizeBatchInTraining: y = gamma * (x - mean) / sqrt(var + eps) + beta, with the batch's
 * mean and biased variance over every axis but the last), in one wasm kernel
 * (kernels/assembly/batch-norm-grad.ts, which states the formulas): tfjs's own batchNorm
 * gradient tiled the statistics to the input's shape, and the same formulas as tfjs ops took
 * ~12 kernel calls with as many full-size temporaries.
 */
export function batchNormBackward(
  scope: CallScope,
  op: Extract<DirectOp, { kind: 'batchNorm' }>,
  x: TensorInfo,
  dy: TensorInfo,
  w: WeightGrads,
): TensorInfo {
  const cols = x.shape[x.shape.length - 1];
  const dx = scope.alloc(x.shape);
  const stats = scope.alloc([6 * cols]);
  const gamma = op.gamma ? scope.ptr(scope.read(op.gamma)) : 0;
  scope
    .loops()
    .batchNormGrad(
      scope.ptr(x),
      scope.ptr(dy),
      gamma,
      scope.ptr(dx),
      scope.ptr(stats),
      size(x.shape) / cols,
      cols,
      op.epsilon,
    );
  // [mean | invStd | dbeta | dgamma | ...]: copied out of the heap before anything else allocates.
  const part = (k: number) => scope.write(scope.heapF32(stats).slice(k * cols, (k + 1) * cols), [cols]);
  if (op.gamma) w.wholeGrad(op.gamma, part(3));
  if (op.beta) w.wholeGrad(op.beta, part(2));
  return dx;
}
