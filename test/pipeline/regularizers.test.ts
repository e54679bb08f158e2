/**
 * Kernel/bias regularizers add their penalty to the training loss (so to the gradients),
 * and training.optimizer.weightDecay adds weightDecay * w to every gradient, as
 * torch.optim's weight_decay does. Checked on one SGD step, on the cpu backend, against
 * the same step computed by hand from the weights before and after.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadExperimentText } from '../../src/config/load';
import { buildModel } from '../../src/builders/model';
import { buildOptimizer, createStepRunner } from '../../src/engine';
import { CLASSES, SIZE, syntheticSplit, tinyExperiment } from './helpers';
import { useBackend } from '../engine/gradcheck';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const LR = 0.1;

/** One step of `layers` with plain SGD; returns the step's loss and the weights before and after. */
function oneStep(layers: string[], optimizer = `{type: sgd, learningRate: ${LR}}`, direct = false) {
  const text = tinyExperiment({ layers, optimizer, dropout: false });
  const e = loadExperimentText('reg.yaml', text).experiment;
  const model = buildModel(tf, e, [SIZE, SIZE, 3], CLASSES.length);
  const steps = createStepRunner({
    tf,
    model,
    optimizer: buildOptimizer(tf, e, LR),
    experiment: e,
    numClasses: CLASSES.length,
    inputShape: [SIZE, SIZE, 3],
    direct,
  });
  assert.equal(steps.implementation.direct, direct, JSON.stringify(steps.implementation));
  const split = syntheticSplit(8, 3);
  const batch = { x: Float32Array.from(split.x, (v) => v / 255), y: split.y, size: 8 };
  const before = model.getWeights().map((w) => Array.from(w.dataSync()));
  const sums = steps.train(batch, 0, 0);
  const after = model.getWeights().map((w) => Array.from(w.dataSync()));
  const dataLoss = tf.tidy(() => {
    model.setWeights(before.map((v, i) => tf.tensor(v, model.getWeights()[i].shape)));
    const out = model.apply(tf.tensor4d(batch.x, [8, SIZE, SIZE, 3])) as tf.Tensor;
    return tf.losses
      .softmaxCrossEntropy(tf.oneHot(tf.tensor1d(Array.from(batch.y), 'int32'), CLASSES.length), out)
      .dataSync()[0];
  });
  model.dispose();
  return { loss: sums[0] / 8, dataLoss, before, after };
}

test('an l2 kernel regularizer adds l2 * sum(w^2) to the training loss', () => {
  const plain = oneStep(['{type: flatten}', `{type: dense, units: ${CLASSES.length}}`]);
  const reg = oneStep([
    '{type: flatten}',
    `{type: dense, units: ${CLASSES.length}, kernelRegularizer: {l2: 0.01}, biasRegularizer: {l1: 0.5}}`,
  ]);
  const kernel = reg.before[0];
  const bias = reg.before[1];
  const penalty = 0.01 * kernel.reduce((s, w) => s + w * w, 0) + 0.5 * bias.reduce((s, w) => s + Math.abs(w), 0);
  assert.ok(penalty > 0.01, `a penalty that matters (${penalty})`);
  assert.ok(Math.abs(reg.loss - (reg.dataLoss + penalty)) < 1e-4, `${reg.loss} = ${reg.dataLoss} + ${penalty}`);
  assert.ok(Math.abs(plain.loss - plain.dataLoss) < 1e-5);
  // The kernel's update also carries the penalty's gradient, 2 * l2 * w.
  const gradDiff = reg.before[0].map(
    (w, i) => (w - reg.after[0][i]) / LR - (plain.before[0][i] - plain.after[0][i]) / LR,
  );
  gradDiff.forEach((d, i) =>
    assert.ok(Math.abs(d - 2 * 0.01 * kernel[i]) < 1e-4, `kernel[${i}]: ${d} vs ${2 * 0.01 * kernel[i]}`),
  );
});

test('weightDecay adds weightDecay * w to every gradient (torch.optim weight_decay)', () => {
  const layers = ['{type: flatten}', `{type: dense, units: ${CLASSES.length}, biasInitializer: ones}`];
  const plain = oneStep(layers);
  const decayed = oneStep(layers, `{type: sgd, learningRate: ${LR}, weightDecay: 0.05}`);
  decayed.before.forEach((tensor, t) =>
    tensor.forEach((w, i) => {
      const expected = plain.after[t][i] - LR * 0.05 * w;
      assert.ok(
        Math.abs(decayed.after[t][i] - expected) < 1e-6,
        `weight ${t}[${i}]: ${decayed.after[t][i]} vs ${expected}`,
      );
    }),
  );
  assert.equal(decayed.loss, plain.loss, 'weight decay is not part of the reported loss');
});

test('weightDecay applies on the direct wasm step too', async () => {
  await useBackend('wasm');
  try {
    const layers = ['{type: flatten}', `{type: dense, units: ${CLASSES.length}, biasInitializer: ones}`];
    const plain = oneStep(layers, undefined, true);
    const decayed = oneStep(layers, `{type: sgd, learningRate: ${LR}, weightDecay: 0.05}`, true);
    decayed.before.forEach((tensor, t) =>
      tensor.forEach((w, i) =>
        assert.ok(Math.abs(decayed.after[t][i] - (plain.after[t][i] - LR * 0.05 * w)) < 1e-5, `weight ${t}[${i}]`),
      ),
    );
  } finally {
    await useBackend('cpu');
  }
});
