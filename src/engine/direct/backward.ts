import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { TF } from '../types';
import { size, view, type CallScope } from './call-scope';
import { batchNormBackward } from './batch-norm';
import { gatherTaps, spreadFilter } from './dilation';
import { activationBackward } from './activations';
import { applyLayer, asImage, poolAttrs, poolLoops, reluLoops, type NodeRecord } from './forward';
import type { Activation, DirectOp, PlanNode } from './plan';
import type { WeightGrads } from './weight-grads';
import type { BatchRows } from '../row-gather';

/** What one node's backward pass needs besides its own record. */
export interface BackwardContext {
  tf: TF;
  scope: CallScope;
  w: WeightGrads;
  /** How the batch is split (batch normalization's sums span every shard). */
  rows: BatchRows;
}

/** Gradients for a node's inputs, in its inputs' order (undefined: not needed or none). */
type InputGrads = Array<TensorInfo | undefined>;

type Conv = Extract<DirectOp, { kind: 'conv2d' | 'depthwise' }>;
type Dense = Extract<DirectOp, { kind: 'dense' }>;

/** dy through the activation after our kernel (into a new tensor: dy may be shared). */
function activationGrad(scope: CallScope, a: Activation, rec: NodeRecord, dy: TensorInfo): TensorInfo {
  if (a === 'relu') {
    const out = scope.alloc(dy.shape);
    scope.loops().reluBackward(scope.ptr(dy), scope.ptr(rec.y), scope.ptr(out), size(dy.shape));
    return out;
  }
  return activationBackward(scope, a, dy, rec.z, rec.y);
}

/** The input gradient of the layers without weights that are not in backwardOp's own cases. */
function shapeOpBackward(scope: CallScope, op: DirectOp, rec: NodeRecord, dy: TensorInfo): TensorInfo {
  const x = rec.xs[0];
  switch (op.kind) {
    case 'maxPool': {
      const [g, input, output] = [asImage(dy), asImage(x), asImage(rec.y)];
      return view(scope.run('MaxPoolGrad', { dy: g, input, output }, poolAttrs(op)), x.shape);
    }
    case 'avgPool':
      return view(scope.run('AvgPoolGrad', { dy: asImage(dy), input: asImage(x) }, poolAttrs(op)), x.shape);
    case 'globalAvgPool': {
      const [n, c] = [x.shape[0], x.shape[x.shape.length - 1]];
      const dx = scope.alloc(x.shape);
      poolLoops(scope).spatialMeanGrad(scope.ptr(dy), scope.ptr(dx), n, size(x.shape) / (n * c), c);
      return dx;
    }
    case 'zeroPad':
      return scope.run('Slice', { x: dy }, { begin: [0, op.rows[0], op.cols[0], 0], size: x.shape });
    case 'activation':
      return activationBackward(scope, op.fn, dy, x, rec.y);
    default:
      throw new Error(`direct step: no input gradient for ${op.kind}`);
  }
}

function denseBackward(c: BackwardContext, node: PlanNode, op: Dense, rec: NodeRecord, dyIn: TensorInfo) {
  const { run, read, rowsOf } = c.scope;
  const kernel = read(op.kernel);
  const [inner, units] = kernel.shape;
  const x = rec.xs[0];
  const dy = activationGrad(c.scope, op.activation, rec, dyIn);
  // A shard's rows: its examples, times the steps of a sequence.
  const perRow = size(x.shape.slice(1, -1));
  c.w.weightGrad(op.kernel, (s) =>
    run(
      'BatchMatMul',
      {
        a: view(rowsOf(x, s), [1, s.size * perRow, inner]),
        b: view(rowsOf(dy, s), [1, s.size * perRow, units]),
      },
      { transposeA: true, transposeB: false },
    ),
  );
  if (op.bias) c.w.biasGrad(op.bias, dy, units);
  if (!node.needsInputGrad) return [];
  const n = size(dy.shape) / units;
  const dx = run(
    'BatchMatMul',
    { a: view(dy, [1, n, units]), b: view(kernel, [1, inner, units]) },
    { transposeA: false, transposeB: true },
  );
  return [view(dx, x.shape)];
}

/** Plain and depthwise convolutions: filter gradient per shard, input gradient whole (it is per row). */
function convBackward(c: BackwardContext, node: PlanNode, op: Conv, rec: NodeRecord, dyIn: TensorInfo) {
  const { run, read, rowsOf } = c.scope;
  const kernel = read(op.kernel);
  const x = rec.xs[0];
  const dy = activationGrad(c.scope, op.activation, rec, dyIn);
  const depthwise = op.kind === 'depthwise';
  const attrs = { strides: op.strides, pad: op.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  const more = depthwise ? { dilations: [1, 1] } : {};
  // A dilated convolution through the spread filter (dilation.ts).
  const dilated = op.dilations[0] !== 1 || op.dilations[1] !== 1;
  const filter = dilated ? spreadFilter(c.scope, kernel, op.dilations) : kernel;
  c.w.weightGrad(op.kernel, (s) => {
    const df = run(
      depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter',
      { x: rowsOf(x, s), dy: rowsOf(dy, s) },
      { ...attrs, ...more, filterShape: filter.shape },
    );
    return dilated ? gatherTaps(c.scope, df, op.dilations, kernel.shape) : df;
  });
  if (op.bias) c.w.biasGrad(op.bias, dy, dy.shape[3]);
  if (!node.needsInputGrad) return [];
  const name = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  return [run(name, { dy, filter }, { ...attrs, ...more, inputShape: x.shape })];
}

/**
 * A layer differentiated by tfjs over itself. With weights and several shards, each shard's
 * rows separately (a replica's own call), the input gradients put back together in row order.
 */
function tfjsBackward(
  c: BackwardContext,
  node: PlanNode,
  layer: tfjs.layers.Layer,
  weights: tfjs.LayerVariable[],
  rec: NodeRecord,
  dy: TensorInfo,
): InputGrads {
  const { scope, w } = c;
  if (weights.length === 0 && !node.needsInputGrad) return [];
  const f = applyLayer(layer, true);
  const vars = weights.map((v) => v.read() as tfjs.Variable);
  if (weights.length === 0) return scope.vjpMany(f, rec.xs, [], dy).dxs;
  const whole = w.shards.length === 1;
  const inputs = node.needsInputGrad;
  const per = w.shards.map((s) =>
    whole
      ? scope.vjpMany(f, rec.xs, vars, dy, inputs)
      : scope.vjpMany(
          f,
          rec.xs.map((x) => scope.rowsOf(x, s)),
          vars,
          scope.rowsOf(dy, s),
          inputs,
        ),
  );
  weights.forEach((v, i) =>
    w.weightGrad(
      v,
      (_s, k) => per[k].dws[i] ?? scope.write(new Float32Array(size(v.shape as number[])), v.shape as number[]),
    ),
  );
  if (!node.needsInputGrad) return [];
  return rec.xs.map((_, i) =>
    per.some((p) => p.dxs[i] === undefined) ? undefined : scope.concatRows(per.map((p) => p.dxs[i]!)),
  );
}

/** One node's backward pass: its weights' gradients into `c.w`, its inputs' gradients returned. */
export function backwardOp(c: BackwardContext, node: PlanNode, rec: NodeRecord, dy: TensorInfo): InputGrads {
  const { op } = node;
  const { scope } = c;
  switch (op.kind) {
    case 'dense':
      return denseBackward(c, node, op, rec, dy);
    case 'conv2d':
    case 'depthwise':
      return convBackward(c, node, op, rec, dy);
    case 'flatten':
      return [view(dy, rec.xs[0].shape)];
    case 'tfjs':
      return tfjsBackward(c, node, op.layer, op.weights, rec, dy);
    case 'batchNorm':
      return [batchNormBackward(scope, op, rec.xs[0], dy, rec.bn!, c.rows, c.w)];
    case 'dropout':
      return [rec.mask ? scope.run('Multiply', { a: dy, b: rec.mask }, {}) : dy];
    case 'add':
      return rec.xs.map(() => dy);
    case 'relu': {
      if (!node.needsInputGrad) return [];
      const dx = scope.alloc(dy.shape);
      reluLoops(scope).clampedReluGrad(scope.ptr(dy), scope.ptr(rec.xs[0]), scope.ptr(dx), size(dy.shape), op.cap);
      return [dx];
    }
    case 'maxPool':
    case 'avgPool':
    case 'globalAvgPool':
    case 'zeroPad':
    case 'activation':
      return node.needsInputGrad ? [shapeOpBackward(scope, op, rec, dy)] : [];
  }
}
