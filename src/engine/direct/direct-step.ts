import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import { dropoutSeed } from '../../builders/model';
import type { ResolvedExperiment } from '../../config/load';
import type { Batch, TF } from '../types';
import { shardRows, type Shard } from '../shards';
import { shardWeights, weightedSumInto } from '../shard-average';
import { CallScope, size, view } from './call-scope';
import { mixesRows, planDirectStep, type DirectOp } from './plan';
import { lossAndMetrics } from './loss-and-metrics';

/**
 * A training step for plain conv2d / maxPooling2d / flatten / dropout / dense stacks with
 * relu or linear activations, softmax cross-entropy and accuracy (the seed's model, plan.ts says
 * exactly which), run as direct calls of the wasm backend's registered kernels: the forward
 * pass as fused kernels (convolution + bias + relu, matmul + bias + relu), the backward pass
 * written out layer by layer, the loss, its gradient and the metric sums in one JS loop.
 *
 * Why: on a model this small most of a tfjs step is not arithmetic but per-op bookkeeping
 * (~150 kernel calls, each through the engine, the gradient tape and its saved-tensor clones,
 * ~9 us apiece): this step makes ~35 calls without the engine. Same mathematics as tfjs's
 * gradients (the tests compare both on random batches), different float rounding.
 *
 * Memory: every intermediate is a backend tensor freed at the end of the call; the gradients
 * are handed over as engine tensors (the caller disposes them), like step-runner.ts's.
 *
 * `gradientShards`: the batch's gradient is computed as the data-parallel exchange computes
 * it from that many replicas: each shard's loss gradient scaled by its own size, each weight
 * gradient reduced over each shard's rows separately (the same kernel calls a replica makes
 * on its shard), then the shards' weighted average (shard-average.ts). Float sums depend on
 * their order, and Adam's tiny epsilon turns last-bit differences in near-zero gradients into
 * full-size steps, so without this one worker and two drift apart within an epoch (1.8e-3 in
 * the first epoch's loss on CIFAR-10); with it they give the same bits. The forward pass and
 * the input gradients are per row, so they run on the whole batch either way.
 */

/**
 * Where a training batch sits, for dropout masks: the step's (epoch, batch) choose the seed,
 * and a shard at `rowOffset` of a larger batch takes those rows of the larger batch's mask
 * (as dropout-rows.ts arranges for tfjs's autograd).
 */
export interface StepPosition {
  epoch: number;
  batchIndex: number;
  rowOffset: number;
}

export interface DirectStep {
  computeGradients(batch: Batch, at: StepPosition): { grads: tfjs.NamedTensorMap; sums: number[] };
  evaluate(batch: Batch, predictions: boolean): { sums: number[]; predicted?: Int32Array };
  /** The inference-mode forward pass alone: the model's outputs, batch.size * numClasses values (labels unused). */
  outputs(batch: Batch): Float32Array;
}

interface Layer {
  op: DirectOp;
  /** This layer's input and output in the current pass. */
  x: TensorInfo;
  y: TensorInfo;
  /** conv2d/dense with a tfjs activation: the output before it. */
  z?: TensorInfo;
  /** Dropout while training: the multiplier applied (0 or 1 / keep probability per element). */
  mask?: TensorInfo;
}

export interface DirectStepOptions {
  tf: TF;
  model: tfjs.LayersModel;
  experiment: ResolvedExperiment;
  inputShape: readonly [number, number, number];
  numClasses: number;
  /** Reduce each batch's gradient in this many shards, as that many replicas would (default 1). */
  gradientShards?: number;
}

export function createDirectStep(o: DirectStepOptions): DirectStep | { unsupported: string } {
  const { tf } = o;
  const plan = planDirectStep(tf, o.model, o.experiment);
  if ('unsupported' in plan) return plan;
  const { ops } = plan;
  const jsLoss = o.experiment.training.loss === 'softmaxCrossEntropy';
  const [h, w, c] = o.inputShape;
  // A layer that mixes rows (batch normalization) has no per-shard gradient: such a model takes
  // its batch's gradient whole (its replicas differ from one worker anyway: each normalizes its own shard).
  const gradientShards = ops.some(mixesRows) ? 1 : (o.gradientShards ?? 1);

  const scope = new CallScope(tf);
  const { backend, loops, ptr, run, alloc, read, fromTensor, vjp, applyTfjs, heapF32, rowsOf, free } = scope;
  const layerFn = (layer: tfjs.layers.Layer) => (x: tfjs.Tensor) => layer.apply(x) as tfjs.Tensor;
  const input = (batch: Batch): TensorInfo => {
    const shape = [batch.size, h, w, c];
    return scope.write(batch.x.subarray(0, size(shape)), shape);
  };
  /**
   * tfjs' dropout multiplier (tfjs-core ops/dropout.ts: floor(uniform + keep) / keep, drawn
   * with the step's seed) for rows [rowOffset, rowOffset + n) of the batch: drawn for
   * rowOffset + n rows, of which the first are dropped, so a shard gets the full batch's rows.
   */
  const dropoutMask = (op: { rate: number; baseSeed: number }, shape: number[], at: StepPosition): TensorInfo => {
    const seed = dropoutSeed(op.baseSeed, at.epoch, at.batchIndex);
    const keep = 1 - op.rate;
    const mask = tf.tidy(() => {
      const full = tf.div(
        tf.floor(tf.add(tf.randomUniform([at.rowOffset + shape[0], ...shape.slice(1)], 0, 1, 'float32', seed), keep)),
        keep,
      );
      return at.rowOffset === 0 ? full : tf.slice(full, [at.rowOffset], [shape[0]]);
    });
    return { ...fromTensor(mask), shape };
  };

  /** The forward pass; `training` (a step's position) turns dropout on. */
  function forward(x: TensorInfo, training?: StepPosition): { layers: Layer[]; logits: TensorInfo } {
    const layers: Layer[] = [];
    for (const op of ops) {
      const n = x.shape[0];
      let y: TensorInfo;
      let z: TensorInfo | undefined;
      let mask: TensorInfo | undefined;
      switch (op.kind) {
        case 'conv2d':
          y = run(
            'FusedConv2D',
            { x, filter: read(op.kernel), bias: op.bias ? read(op.bias) : undefined },
            {
              strides: op.strides,
              pad: op.pad,
              dataFormat: 'NHWC',
              dilations: [1, 1],
              dimRoundingMode: undefined,
              activation: typeof op.activation === 'string' ? op.activation : 'linear',
              leakyreluAlpha: undefined,
            },
          );
          if (typeof op.activation !== 'string') [z, y] = [y, applyTfjs(op.activation.apply, y)];
          break;
        case 'tfjs':
          y = applyTfjs(layerFn(op.layer), x);
          break;
        case 'batchNorm':
          // The layer itself, so that in training its moving statistics are updated exactly as tfjs does.
          y = applyTfjs((t) => op.layer.apply(t, { training: training !== undefined }) as tfjs.Tensor, x);
          break;
        case 'maxPool':
          y = run(
            'MaxPool',
            { x },
            { filterSize: op.filterSize, strides: op.strides, pad: op.pad, dimRoundingMode: undefined },
          );
          break;
        case 'flatten':
          y = view(x, [n, size(x.shape.slice(1))]);
          break;
        case 'dropout':
          // Like tfjs's layer: identity outside training and for rates outside (0, 1).
          if (training && op.rate > 0 && op.rate < 1) {
            mask = dropoutMask(op, x.shape, training);
            y = run('Multiply', { a: x, b: mask }, {});
          } else {
            y = x;
          }
          break;
        case 'dense': {
          // Our BatchMatMul (no XNNPACK weight packing, which _FusedMatMul redoes every step as
          // the weights change), then bias and relu in place.
          const kernel = read(op.kernel);
          const [inner, units] = kernel.shape;
          y = view(
            run(
              'BatchMatMul',
              { a: view(x, [1, n, inner]), b: view(kernel, [1, inner, units]) },
              { transposeA: false, transposeB: false },
            ),
            [n, units],
          );
          if (op.bias) loops().addRowVector(ptr(y), ptr(read(op.bias)), ptr(y), n, units);
          if (op.activation === 'relu') loops().reluBackward(ptr(y), ptr(y), ptr(y), n * units);
          if (typeof op.activation !== 'string') [z, y] = [y, applyTfjs(op.activation.apply, y)];
          break;
        }
      }
      layers.push({ op, x, y, z, mask });
      x = y;
    }
    return { layers, logits: x };
  }

  /**
   * Batch normalization's gradients in closed form, for tfjs-layers' training arithmetic
   * (normalizeBatchInTraining: y = gamma * (x - mean) / sqrt(var + eps) + beta, with the batch's
   * mean and biased variance over every axis but the last), in one wasm kernel
   * (kernels/assembly/batch-norm-grad.ts, which states the formulas): tfjs's own batchNorm
   * gradient tiled the statistics to the input's shape, and the same formulas as tfjs ops took
   * ~12 kernel calls with as many full-size temporaries.
   */
  function batchNormBackward(
    op: Extract<DirectOp, { kind: 'batchNorm' }>,
    x: TensorInfo,
    dy: TensorInfo,
    grads: tfjs.NamedTensorMap,
  ): TensorInfo {
    const cols = x.shape[x.shape.length - 1];
    const dx = alloc(x.shape);
    const stats = alloc([6 * cols]);
    const gamma = op.gamma ? ptr(read(op.gamma)) : 0;
    loops().batchNormGrad(ptr(x), ptr(dy), gamma, ptr(dx), ptr(stats), size(x.shape) / cols, cols, op.epsilon);
    // [mean | invStd | dbeta | dgamma | ...]: copies out of the heap before tfjs allocates.
    const part = (k: number) => heapF32(stats).slice(k * cols, (k + 1) * cols);
    const [dbeta, dgamma] = [part(2), part(3)];
    if (op.gamma) grads[(op.gamma.read() as tfjs.Variable).name] = tf.tensor1d(dgamma);
    if (op.beta) grads[(op.beta.read() as tfjs.Variable).name] = tf.tensor1d(dbeta);
    return dx;
  }

  /** Fills `grads` (variable name -> gradient of the batch's mean loss), from the last layer back, reducing over `shards`. */
  function backward(layers: Layer[], dLogits: TensorInfo, grads: tfjs.NamedTensorMap, shards: Shard[]): void {
    const b = backend();
    const keep = (v: tfjs.LayerVariable, t: TensorInfo) => {
      // The gradient leaves this call as an engine tensor, in the variable's shape.
      scope.release(t);
      grads[(v.read() as tfjs.Variable).name] = tf
        .engine()
        .makeTensorFromTensorInfo(view(t, v.shape as number[]), b as never);
    };
    const parts = shardWeights(shards.map((s) => s.size));
    /** A weight's gradient: `partial` of each non-empty shard, averaged as the exchange would (see the top). */
    const weightGrad = (v: tfjs.LayerVariable, partial: (s: Shard) => TensorInfo) => {
      if (parts.length === 1) return keep(v, partial(shards[parts[0].k]));
      const partials = parts.map((p) => partial(shards[p.k]));
      const out = alloc(partials[0].shape);
      const n = size(out.shape);
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
      keep(v, out);
    };
    const biasGrad = (v: tfjs.LayerVariable, dz: TensorInfo, cols: number) =>
      weightGrad(v, (s) => {
        const out = alloc([cols]);
        const rowFloats = size(dz.shape.slice(1));
        loops().columnSum(ptr(dz) + 4 * s.offset * rowFloats, ptr(out), (s.size * rowFloats) / cols, cols);
        return out;
      });
    let dy = dLogits;
    for (let i = layers.length - 1; i >= 0; i--) {
      const { op, x, y, z, mask } = layers[i];
      const first = i === 0;
      let dx: TensorInfo | undefined;
      switch (op.kind) {
        case 'dense': {
          const kernel = read(op.kernel);
          const [inner, units] = kernel.shape;
          const n = dy.shape[0];
          // dy is this call's own tensor: the relu gradient is applied in place.
          if (op.activation === 'relu') loops().reluBackward(ptr(dy), ptr(y), ptr(dy), size(dy.shape));
          if (typeof op.activation !== 'string') dy = vjp(op.activation.apply, z!, dy);
          weightGrad(op.kernel, (s) =>
            run(
              'BatchMatMul',
              { a: view(rowsOf(x, s), [1, s.size, inner]), b: view(rowsOf(dy, s), [1, s.size, units]) },
              { transposeA: true, transposeB: false },
            ),
          );
          if (op.bias) biasGrad(op.bias, dy, units);
          if (!first)
            dx = view(
              run(
                'BatchMatMul',
                { a: view(dy, [1, n, units]), b: view(kernel, [1, inner, units]) },
                { transposeA: false, transposeB: true },
              ),
              [n, inner],
            );
          break;
        }
        case 'flatten':
          dx = view(dy, x.shape);
          break;
        case 'tfjs':
          if (!first) dx = vjp(layerFn(op.layer), x, dy);
          break;
        case 'batchNorm':
          dx = batchNormBackward(op, x, dy, grads);
          break;
        case 'dropout':
          if (!first) dx = mask ? run('Multiply', { a: dy, b: mask }, {}) : dy;
          break;
        case 'maxPool':
          if (!first)
            dx = run(
              'MaxPoolGrad',
              { dy, input: x, output: y },
              { filterSize: op.filterSize, strides: op.strides, pad: op.pad, dimRoundingMode: undefined },
            );
          break;
        case 'conv2d': {
          const kernel = read(op.kernel);
          if (op.activation === 'relu') loops().reluBackward(ptr(dy), ptr(y), ptr(dy), size(dy.shape));
          if (typeof op.activation !== 'string') dy = vjp(op.activation.apply, z!, dy);
          weightGrad(op.kernel, (s) =>
            run(
              'Conv2DBackpropFilter',
              { x: rowsOf(x, s), dy: rowsOf(dy, s) },
              {
                strides: op.strides,
                pad: op.pad,
                dataFormat: 'NHWC',
                dimRoundingMode: undefined,
                filterShape: kernel.shape,
              },
            ),
          );
          if (op.bias) biasGrad(op.bias, dy, kernel.shape[3]);
          if (!first)
            dx = run(
              'Conv2DBackpropInput',
              { dy, filter: kernel },
              { strides: op.strides, pad: op.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: x.shape },
            );
          break;
        }
      }
      if (!dx) break;
      dy = dx;
    }
  }

  const { otherSums, sumsOf, lossOverShards, tfjsLossOverShards } = lossAndMetrics({
    tf,
    experiment: o.experiment,
    numClasses: o.numClasses,
    scope,
  });

  return {
    computeGradients(batch, at) {
      try {
        const { layers, logits } = forward(input(batch), at);
        const shards = shardRows(batch.size, gradientShards);
        const other = otherSums(heapF32(logits), batch.y, shards);
        let r: { loss: number; correct: number; dLogits?: TensorInfo };
        if (jsLoss) {
          const dLogits = alloc(logits.shape);
          // Views after the last allocation (an allocation may grow the heap and detach them).
          r = { ...lossOverShards(heapF32(logits), batch.y, shards, heapF32(dLogits)), dLogits };
        } else {
          r = tfjsLossOverShards(logits, batch.y, shards, true);
        }
        const grads: tfjs.NamedTensorMap = {};
        try {
          backward(layers, r.dLogits!, grads, shards);
        } catch (err) {
          tf.dispose(grads);
          throw err;
        }
        return { grads, sums: sumsOf(r.loss, r.correct, other) };
      } finally {
        free();
      }
    },
    evaluate(batch, predictions) {
      try {
        const { logits } = forward(input(batch));
        const predicted = predictions ? new Int32Array(batch.size) : undefined;
        const shards = shardRows(batch.size, gradientShards);
        const other = otherSums(heapF32(logits), batch.y, shards);
        const r = jsLoss
          ? lossOverShards(heapF32(logits), batch.y, shards, undefined, predicted)
          : tfjsLossOverShards(logits, batch.y, shards, false, predicted);
        return { sums: sumsOf(r.loss, r.correct, other), predicted };
      } finally {
        free();
      }
    },
    outputs(batch) {
      try {
        return heapF32(forward(input(batch)).logits).slice();
      } finally {
        free();
      }
    },
  };
}
