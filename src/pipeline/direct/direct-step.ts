import type * as tfjs from '@tensorflow/tfjs';
import { heapLoops, type HeapLoops } from '../../backend/wasm-kernels/heap-loops';
import type { TensorInfo, WasmBackendInternals } from '../../backend/wasm-kernels/wasm-internals';
import type { ResolvedExperiment } from '../../config/load';
import type { Batch, TF } from '../types';
import { planDirectStep, type DirectOp } from './plan';
import { softmaxCrossEntropy } from './softmax-loss';

/**
 * A training step for plain conv2d / maxPooling2d / flatten / dense stacks with relu or
 * linear activations, softmax cross-entropy and accuracy (the seed's model, plan.ts says
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
 * are handed over as engine tensors (the caller disposes them), like step.ts's.
 */

export interface DirectStep {
  computeGradients(batch: Batch): { grads: tfjs.NamedTensorMap; sums: number[] };
  evaluate(batch: Batch, predictions: boolean): { sums: number[]; predicted?: Int32Array };
}

type Backend = WasmBackendInternals & {
  write(values: Float32Array | null, shape: number[], dtype: 'float32'): object;
};

interface Layer {
  op: DirectOp;
  /** This layer's input and output in the current pass. */
  x: TensorInfo;
  y: TensorInfo;
}

const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function createDirectStep(o: { tf: TF; model: tfjs.LayersModel; experiment: ResolvedExperiment; inputShape: readonly [number, number, number]; numClasses: number }): DirectStep | { unsupported: string } {
  const { tf } = o;
  const plan = planDirectStep(tf, o.model, o.experiment);
  if ('unsupported' in plan) return plan;
  const { ops } = plan;
  const withAccuracy = o.experiment.training.metrics.includes('accuracy');
  const [h, w, c] = o.inputShape;

  const backend = () => tf.backend() as unknown as Backend;
  const loops = (): HeapLoops => heapLoops(backend().wasm.asm.memory);
  const ptr = (t: TensorInfo) => backend().dataIdMap.get(t.dataId).memoryOffset;

  /** Backend tensors of the current call, freed at its end. */
  const temps: TensorInfo[] = [];
  const free = () => {
    const b = backend();
    for (const t of temps.splice(0)) b.disposeData(t.dataId);
  };
  const run = (kernelName: string, inputs: Record<string, TensorInfo | undefined>, attrs: Record<string, unknown>): TensorInfo => {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (!kernel) throw new Error(`direct step: kernel ${kernelName} is not registered for wasm`);
    const out = kernel.kernelFunc({ inputs: inputs as tfjs.NamedTensorInfoMap, backend: backend() as never, attrs: attrs as tfjs.NamedAttrMap }) as TensorInfo;
    temps.push(out);
    return out;
  };
  const alloc = (shape: number[]): TensorInfo => {
    const out = backend().makeOutput(shape, 'float32');
    temps.push(out);
    return out;
  };
  const input = (batch: Batch): TensorInfo => {
    const shape = [batch.size, h, w, c];
    const t = { dataId: backend().write(batch.x.subarray(0, size(shape)), shape, 'float32'), shape, dtype: 'float32' as const };
    temps.push(t);
    return t;
  };
  const read = (v: tfjs.LayerVariable): TensorInfo => v.read();

  function forward(x: TensorInfo): { layers: Layer[]; logits: TensorInfo } {
    const layers: Layer[] = [];
    for (const op of ops) {
      const n = x.shape[0];
      let y: TensorInfo;
      switch (op.kind) {
        case 'conv2d':
          y = run('FusedConv2D', { x, filter: read(op.kernel), bias: op.bias ? read(op.bias) : undefined }, {
            strides: op.strides, pad: op.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: op.activation, leakyreluAlpha: undefined,
          });
          break;
        case 'maxPool':
          y = run('MaxPool', { x }, { filterSize: op.filterSize, strides: op.strides, pad: op.pad, dimRoundingMode: undefined });
          break;
        case 'flatten':
          y = view(x, [n, size(x.shape.slice(1))]);
          break;
        case 'dense': {
          // Our BatchMatMul (no XNNPACK weight packing, which _FusedMatMul redoes every step as
          // the weights change), then bias and relu in place.
          const kernel = read(op.kernel);
          const [inner, units] = kernel.shape;
          y = view(run('BatchMatMul', { a: view(x, [1, n, inner]), b: view(kernel, [1, inner, units]) }, { transposeA: false, transposeB: false }), [n, units]);
          if (op.bias) loops().addRowVector(ptr(y), ptr(read(op.bias)), ptr(y), n, units);
          if (op.activation === 'relu') loops().reluBackward(ptr(y), ptr(y), ptr(y), n * units);
          break;
        }
      }
      layers.push({ op, x, y });
      x = y;
    }
    return { layers, logits: x };
  }

  /** Fills `grads` (variable name -> gradient of the batch's mean loss), from the last layer back. */
  function backward(layers: Layer[], dLogits: TensorInfo, grads: tfjs.NamedTensorMap): void {
    const b = backend();
    const keep = (v: tfjs.LayerVariable, t: TensorInfo) => {
      // The gradient leaves this call as an engine tensor, in the variable's shape.
      temps.splice(temps.indexOf(t), 1);
      grads[(v.read() as tfjs.Variable).name] = tf.engine().makeTensorFromTensorInfo(view(t, v.shape as number[]), b as never);
    };
    const biasGrad = (v: tfjs.LayerVariable, dz: TensorInfo, cols: number) => {
      const out = alloc([cols]);
      loops().columnSum(ptr(dz), ptr(out), size(dz.shape) / cols, cols);
      keep(v, out);
    };
    let dy = dLogits;
    for (let i = layers.length - 1; i >= 0; i--) {
      const { op, x, y } = layers[i];
      const first = i === 0;
      let dx: TensorInfo | undefined;
      switch (op.kind) {
        case 'dense': {
          const kernel = read(op.kernel);
          const [inner, units] = kernel.shape;
          const n = dy.shape[0];
          // dy is this call's own tensor: the relu gradient is applied in place.
          if (op.activation === 'relu') loops().reluBackward(ptr(dy), ptr(y), ptr(dy), size(dy.shape));
          keep(op.kernel, run('BatchMatMul', { a: view(x, [1, n, inner]), b: view(dy, [1, n, units]) }, { transposeA: true, transposeB: false }));
          if (op.bias) biasGrad(op.bias, dy, units);
          if (!first) dx = view(run('BatchMatMul', { a: view(dy, [1, n, units]), b: view(kernel, [1, inner, units]) }, { transposeA: false, transposeB: true }), [n, inner]);
          break;
        }
        case 'flatten':
          dx = view(dy, x.shape);
          break;
        case 'maxPool':
          if (!first) dx = run('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: op.filterSize, strides: op.strides, pad: op.pad, dimRoundingMode: undefined });
          break;
        case 'conv2d': {
          const kernel = read(op.kernel);
          if (op.activation === 'relu') loops().reluBackward(ptr(dy), ptr(y), ptr(dy), size(dy.shape));
          keep(op.kernel, run('Conv2DBackpropFilter', { x, dy }, { strides: op.strides, pad: op.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: kernel.shape }));
          if (op.bias) biasGrad(op.bias, dy, kernel.shape[3]);
          if (!first) dx = run('Conv2DBackpropInput', { dy, filter: kernel }, { strides: op.strides, pad: op.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: x.shape });
          break;
        }
      }
      if (!dx) break;
      dy = dx;
    }
  }

  const heapF32 = (t: TensorInfo) => new Float32Array(backend().wasm.HEAPF32.buffer, ptr(t), size(t.shape));
  const sumsOf = (loss: number, correct: number) => (withAccuracy ? [loss, correct] : [loss]);

  return {
    computeGradients(batch) {
      try {
        const { layers, logits } = forward(input(batch));
        const dLogits = alloc(logits.shape);
        // Views after the last allocation (an allocation may grow the heap and detach them).
        const r = softmaxCrossEntropy(heapF32(logits), batch.y, batch.size, o.numClasses, heapF32(dLogits));
        const grads: tfjs.NamedTensorMap = {};
        try {
          backward(layers, dLogits, grads);
        } catch (err) {
          tf.dispose(grads);
          throw err;
        }
        return { grads, sums: sumsOf(r.loss, r.correct) };
      } finally {
        free();
      }
    },
    evaluate(batch, predictions) {
      try {
        const { logits } = forward(input(batch));
        const predicted = predictions ? new Int32Array(batch.size) : undefined;
        const r = softmaxCrossEntropy(heapF32(logits), batch.y, batch.size, o.numClasses, undefined, predicted);
        return { sums: sumsOf(r.loss, r.correct), predicted };
      } finally {
        free();
      }
    },
  };
}
