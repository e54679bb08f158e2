import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { TF } from '../types';
import { activationForward, gradNeedsInput } from './activations';
import { batchNormForward, type BatchNormStats } from './batch-norm';
import type { BatchRows } from '../row-gather';
import { size, view, type CallScope } from './call-scope';
import { dropoutMask, type StepPosition } from './dropout-mask';
import type { Activation, DirectOp } from './plan';

/** The relu loops of assembly/activations.ts in the heap module. */
export const reluLoops = (scope: CallScope) =>
  scope.loops() as unknown as {
    clampedRelu(x: number, y: number, n: number, cap: number): void;
    clampedReluGrad(dy: number, x: number, dx: number, n: number, cap: number): void;
  };

/** One node's forward pass, kept for its backward pass. */
export interface NodeRecord {
  /** The node's inputs and output in the current pass. */
  xs: TensorInfo[];
  y: TensorInfo;
  /** conv2d/depthwise/dense whose activation's gradient is taken at its input (activations.ts): that input. */
  z?: TensorInfo;
  /** Dropout while training: the multiplier applied (0 or 1 / keep probability per element). */
  mask?: TensorInfo;
  /** Batch normalization while training: the batch's statistics. */
  bn?: BatchNormStats;
}

type Conv = Extract<DirectOp, { kind: 'conv2d' | 'depthwise' }>;
type Dense = Extract<DirectOp, { kind: 'dense' }>;
type Pool = Extract<DirectOp, { kind: 'maxPool' | 'avgPool' }>;

/** The attributes of MaxPool, AvgPool and their gradients. */
export const poolAttrs = (op: Pool) => ({
  filterSize: op.filterSize,
  strides: op.strides,
  pad: op.pad,
  dimRoundingMode: undefined,
});

/** A 1-D pooling's [N, steps, C] tensor as the [N, steps, 1, C] image the pooling kernels take (others as they are). */
export const asImage = (t: TensorInfo): TensorInfo =>
  t.shape.length === 3 ? view(t, [t.shape[0], t.shape[1], 1, t.shape[2]]) : t;

/** Global average pooling's loops (assembly/spatial-mean.ts): [N, P, C], P the positions (height * width, or steps). */
export const poolLoops = (scope: CallScope) =>
  scope.loops() as unknown as {
    spatialMean(x: number, out: number, n: number, p: number, c: number): void;
    spatialMeanGrad(dy: number, dx: number, n: number, p: number, c: number): void;
  };

/**
 * The activation after our kernel's linear (or fused relu) output z: in place when its gradient
 * is taken at the output, else into a new tensor, z kept for the gradient.
 */
function activate(scope: CallScope, a: Activation, z: TensorInfo): { y: TensorInfo; z?: TensorInfo } {
  if (a === 'relu' || a === 'linear') return { y: z };
  const keep = gradNeedsInput(a);
  const y = activationForward(scope, a, z, !keep);
  return keep ? { y, z } : { y };
}

/** Convolution + bias + relu in one fused kernel (FusedConv2D, FusedDepthwiseConv2D). */
function convForward(scope: CallScope, op: Conv, x: TensorInfo) {
  const y = scope.run(
    op.kind === 'conv2d' ? 'FusedConv2D' : 'FusedDepthwiseConv2D',
    { x, filter: scope.read(op.kernel), bias: op.bias ? scope.read(op.bias) : undefined },
    {
      strides: op.strides,
      pad: op.pad,
      dataFormat: 'NHWC',
      dilations: op.dilations,
      dimRoundingMode: undefined,
      activation: op.activation === 'relu' ? 'relu' : 'linear',
      leakyreluAlpha: undefined,
    },
  );
  return activate(scope, op.activation, y);
}

/**
 * Our BatchMatMul (no XNNPACK weight packing, which _FusedMatMul redoes every step as the
 * weights change), then bias and relu in place.
 */
function denseForward(scope: CallScope, op: Dense, x: TensorInfo) {
  const { run, read, loops, ptr } = scope;
  const kernel = read(op.kernel);
  const [inner, units] = kernel.shape;
  // Over a sequence ([N, steps, inner]) every step is a row, as tfjs's dense layer reshapes it.
  const n = size(x.shape) / inner;
  const y = view(
    run(
      'BatchMatMul',
      { a: view(x, [1, n, inner]), b: view(kernel, [1, inner, units]) },
      { transposeA: false, transposeB: false },
    ),
    [...x.shape.slice(0, -1), units],
  );
  if (op.bias) loops().addRowVector(ptr(y), ptr(read(op.bias)), ptr(y), n, units);
  if (op.activation === 'relu') loops().reluBackward(ptr(y), ptr(y), ptr(y), n * units);
  return activate(scope, op.activation, y);
}

/** A layer applied by tfjs: one input or a list (merge layers). */
export const applyLayer = (layer: tfjs.layers.Layer, training: boolean) => (xs: tfjs.Tensor[]) =>
  layer.apply(xs.length === 1 ? xs[0] : xs, { training }) as tfjs.Tensor;

/** A training step's forward pass: its position (dropout's masks) and how its batch is split (batch statistics). */
export interface Training {
  at: StepPosition;
  rows: BatchRows;
}

/** The forward pass of one node; `training` turns dropout and batch statistics on. */
export function forwardOp(tf: TF, scope: CallScope, op: DirectOp, xs: TensorInfo[], training?: Training): NodeRecord {
  const x = xs[0];
  switch (op.kind) {
    case 'conv2d':
    case 'depthwise':
      return { xs, ...convForward(scope, op, x) };
    case 'dense':
      return { xs, ...denseForward(scope, op, x) };
    case 'tfjs': {
      const ts = xs.map((t) => scope.asTensor(t));
      return { xs, y: scope.fromTensor(tf.tidy(() => applyLayer(op.layer, training !== undefined)(ts))) };
    }
    case 'batchNorm': {
      if (!training) return { xs, y: scope.applyTfjs((t) => op.layer.apply(t, { training: false }) as tfjs.Tensor, x) };
      const { y, stats } = batchNormForward(tf, scope, op, x, training.rows);
      return { xs, y, bn: stats };
    }
    case 'maxPool':
    case 'avgPool': {
      const y = scope.run(op.kind === 'maxPool' ? 'MaxPool' : 'AvgPool', { x: asImage(x) }, poolAttrs(op));
      return { xs, y: x.shape.length === 3 ? view(y, [y.shape[0], y.shape[1], y.shape[3]]) : y };
    }
    case 'globalAvgPool': {
      const [n, c] = [x.shape[0], x.shape[x.shape.length - 1]];
      const y = scope.alloc([n, c]);
      poolLoops(scope).spatialMean(scope.ptr(x), scope.ptr(y), n, size(x.shape) / (n * c), c);
      return { xs, y };
    }
    case 'zeroPad': {
      const paddings = [[0, 0], op.rows, op.cols, [0, 0]];
      return { xs, y: scope.run('PadV2', { x }, { paddings, constantValue: 0 }) };
    }
    case 'activation':
      return { xs, y: activationForward(scope, op.fn, x, false) };
    case 'flatten':
      return { xs, y: view(x, [x.shape[0], size(x.shape.slice(1))]) };
    case 'dropout': {
      // Like tfjs's layer: identity outside training and for rates outside (0, 1).
      if (!training || op.rate <= 0 || op.rate >= 1) return { xs, y: x };
      const mask = dropoutMask(tf, scope, op, x.shape, training.at);
      return { xs, y: scope.run('Multiply', { a: x, b: mask }, {}), mask };
    }
    case 'relu': {
      const y = scope.alloc(x.shape);
      reluLoops(scope).clampedRelu(scope.ptr(x), scope.ptr(y), size(x.shape), op.cap);
      return { xs, y };
    }
    case 'add':
      // tfjs' Add layer: ((x0 + x1) + x2) + ...
      return { xs, y: xs.slice(1).reduce((sum, t) => scope.run('Add', { a: sum, b: t }, {}), x) };
  }
}
