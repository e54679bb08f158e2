import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { TF } from '../types';
import { size, type CallScope } from './call-scope';
import type { DirectOp } from './plan';
import type { WeightGrads } from './weight-grads';

/**
 * Batch normalization's gradients in closed form, for tfjs-layers' training arithmetic
 * (normalizeBatchInTraining: y = gamma * (x - mean) / sqrt(var + eps) + beta, with the batch's
 * mean and biased variance over every axis but the last):
 *   dbeta = sum dy;  dgamma = sum dy * xhat;  dx = gamma / sqrt(var + eps) * (dy - (dbeta + xhat * dgamma) / m)
 * (sums over the m = rows * height * width positions). As tfjs ops, but without tfjs's own
 * batchNorm gradient, which tiles the statistics to the input's shape (most of the step's time).
 */
export function batchNormBackward(
  tf: TF,
  scope: CallScope,
  op: Extract<DirectOp, { kind: 'batchNorm' }>,
  x: TensorInfo,
  dy: TensorInfo,
  w: WeightGrads,
): TensorInfo {
  const [xt, dyt] = [scope.asTensor(x), scope.asTensor(dy)];
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const m = size(x.shape.slice(0, -1));
  const [dx, dgamma, dbeta] = tf.tidy(() => {
    const { mean, variance } = tf.moments(xt, axes);
    const invStd = tf.rsqrt(tf.add(variance, op.epsilon));
    const xhat = tf.mul(tf.sub(xt, mean), invStd);
    const sumDy = tf.sum(dyt, axes);
    const sumDyXhat = tf.sum(tf.mul(dyt, xhat), axes);
    const scale = op.gamma ? tf.mul(op.gamma.read(), invStd) : invStd;
    const centred = tf.sub(dyt, tf.div(tf.add(sumDy, tf.mul(xhat, sumDyXhat)), m));
    return [tf.mul(centred, scale), sumDyXhat, sumDy] as tfjs.Tensor[];
  });
  const [dgi, dbi] = [scope.fromTensor(dgamma), scope.fromTensor(dbeta)];
  if (op.gamma) w.wholeGrad(op.gamma, dgi);
  if (op.beta) w.wholeGrad(op.beta, dbi);
  return scope.fromTensor(dx);
}
