/**
 * A LeNet-like model (the pipeline's reference benchmark) trained 3 Adam steps on cpu and on
 * wasm from identical weights and data: every weight must agree to relative error < 1e-4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../../src/engine/fused-adam';
import { type Backend, relErr, TOLERANCE, uniform, useBackend } from './gradcheck';
import { buildLenet } from '../../bench/kernels-lenet';

const BATCH = 8;

function data(): { x: tf.Tensor; y: tf.Tensor } {
  const labels = Array.from({ length: BATCH }, (_, i) => (i * 7) % 10);
  return {
    x: tf.tensor(uniform(BATCH * 32 * 32 * 3, 11, 0, 1), [BATCH, 32, 32, 3]),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10),
  };
}

type Step = (model: tf.Sequential, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor) => Promise<void>;

const variants: Array<{ name: string; softmaxOutput: boolean; step: Step; fusedAdam?: boolean }> = [
  {
    name: 'optimizer.minimize + tf.losses.softmaxCrossEntropy on logits',
    softmaxOutput: false,
    step: async (model, opt, x, y) => {
      opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      );
    },
  },
  {
    name: 'model.trainOnBatch + categoricalCrossentropy on softmax',
    softmaxOutput: true,
    step: async (model, _opt, x, y) => {
      await model.trainOnBatch(x, y);
    },
  },
  {
    name: 'model.trainOnBatch with createAdam (fused update on wasm)',
    softmaxOutput: true,
    fusedAdam: true,
    step: async (model, _opt, x, y) => {
      await model.trainOnBatch(x, y);
    },
  },
];

async function train(
  backend: Backend,
  v: (typeof variants)[number],
): Promise<{ start: Float32Array[]; end: Float32Array[] }> {
  await useBackend(backend);
  const model = buildLenet(tf, v.softmaxOutput);
  const start = model.getWeights().map((w, i) => uniform(w.size, 200 + i, -0.2, 0.2));
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(start[i], w.shape)));
  const opt = v.fusedAdam ? createAdam(tf, 1e-3) : tf.train.adam(1e-3);
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  const { x, y } = data();
  for (let i = 0; i < 3; i++) await v.step(model, opt, x, y);
  const end = model.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([x, y]);
  model.dispose();
  return { start, end };
}

for (const v of variants) {
  test(`LeNet 3 Adam steps, wasm matches cpu: ${v.name}`, async (t) => {
    const ref = await train('cpu', v);
    const got = await train('wasm', v);
    const moved = Math.max(...ref.end.map((w, i) => relErr(w, ref.start[i])));
    assert.ok(moved > 1e-3, `training moved the weights (${moved})`);
    const errs = ref.end.map((w, i) => relErr(got.end[i], w));
    t.diagnostic(`per-weight relative errors: ${errs.map((e) => e.toExponential(1)).join(' ')}`);
    for (const [i, e] of errs.entries()) assert.ok(e < TOLERANCE, `weight ${i}: relative error ${e}`);
  });
}
