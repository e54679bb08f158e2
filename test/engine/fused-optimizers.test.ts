/**
 * fuse(): every optimizer the schema allows besides Adam (fused-adam.ts) gets a fused update on
 * wasm that gives bit-identical variables and optimizer state to the stock tfjs optimizer on
 * wasm (with a learning-rate change mid-way, odd and SIMD-sized variables), runs as one kernel
 * per variable, saves and restores its state so that a resumed run equals a straight one, and
 * serializes under the stock class name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { captureOptimizerState, restoreOptimizerState, setLearningRate } from '../../src/engine';
import { createAdam } from '../../src/engine/fused-adam';
import { fuse } from '../../src/engine/fused-optimizers';
import { gradientApplier } from '../../src/engine/weight-decay';
import { trainConvNet, uniform, useBackend } from './gradcheck';

const SHAPES = [[4, 5], [5], [3, 3, 3, 6], [1]];
const OPTIMIZERS: Array<[string, () => tf.Optimizer]> = [
  ['SGD', () => tf.train.sgd(0.05)],
  ['Momentum', () => tf.train.momentum(0.05, 0.9)],
  ['Momentum', () => tf.train.momentum(0.05, 0.8, true)],
  ['RMSProp', () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7, false)],
  ['RMSProp', () => tf.train.rmsprop(0.01, 0.8, 0.5, 1e-6, false)],
  ['Adagrad', () => tf.train.adagrad(0.1, 0.2)],
  ['Adadelta', () => tf.train.adadelta(0.5, 0.9, 1e-6)],
  ['Adamax', () => tf.train.adamax(0.02, 0.8, 0.95, 1e-6, 0)],
];

function problem(nameOf?: (i: number) => string) {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(uniform(size(s), 30 + i), s), true, nameOf?.(i)));
  const targets = SHAPES.map((s, i) => tf.tensor(uniform(size(s), 40 + i), s));
  const loss = () => tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(tf.mul(v, v), targets[i]))))) as tf.Scalar;
  return { vars, targets, loss };
}

/** `steps` steps (the rate changed at step 3), then the values and the optimizer's saved state. */
async function train(opt: tf.Optimizer, steps: number, p = problem(), from = 0) {
  for (let step = from; step < from + steps; step++) {
    if (step === 3) setLearningRate(opt, 0.003);
    opt.minimize(p.loss);
  }
  const values = p.vars.map((v) => Array.from(v.dataSync()));
  const { tensors } = await captureOptimizerState(tf, opt);
  const state = tensors.map((t) => ({ name: t.name.replace(/\d+/g, '#'), values: Array.from(t.tensor.dataSync()) }));
  tf.dispose(tensors.map((t) => t.tensor));
  return { values, state };
}

for (const [name, make] of OPTIMIZERS) {
  test(`fused ${name} on wasm is bit-identical to the stock one (values and state): ${make.toString().slice(6)}`, async () => {
    await useBackend('wasm');
    const stockOpt = make();
    const fusedOpt = fuse(tf, make());
    assert.equal(fusedOpt.getClassName(), name);
    assert.notEqual(Object.getPrototypeOf(fusedOpt), Object.getPrototypeOf(stockOpt));
    const p = problem();
    const stock = await train(stockOpt, 6, p);
    const q = problem();
    // One step profiled: the fused kernel runs, once per variable.
    const profile = await tf.profile(() => {
      fusedOpt.minimize(q.loss);
    });
    const kernels = profile.kernelNames.filter((k) => k === 'PipelineOptimizerUpdate');
    assert.equal(kernels.length, 1, 'the fused kernel ran');
    assert.equal(profile.kernels.filter((k) => k.name === 'PipelineOptimizerUpdate').length, SHAPES.length);
    const fused = await train(fusedOpt, 5, q, 1);
    assert.deepEqual(fused.values, stock.values);
    assert.deepEqual(fused.state, stock.state);
    assert.notDeepEqual(fused.values[0], Array.from(uniform(20, 30)), 'the variables moved');
    tf.dispose([...p.vars, ...p.targets, ...q.vars, ...q.targets]);
    stockOpt.dispose();
    fusedOpt.dispose();
  });

  test(`fused ${name}: state saved after 3 steps and restored into a fresh one continues as a straight run: ${make.toString().slice(6)}`, async () => {
    await useBackend('wasm');
    const straight = await train(fuse(tf, make()), 6);
    const first = fuse(tf, make());
    const p = problem();
    await train(first, 3, p);
    const { tensors } = await captureOptimizerState(tf, first);
    const second = fuse(tf, make());
    await restoreOptimizerState(tf, second, tensors);
    setLearningRate(second, 0.003);
    const resumed = await train(second, 3, p, 3);
    assert.deepEqual(resumed.values, straight.values);
    assert.deepEqual(resumed.state, straight.state);
  });
}

test('fused optimizers update a conv net written over in place bit-identically to the stock ones', async () => {
  for (const [name, make] of OPTIMIZERS) {
    const stock = await trainConvNet(make);
    const fused = await trainConvNet(() => fuse(tf, make()));
    assert.deepEqual(fused, stock, name);
    assert.notDeepEqual(fused[3], fused[0], `${name}: the weights moved`);
  }
});

test('every fused optimizer pairs each gradient with its own slots whatever the order of the gradient map (reversed every other step, as when the direct step and the exchange alternate)', async () => {
  await useBackend('wasm');
  const ALL: Array<[string, () => tf.Optimizer]> = [
    ...OPTIMIZERS,
    ['Adam', () => createAdam(tf, 0.01, 0.9, 0.999, 1e-7)],
  ];
  for (const [name, make] of ALL) {
    const run = (reverseEveryOther: boolean) => {
      // Named variables: a map keeps the insertion order of names that are not integers (tfjs's default names are).
      const p = problem((i) => `order-${name}-${reverseEveryOther}-${i}`);
      const opt = name === 'Adam' ? make() : fuse(tf, make());
      const apply = gradientApplier(tf, opt, 0, () => p.vars);
      for (let step = 0; step < 4; step++) {
        const { grads } = tf.variableGrads(p.loss, p.vars);
        const names = Object.keys(grads);
        const order = reverseEveryOther && step % 2 === 1 ? names.reverse() : names;
        apply(Object.fromEntries(order.map((n) => [n, grads[n]])));
        tf.dispose(grads);
      }
      const values = p.vars.map((v) => Array.from(v.dataSync()));
      opt.dispose();
      tf.dispose([...p.vars, ...p.targets]);
      return values;
    };
    assert.deepEqual(run(true), run(false), name);
  }
});

test('a checkpoint whose slots are in another order than the model (the direct step first applied its gradients from the output back) resumes each variable with its own slots', async () => {
  await useBackend('wasm');
  for (const [name, make] of [...OPTIMIZERS, ['Adam', () => createAdam(tf, 0.01, 0.9, 0.999, 1e-7)] as const]) {
    const p = problem((i) => `reorder-${name}-${i}-${Math.random()}`);
    const stepReversed = (opt: tf.Optimizer) => {
      const { grads } = tf.variableGrads(p.loss, p.vars);
      opt.applyGradients(
        Object.fromEntries(
          Object.keys(grads)
            .reverse()
            .map((n) => [n, grads[n]]),
        ),
      );
      tf.dispose(grads);
    };
    const first = name === 'Adam' ? make() : fuse(tf, make());
    stepReversed(first);
    stepReversed(first);
    const { tensors } = await captureOptimizerState(tf, first);
    const start = p.vars.map((v) => v.clone());
    // Straight on: the same optimizer, its slots in the reversed order it made them.
    stepReversed(first);
    stepReversed(first);
    const straight = p.vars.map((v) => Array.from(v.dataSync()));
    // Resumed: a new optimizer from the saved state, stepped through the applier in the model's order.
    p.vars.forEach((v, i) => v.assign(start[i]));
    const second = name === 'Adam' ? make() : fuse(tf, make());
    await restoreOptimizerState(
      tf,
      second,
      tensors,
      p.vars.map((v) => v.name),
    );
    const apply = gradientApplier(tf, second, 0, () => p.vars);
    for (let step = 0; step < 2; step++) {
      const { grads } = tf.variableGrads(p.loss, p.vars);
      apply(grads);
      tf.dispose(grads);
    }
    assert.deepEqual(
      p.vars.map((v) => Array.from(v.dataSync())),
      straight,
      name,
    );
    first.dispose();
    second.dispose();
    tf.dispose([...tensors.map((t) => t.tensor), ...start, ...p.vars, ...p.targets]);
  }
});
