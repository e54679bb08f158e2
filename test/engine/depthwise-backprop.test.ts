/**
 * DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput (missing in stock
 * tfjs-backend-wasm 4.22), called as kernels, against the cpu backend's for every kernel size,
 * stride, padding and depth multiplier kind the schema allows (channel counts on and off the
 * 4-wide SIMD step); and no data id leaks (tfjs's IS_TEST check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { type Backend, relErr, TOLERANCE, uniform, useBackend } from './gradcheck';

type Pair = number | [number, number];
interface Case {
  x: [number, number, number, number];
  kernel: Pair;
  strides: Pair;
  pad: 'valid' | 'same';
  mult: number;
}

const CASES: Case[] = [
  { x: [2, 8, 8, 4], kernel: 3, strides: 1, pad: 'same', mult: 1 },
  { x: [2, 8, 8, 8], kernel: 3, strides: 2, pad: 'same', mult: 1 },
  { x: [2, 7, 9, 5], kernel: 3, strides: 2, pad: 'valid', mult: 1 },
  { x: [1, 6, 6, 3], kernel: 1, strides: 1, pad: 'valid', mult: 1 },
  { x: [2, 9, 7, 6], kernel: 5, strides: 1, pad: 'same', mult: 1 },
  { x: [1, 7, 7, 2], kernel: [2, 3], strides: [2, 1], pad: 'same', mult: 2 },
  { x: [2, 6, 5, 3], kernel: 2, strides: 2, pad: 'valid', mult: 3 },
  { x: [1, 5, 5, 4], kernel: 4, strides: 3, pad: 'same', mult: 2 },
  { x: [3, 4, 4, 1], kernel: 3, strides: 1, pad: 'valid', mult: 4 },
  { x: [1, 1, 1, 4], kernel: 3, strides: 1, pad: 'same', mult: 1 },
];

const nameOf = (c: Case) =>
  `x ${c.x.join('x')}, kernel ${c.kernel}, strides ${c.strides}, ${c.pad}, multiplier ${c.mult}`;
const pairOf = (p: Pair): [number, number] => (Array.isArray(p) ? p : [p, p]);

/** Both gradients of one case on `backend`: [dFilter, dInput]. */
async function gradients(backend: Backend, c: Case, leakCheck: boolean): Promise<Float32Array[]> {
  await useBackend(backend);
  const filterShape = [...pairOf(c.kernel), c.x[3], c.mult] as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.strides, 1, c.pad, undefined, true);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = tf.tensor(uniform(size(c.x), 3), c.x);
  const filter = tf.tensor(uniform(size(filterShape), 4), filterShape);
  const dy = tf.tensor(uniform(size(info.outShape), 5), info.outShape);
  const attrs = { strides: c.strides, pad: c.pad, dilations: 1, dimRoundingMode: undefined };
  tf.env().set('IS_TEST', leakCheck);
  try {
    const run = (name: string, inputs: tf.NamedTensorMap, more: object) =>
      tf.engine().runKernel(name, inputs, { ...attrs, ...more } as never) as tf.Tensor;
    const df = run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { filterShape });
    const dx = run('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { inputShape: c.x });
    assert.deepEqual(df.shape, filterShape);
    assert.deepEqual(dx.shape, c.x);
    const out = [df.dataSync() as Float32Array, dx.dataSync() as Float32Array];
    tf.dispose([x, filter, dy, df, dx]);
    return out;
  } finally {
    tf.env().set('IS_TEST', false);
  }
}

for (const c of CASES) {
  test(`depthwise conv gradient kernels, wasm vs cpu: ${nameOf(c)}`, async (t) => {
    const ref = await gradients('cpu', c, false);
    await useBackend('wasm');
    const before = tf.engine().backend.numDataIds();
    const got = await gradients('wasm', c, true);
    assert.equal(tf.engine().backend.numDataIds(), before, 'no wasm heap tensors left behind');
    for (const [i, what] of ['filter', 'input'].entries()) {
      const err = relErr(got[i], ref[i]);
      t.diagnostic(`${what}: relative error ${err.toExponential(2)}`);
      assert.ok(err < TOLERANCE, `${what}: relative error ${err}`);
    }
  });
}
