/**
 * Helpers to compare gradients between the `cpu` backend (reference) and `wasm`.
 *
 * Relative error used throughout (b is the cpu reference):
 *   relErr(a, b) = max_i |a_i - b_i| / max(1e-6, max_i |b_i|)
 * i.e. the worst absolute difference measured against the tensor's scale, so tiny entries
 * of a well-scaled tensor do not blow the figure up, and all-zero references need |a| < 1e-10.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { startEngine } from '../../src/engine';

export type Tf = typeof tf;
// Silences tfjs's "install tfjs-node" banner in test output (PROD only mutes warnings).
tf.env().set('PROD', true);
export type Backend = 'cpu' | 'wasm';
export const TOLERANCE = 1e-4;

/** Deterministic uniform numbers (LCG), so both backends see identical inputs. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 4294967296);
  }
  return out;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = d > diff || Number.isNaN(d) ? d : diff;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(1e-6, scale);
}

let wasmReady = false;
let inputCounter = 0;
/** Switch the global tfjs backend; wasm gets our kernel fixes (unless `stock`). */
export async function useBackend(name: Backend): Promise<void> {
  await tf.setBackend(name);
  await tf.ready();
  if (name === 'wasm' && !wasmReady) {
    startEngine(tf);
    wasmReady = true;
  }
}

export interface LayerCase {
  name: string;
  /** Input shape including the batch dimension. */
  input: number[];
  inputRange?: [number, number];
  layers: () => tf.layers.Layer[];
  /** Default: 0.5 * sum((out - target)^2), all terms >= 0 so the loss itself compares well. */
  loss?: (target: tf.Tensor, out: tf.Tensor) => tf.Scalar;
}

export interface GradResult {
  loss: number;
  /** 'input' then each trainable weight by name. */
  grads: Array<{ name: string; values: Float32Array }>;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Loss and gradients wrt input and all trainable weights of a fresh model on `backend`. */
export async function layerGrads(backend: Backend, c: LayerCase): Promise<GradResult> {
  await useBackend(backend);
  tf.engine().startScope();
  try {
    const model = tf.sequential({ layers: c.layers() });
    model.setWeights(
      model.weights.map((w, i) => {
        const v = uniform(size(w.shape as number[]), 100 + i, -0.5, 0.5);
        // A variance must be positive.
        if (w.name.includes('variance')) for (let j = 0; j < v.length; j++) v[j] = 0.5 + Math.abs(v[j]);
        return tf.tensor(v, w.shape as number[]);
      }),
    );
    const [lo, hi] = c.inputRange ?? [-1, 1];
    const x = tf.variable(
      tf.tensor(uniform(size(c.input), 1, lo, hi), c.input),
      true,
      `gradcheck_input_${inputCounter++}`,
    );
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const out = model.apply(x, { training: true }) as tf.Tensor;
      const target = tf.tensor(uniform(out.size, 7), out.shape);
      return c.loss ? c.loss(target, out) : (tf.mul(0.5, tf.sum(tf.squaredDifference(out, target))) as tf.Scalar);
    }, [x, ...weights]);
    const result: GradResult = {
      loss: value.dataSync()[0],
      grads: [
        { name: 'input', values: grads[x.name].dataSync() as Float32Array },
        ...model.trainableWeights.map((w, i) => ({
          name: w.name,
          values: grads[weights[i].name].dataSync() as Float32Array,
        })),
      ],
    };
    x.dispose();
    model.dispose();
    return result;
  } finally {
    tf.engine().endScope();
  }
}

/** Worst relative error per quantity (loss, input grad, each weight grad), wasm vs cpu. */
export async function compareLayerGrads(c: LayerCase): Promise<Array<{ name: string; err: number }>> {
  const ref = await layerGrads('cpu', c);
  const got = await layerGrads('wasm', c);
  return [
    { name: 'loss', err: relErr([got.loss], [ref.loss]) },
    ...ref.grads.map((g, i) => ({ name: `d/d ${g.name}`, err: relErr(got.grads[i].values, g.values) })),
  ];
}

/**
 * The weights after each of 4 trainOnBatch steps of a small conv net on wasm. Its variables
 * own their data, so a fused update writes over it in place (src/engine/in-place.ts) where the
 * stock one assigns new tensors: the same weights after every step means the in-place path is
 * the same arithmetic AND that the backend's XNNPACK operators, which cache each weight
 * packed under the weight's data, saw the new weights: the convolution's filter, and the
 * 2-unit dense layer's kernel (fewer than 4 columns: the stock BatchMatMul, XNNPACK's fully
 * connected operator).
 */
export async function trainConvNet(make: () => tf.Optimizer): Promise<number[][][]> {
  await useBackend('wasm');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2 }),
    ],
  });
  model.setWeights(
    model.weights.map((w, i) => tf.tensor(uniform(w.shape.reduce((a, b) => a! * b!, 1)!, 50 + i), w.shape as number[])),
  );
  model.compile({ optimizer: make(), loss: 'meanSquaredError' });
  const [x, y] = [tf.tensor(uniform(4 * 72, 60), [4, 6, 6, 2]), tf.tensor(uniform(8, 61), [4, 2])];
  const after: number[][][] = [];
  for (let step = 0; step < 4; step++) {
    await model.trainOnBatch(x, y);
    after.push(model.getWeights().map((w) => Array.from(w.dataSync())));
  }
  tf.dispose([x, y]);
  model.dispose();
  return after;
}

/**
 * A convolution and its gradients ([y, dx, dw, dbias], the bias gradient only with a bias) on wasm against
 * cpu: each within TOLERANCE (relErr, each figure a test diagnostic), and the wasm call leaves no tensor
 * and no heap data behind.
 */
export async function convGradsMatchCpu(
  t: TestContext,
  compute: (b: Backend) => Promise<Float32Array[]>,
): Promise<void> {
  const ref = await compute('cpu');
  await useBackend('wasm');
  const [tensorsBefore, dataIdsBefore] = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
  const got = await compute('wasm');
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
  assert.equal(tf.engine().backend.numDataIds(), dataIdsBefore, 'no wasm heap data left behind');
  for (const [i, what] of ['y', 'dx', 'dw', 'dbias'].slice(0, ref.length).entries()) {
    const err = relErr(got[i], ref[i]);
    t.diagnostic(`${what}: relative error ${err.toExponential(2)}`);
    assert.ok(err < TOLERANCE, `${what}: relative error ${err}`);
  }
}
