/**
 * createAdam(): on wasm the fused update must give bit-identical variables to tf.train.adam
 * (same float32 operations in the same order), keep the same optimizer state, and on other
 * backends be tfjs's Adam.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createAdam } from '../../src/engine/fused-adam';
import { type Backend, trainConvNet, uniform, useBackend } from './gradcheck';

// Sizes: multiple of 4 (SIMD only), and not (scalar tail).
const SHAPES = [[4, 5], [5], [3, 3, 3, 6], [1]];

async function train(backend: Backend, make: () => tf.AdamOptimizer, steps = 5, lrAt3?: number) {
  await useBackend(backend);
  const vars = SHAPES.map((s, i) =>
    tf.variable(
      tf.tensor(
        uniform(
          s.reduce((a, b) => a * b, 1),
          30 + i,
        ),
        s,
      ),
    ),
  );
  const targets = SHAPES.map((s, i) =>
    tf.tensor(
      uniform(
        s.reduce((a, b) => a * b, 1),
        40 + i,
      ),
      s,
    ),
  );
  const opt = make();
  for (let step = 0; step < steps; step++) {
    // learningRate is protected in the .d.ts but is how tfjs (and LR schedules) change it.
    if (step === 3 && lrAt3 !== undefined) (opt as unknown as { learningRate: number }).learningRate = lrAt3;
    opt.minimize(() => tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(tf.mul(v, v), targets[i]))))) as tf.Scalar);
  }
  const values = vars.map((v) => Array.from(v.dataSync()));
  const weights = await opt.getWeights();
  const state = weights.map((w) => ({ name: w.name, values: Array.from(w.tensor.dataSync()) }));
  opt.dispose();
  tf.dispose([...vars, ...targets]);
  return { values, state };
}

test('createAdam on wasm is bit-identical to tf.train.adam on wasm (values and m/v state, with a learning-rate change)', async () => {
  const stock = await train('wasm', () => tf.train.adam(0.01, 0.8, 0.95, 1e-6), 6, 0.003);
  const fused = await train('wasm', () => createAdam(tf, 0.01, 0.8, 0.95, 1e-6), 6, 0.003);
  assert.deepEqual(fused.values, stock.values);
  assert.deepEqual(
    fused.state.map((s) => s.name.replace(/\d+/g, '#')),
    stock.state.map((s) => s.name.replace(/\d+/g, '#')),
  );
  assert.deepEqual(
    fused.state.map((s) => s.values),
    stock.state.map((s) => s.values),
  );
  assert.notDeepEqual(fused.values[0], Array.from(uniform(20, 30)), 'the variables moved');
});

test('createAdam on cpu is tfjs Adam', async () => {
  const stock = await train('cpu', () => tf.train.adam(0.01));
  const fused = await train('cpu', () => createAdam(tf, 0.01));
  assert.deepEqual(fused.values, stock.values);
});

test('createAdam works with model.compile / trainOnBatch and serializes as Adam', async () => {
  await useBackend('wasm');
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
  const opt = createAdam(tf, 0.05);
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const before = Array.from(model.getWeights()[0].dataSync());
  await model.trainOnBatch(tf.ones([4, 3]), tf.zeros([4, 2]));
  assert.notDeepEqual(Array.from(model.getWeights()[0].dataSync()), before);
  assert.equal(opt.getClassName(), 'Adam');
  assert.equal(opt.iterations, 1);
  model.dispose();
});

test('createAdam updates variables that own their data in place: a conv net trains bit-identically to tf.train.adam', async () => {
  const stock = await trainConvNet(() => tf.train.adam(0.05));
  const fused = await trainConvNet(() => createAdam(tf, 0.05));
  assert.deepEqual(fused, stock);
  assert.notDeepEqual(fused[3], fused[0], 'the weights moved');
});

test('createAdam in place leaves alone data something else shares: a reshape of a weight keeps its values', async () => {
  await useBackend('wasm');
  const v = tf.variable(tf.tensor(uniform(8, 70), [8]));
  const opt = createAdam(tf, 0.1);
  const g = [{ name: v.name, tensor: tf.ones([8]) }];
  opt.applyGradients(g);
  const id = v.dataId;
  opt.applyGradients(g);
  assert.equal(v.dataId, id, 'a variable that owns its data is updated in place');
  const snapshot = v.clone();
  const shared = tf.reshape(v, [2, 4]);
  const before = Array.from(snapshot.dataSync());
  opt.applyGradients(g);
  assert.notEqual(v.dataId, id, 'data shared by a reshape is not written over: the variable gets new data');
  assert.deepEqual(Array.from(shared.dataSync()), before, 'the reshape still shows the old values');
  assert.deepEqual(Array.from(snapshot.dataSync()), before);
  assert.notDeepEqual(Array.from(v.dataSync()), before);
  tf.dispose([v, snapshot, shared, g[0].tensor]);
  opt.dispose();
});
