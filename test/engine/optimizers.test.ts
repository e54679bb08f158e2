/**
 * Every optimizer's update ops on wasm against cpu: same start, same loss, 5 steps, the
 * variables must agree to relative error < 1e-4 (gradcheck.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { type Backend, relErr, TOLERANCE, uniform, useBackend } from './gradcheck';

const optimizers: Array<[string, () => tf.Optimizer]> = [
  ['sgd', () => tf.train.sgd(0.1)],
  ['momentum', () => tf.train.momentum(0.1, 0.9)],
  ['momentum nesterov', () => tf.train.momentum(0.1, 0.9, true)],
  ['adam', () => tf.train.adam(0.01)],
  ['rmsprop', () => tf.train.rmsprop(0.01)],
  ['rmsprop centered + momentum', () => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-7, true)],
  ['adagrad', () => tf.train.adagrad(0.1)],
  ['adadelta', () => tf.train.adadelta(0.5)],
  ['adamax', () => tf.train.adamax(0.01)],
];

async function trainSteps(backend: Backend, make: () => tf.Optimizer): Promise<Float32Array[]> {
  await useBackend(backend);
  const w = tf.variable(tf.tensor(uniform(20, 1), [4, 5]));
  const b = tf.variable(tf.tensor(uniform(5, 2), [5]));
  const x = tf.tensor(uniform(12, 3), [3, 4]);
  const y = tf.tensor(uniform(15, 4), [3, 5]);
  const opt = make();
  for (let i = 0; i < 5; i++) {
    opt.minimize(
      () =>
        tf.add(tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, w), b)), tf.mul(0.01, tf.sum(tf.abs(w)))) as tf.Scalar,
    );
  }
  const out = [w.dataSync() as Float32Array, b.dataSync() as Float32Array];
  opt.dispose();
  tf.dispose([w, b, x, y]);
  return out;
}

for (const [name, make] of optimizers) {
  test(`wasm optimizer update matches cpu: ${name}`, async (t) => {
    const ref = await trainSteps('cpu', make);
    const got = await trainSteps('wasm', make);
    const start = uniform(20, 1);
    assert.ok(relErr(ref[0], start) > 1e-3, 'the optimizer moved the weights (a test that cannot fail is a defect)');
    const errs = ref.map((r, i) => relErr(got[i], r));
    t.diagnostic(`w ${errs[0].toExponential(2)}, b ${errs[1].toExponential(2)}`);
    for (const e of errs) assert.ok(e < TOLERANCE, `${name}: relative error ${e}`);
  });
}
