/**
 * The direct wasm training step (src/engine/direct/): the same gradients, loss and accuracy
 * sums as tfjs's autograd on random batches, for the layer options it takes (padding, strides,
 * relu/linear, with and without bias, pooling first), no tensors left behind, and the generic
 * path (with the reason) for every model it does not take.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { LAYERS } from '../../src/builders/layers';
import { buildModel } from '../../src/builders/model';
import { loadExperimentText } from '../../src/config/load';
import { createStepRunner, shardRows, shardWeights, trainableVariableNames, weightedSumInto } from '../../src/engine';
import { createRng } from '../../src/util/random';

const SHAPE: [number, number, number] = [9, 9, 3];
const CLASSES = 5;

function experiment(layers: string[], extra: { loss?: string; metrics?: string } = {}) {
  const text = [
    'version: 1',
    'name: direct',
    'seed: 3',
    'dataset: {name: imageFolder, path: /nonexistent, imageSize: [9, 9], channels: 3, classes: [a, b, c, d, e]}',
    'model:',
    '  layers:',
    ...layers.map((l) => `    - ${l}`),
    'training:',
    '  epochs: 1',
    '  batchSize: 8',
    '  optimizer: {type: adam}',
    `  loss: ${extra.loss ?? 'softmaxCrossEntropy'}`,
    `  metrics: ${extra.metrics ?? '[accuracy]'}`,
    '',
  ].join('\n');
  return loadExperimentText('direct.yaml', text).experiment;
}

function batch(n: number, seed: number) {
  const rng = createRng(seed);
  return {
    x: Float32Array.from({ length: n * SHAPE[0] * SHAPE[1] * SHAPE[2] }, () => rng.next() * 2 - 1),
    y: Uint8Array.from({ length: n }, () => rng.int(CLASSES)),
    size: n,
  };
}

const CASES: Array<[string, string[]]> = [
  [
    'LeNet-like: valid convs with relu, 2x2 pooling, dense relu then linear',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, activation: relu}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: conv2d, filters: 6, kernelSize: 2, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 7, activation: relu}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'same padding, stride 2, linear conv without bias, 3x3 pooling stride 2 same',
    [
      '{type: conv2d, filters: 5, kernelSize: 3, strides: 2, padding: same, useBias: false}',
      '{type: maxPooling2d, poolSize: 3, strides: 2, padding: same}',
      '{type: flatten}',
      '{type: dense, units: 5, useBias: false}',
    ],
  ],
  [
    "dropout after a convolution and after flatten (masks from the step's seed, a shard's rows of the batch's)",
    [
      '{type: conv2d, filters: 4, kernelSize: 3, activation: relu}',
      '{type: dropout, rate: 0.3}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: flatten}',
      '{type: dropout, rate: 0.5}',
      '{type: dense, units: 7, activation: relu}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'pooling first, valid stride-2 conv, relu dense',
    [
      '{type: maxPooling2d, poolSize: 2, strides: 1}',
      '{type: conv2d, filters: 8, kernelSize: 2, strides: 2, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 6, activation: relu}',
      '{type: dense, units: 5}',
    ],
  ],
];

/** Models whose layers run partly as tfjs ops differentiated over themselves (plan.ts `tfjs`). */
const WIDER: Array<[string, string[], { loss?: string }?]> = [
  [
    'classic LeNet: 5x5 kernels, tanh, average pooling',
    [
      '{type: conv2d, filters: 4, kernelSize: 5, padding: same, activation: tanh}',
      '{type: averagePooling2d, poolSize: 2}',
      '{type: conv2d, filters: 6, kernelSize: 3, activation: tanh}',
      '{type: flatten}',
      '{type: dense, units: 7, activation: tanh}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'all-convolutional: same padding, stride-2 convs, global average pooling',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, padding: same, activation: relu}',
      '{type: conv2d, filters: 6, kernelSize: 3, strides: 2, padding: same, activation: relu}',
      '{type: conv2d, filters: 5, kernelSize: 1}',
      '{type: globalAveragePooling2d}',
    ],
  ],
  [
    'zero padding, average pooling stride 1 same, sigmoid and elu',
    [
      '{type: zeroPadding2d, padding: 1}',
      '{type: conv2d, filters: 4, kernelSize: 3, strides: 2, activation: sigmoid}',
      '{type: averagePooling2d, poolSize: 3, strides: 1, padding: same}',
      '{type: flatten}',
      '{type: dense, units: 6, activation: elu}',
      '{type: dense, units: 5}',
    ],
  ],
  ...[
    'relu6',
    'elu',
    'selu',
    'tanh',
    'sigmoid',
    'hardSigmoid',
    'softplus',
    'softsign',
    'swish',
    'mish',
    'gelu',
    'linear',
  ].map((a): [string, string[]] => [
    `activation layer ${a} and dense ${a}`,
    [
      '{type: conv2d, filters: 3, kernelSize: 3}',
      `{type: activation, activation: ${a}}`,
      '{type: flatten}',
      `{type: dense, units: 6, activation: ${a}}`,
      '{type: dense, units: 5}',
    ],
  ]),
  [
    'LeNet with batch normalization after each conv and after a dense layer',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, activation: relu}',
      '{type: batchNormalization}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: conv2d, filters: 6, kernelSize: 2, activation: tanh}',
      '{type: batchNormalization, momentum: 0.9, epsilon: 0.01}',
      '{type: activation, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 7, activation: relu}',
      '{type: batchNormalization, center: true, scale: true}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'graph: residual blocks with batch normalization, a strided 1x1 shortcut',
    [
      // No bias before batch normalization: its gradient is zero up to rounding noise, which no tolerance compares.
      '{type: conv2d, filters: 4, kernelSize: 3, padding: same, useBias: false, name: stem}',
      '{type: batchNormalization, name: bn}',
      '{type: activation, activation: relu, name: r}',
      '{type: conv2d, filters: 4, kernelSize: 3, padding: same, activation: relu, name: body}',
      '{type: add, inputs: [r, body], name: res}',
      '{type: conv2d, filters: 6, kernelSize: 3, strides: 2, padding: same, name: down}',
      '{type: conv2d, filters: 6, kernelSize: 1, strides: 2, inputs: res, name: short}',
      '{type: add, inputs: [down, short]}',
      '{type: globalAveragePooling2d}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'graph: every merge layer, the input read by three layers, a layer read twice by one',
    [
      '{type: conv2d, filters: 3, kernelSize: 3, padding: same, activation: tanh, name: a}',
      '{type: conv2d, filters: 3, kernelSize: 1, inputs: input, name: b}',
      '{type: multiply, inputs: [a, b], name: m}',
      '{type: average, inputs: [a, b, m], name: av}',
      '{type: maximum, inputs: [av, b], name: mx}',
      '{type: subtract, inputs: [mx, a], name: sb}',
      '{type: concatenate, inputs: [sb, a, input], name: cat}',
      '{type: add, inputs: [cat, cat, cat], name: thrice}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: flatten}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'MobileNet-like: depthwise (strided, multiplier 2), relu6, spatial dropout, separable',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, padding: same, useBias: false}',
      '{type: depthwiseConv2d, kernelSize: 3, strides: 2, padding: same, useBias: false}',
      '{type: batchNormalization}',
      '{type: relu, maxValue: 6}',
      '{type: depthwiseConv2d, kernelSize: 3, depthMultiplier: 2, activation: relu}',
      '{type: spatialDropout2d, rate: 0.3}',
      '{type: separableConv2d, filters: 5, kernelSize: 2}',
      '{type: globalAveragePooling2d}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'transposed convolution, layer normalization, prelu, leaky relu, bilinear upsampling, permute, global max pooling',
    [
      '{type: conv2dTranspose, filters: 3, kernelSize: 2}',
      '{type: layerNormalization}',
      '{type: prelu, sharedAxes: [1, 2]}',
      '{type: leakyReLU, alpha: 0.2}',
      '{type: upSampling2d, interpolation: bilinear}',
      '{type: maxPooling2d, poolSize: 4}',
      '{type: permute, dims: [2, 1, 3]}',
      '{type: depthwiseConv2d, kernelSize: 2, activation: sigmoid}',
      '{type: globalMaxPooling2d}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'sequences: reshape, conv1d, 1-D pooling, a relu layer, dense over steps, softmax layer',
    [
      '{type: reshape, targetShape: [27, 9]}',
      '{type: conv1d, filters: 4, kernelSize: 3, activation: relu}',
      '{type: maxPooling1d, poolSize: 2}',
      '{type: relu}',
      '{type: averagePooling1d, poolSize: 2, strides: 1, padding: same}',
      '{type: dense, units: 6, activation: relu}',
      '{type: globalAveragePooling1d}',
      '{type: dense, units: 5}',
      '{type: softmax}',
    ],
    { loss: 'categoricalCrossentropy' },
  ],
  [
    'kernel and bias regularizers (l1, l2, both) on convolutions, a depthwise, a separable and a dense layer',
    [
      '{type: conv2d, filters: 3, kernelSize: 3, kernelRegularizer: {l2: 0.01}, biasRegularizer: {l1: 0.02}}',
      '{type: depthwiseConv2d, kernelSize: 2, depthwiseRegularizer: {l1: 0.01, l2: 0.01}, activation: relu}',
      '{type: separableConv2d, filters: 4, kernelSize: 2, pointwiseRegularizer: {l2: 0.03}, depthwiseRegularizer: {l1: 0.001}}',
      '{type: conv2dTranspose, filters: 2, kernelSize: 2, kernelRegularizer: {l2: 0.01}}',
      '{type: flatten}',
      '{type: dense, units: 5, kernelRegularizer: {l1: 0.005, l2: 0.005}, biasRegularizer: {l2: 0.1}}',
    ],
  ],
  [
    'softmax then categorical cross-entropy',
    [
      '{type: conv2d, filters: 3, kernelSize: 3, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 5, activation: softmax}',
    ],
    { loss: 'categoricalCrossentropy' },
  ],
  [
    'mean squared error on linear outputs',
    ['{type: conv2d, filters: 3, kernelSize: 3, activation: relu}', '{type: flatten}', '{type: dense, units: 5}'],
    { loss: 'meanSquaredError' },
  ],
  [
    'mean absolute error after a relu output',
    [
      '{type: conv2d, filters: 3, kernelSize: 3, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 5, activation: relu}',
    ],
    { loss: 'meanAbsoluteError' },
  ],
];

for (const [name, layers, opts] of [...CASES, ...WIDER] as Array<[string, string[], { loss?: string }?]>) {
  test(`direct step = tfjs autograd: ${name}`, async () => {
    await selectBackend('wasm');
    const e = experiment(layers, { ...opts, metrics: '[accuracy, top5Accuracy, meanSquaredError]' });
    const model = buildModel(tf, e, SHAPE, CLASSES);
    try {
      const direct = createStepRunner({ tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE });
      const generic = createStepRunner({
        tf,
        model,
        experiment: e,
        numClasses: CLASSES,
        inputShape: SHAPE,
        direct: false,
      });
      assert.deepEqual(direct.implementation, { direct: true });
      const before = tf.memory().numTensors;
      // [rows, data seed, epoch, batch index, row offset in a larger batch]
      for (const [n, seed, epoch, index, offset] of [
        [7, 1, 0, 0, 0],
        [1, 2, 1, 4, 3],
        [16, 3, 2, 9, 5],
      ]) {
        const b = batch(n, seed);
        const d = direct.computeGradients(b, epoch, index, offset);
        const g = generic.computeGradients(b, epoch, index, offset);
        assert.ok(
          Math.abs(d.sums[0] - g.sums[0]) <= 1e-5 * Math.abs(g.sums[0]),
          `loss sum ${d.sums[0]} vs ${g.sums[0]}`,
        );
        assert.equal(d.sums[1], g.sums[1], 'accuracy count');
        assert.equal(d.sums[2], g.sums[2], 'top5Accuracy count');
        assert.ok(
          Math.abs(d.sums[3] - g.sums[3]) <= 1e-5 * Math.abs(g.sums[3]),
          `meanSquaredError sum ${d.sums[3]} vs ${g.sums[3]}`,
        );
        assert.deepEqual(Object.keys(d.grads).sort(), Object.keys(g.grads).sort());
        for (const key of Object.keys(g.grads)) {
          assert.deepEqual(d.grads[key].shape, g.grads[key].shape, key);
          const [p, q] = [d.grads[key].dataSync(), g.grads[key].dataSync()];
          const scale = Math.max(...Array.from(q, Math.abs));
          const worst = Math.max(...Array.from(p, (v, i) => Math.abs(v - q[i])));
          assert.ok(worst <= 1e-5 * scale + 1e-8, `${key}: max difference ${worst} for gradients up to ${scale}`);
        }
        tf.dispose([d.grads, g.grads]);
        const de = direct.evaluate(b, true);
        const ge = generic.evaluate(b, true);
        assert.ok(Math.abs(de.sums[0] - ge.sums[0]) <= 1e-5 * Math.abs(ge.sums[0]));
        assert.equal(de.sums[1], ge.sums[1]);
        assert.equal(de.sums[2], ge.sums[2]);
        assert.deepEqual(de.predicted, ge.predicted);
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    } finally {
      model.dispose();
    }
  });
}

const SHARDED = [
  ...CASES,
  ...WIDER.filter(([name]) =>
    /classic|all-conv|softmax|squared|every merge|transposed|sequences|regularizers/.test(name),
  ),
] as Array<[string, string[], { loss?: string }?]>;
for (const [name, layers, opts] of SHARDED) {
  test(`direct step in 2 gradient shards = the exchange's average of each shard's own step, to the bit: ${name}`, async () => {
    await selectBackend('wasm');
    const e = experiment(layers, opts);
    const model = buildModel(tf, e, SHAPE, CLASSES);
    try {
      const paired = createStepRunner({
        tf,
        model,
        experiment: e,
        numClasses: CLASSES,
        inputShape: SHAPE,
        gradientShards: 2,
      });
      const single = createStepRunner({ tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE });
      const sample = SHAPE[0] * SHAPE[1] * SHAPE[2];
      for (const [n, seed] of [
        [15, 4],
        [16, 5],
        [1, 6],
      ]) {
        const b = batch(n, seed);
        const whole = paired.computeGradients(b, 0, 0);
        // What two replicas compute: each its own shard's step, then the weighted average.
        const shards = shardRows(n, 2);
        const own = shards.map((s) =>
          s.size === 0
            ? undefined!
            : single.computeGradients(
                {
                  x: b.x.subarray(s.offset * sample, (s.offset + s.size) * sample),
                  y: b.y.subarray(s.offset, s.offset + s.size),
                  size: s.size,
                },
                0,
                0,
                s.offset,
              ),
        );
        const parts = shardWeights(shards.map((s) => s.size));
        assert.deepEqual(
          whole.sums,
          [0, 1].map((i) => parts.reduce((acc, p) => acc + own[p.k].sums[i], 0)),
          `sums, batch ${n}`,
        );
        for (const key of Object.keys(whole.grads)) {
          const expected = new Float32Array(whole.grads[key].size);
          weightedSumInto(
            expected,
            parts.map((p) => ({ w: p.w, src: own[p.k].grads[key].dataSync() as Float32Array })),
          );
          assert.deepEqual(whole.grads[key].dataSync(), expected, `${key}, batch ${n}`);
        }
        tf.dispose([whole.grads, ...parts.map((p) => own[p.k].grads)]);
      }
    } finally {
      model.dispose();
    }
  });
}

// Everything the schema allows that still falls back to whole-model tfjs autograd on wasm (the goal is an empty list):
// nothing. Every layer type, merge layers, graphs, kernel/bias regularizers and dilated convolutions are on the direct
// step (the cases above and below); only another backend keeps tfjs autograd.
const FALLBACKS_ON_WASM: Array<[string, string[], string]> = [];
test('what the direct step does not take keeps tfjs autograd, naming the layer and why', async () => {
  await selectBackend('wasm');
  for (const [what, layers, reason] of FALLBACKS_ON_WASM) {
    const e = experiment(layers);
    const model = buildModel(tf, e, SHAPE, CLASSES);
    assert.deepEqual(
      createStepRunner({ tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE }).implementation,
      { direct: false, reason },
      what,
    );
    model.dispose();
  }
  await selectBackend('cpu');
  try {
    const e = experiment([
      '{type: conv2d, filters: 2, kernelSize: 3, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 5}',
    ]);
    const model = buildModel(tf, e, SHAPE, CLASSES);
    assert.deepEqual(
      createStepRunner({ tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE }).implementation,
      { direct: false, reason: 'backend cpu' },
    );
    model.dispose();
  } finally {
    await selectBackend('wasm');
  }
});

// tfjs 4.22 has no gradient for a dilated convolution ("dilation rates greater than 1 are not yet supported in
// gradients"), so the direct step's is compared with the same network written with the spread filter: an undilated
// kernel of size (k-1)*d+1 holding the taps at multiples of d and zeros between, whose gradient at the taps it must be.
for (const [dilation, padding] of [
  ['2', 'valid'],
  ['[2, 3]', 'same'],
] as const) {
  test(`a dilated convolution (dilation ${dilation}, ${padding}) on the direct step = the undilated one with the spread filter`, async () => {
    await selectBackend('wasm');
    const d = JSON.parse(dilation.replace(/^(\d)$/, '[$1, $1]')) as [number, number];
    const spreadSize = [2 * d[0] + 1, 2 * d[1] + 1];
    const layers = (conv: string) => [
      '{type: conv2d, filters: 3, kernelSize: 2, activation: relu}',
      conv,
      '{type: flatten}',
      '{type: dense, units: 5}',
    ];
    const eD = experiment(
      layers(
        `{type: conv2d, filters: 4, kernelSize: 3, dilationRate: ${dilation}, padding: ${padding}, activation: tanh}`,
      ),
    );
    const eS = experiment(
      layers(`{type: conv2d, filters: 4, kernelSize: [${spreadSize}], padding: ${padding}, activation: tanh}`),
    );
    const [mD, mS] = [buildModel(tf, eD, SHAPE, CLASSES), buildModel(tf, eS, SHAPE, CLASSES)];
    const taps = (i: number) => {
      const [r, c] = [Math.floor(i / 3), i % 3];
      return r * d[0] * spreadSize[1] + c * d[1];
    };
    // The spread model's weights: the dilated model's, its second kernel spread.
    const kernel = mD.layers[1].getWeights()[0];
    const spread = new Float32Array(spreadSize[0] * spreadSize[1] * 12);
    const k = kernel.dataSync();
    for (let i = 0; i < 9; i++) spread.set(k.subarray(i * 12, (i + 1) * 12), taps(i) * 12);
    mS.setWeights(mD.getWeights().map((w, i) => (i === 2 ? tf.tensor(spread, [...spreadSize, 3, 4]) : w)));
    const stepD = createStepRunner({ tf, model: mD, experiment: eD, numClasses: CLASSES, inputShape: SHAPE });
    const stepS = createStepRunner({ tf, model: mS, experiment: eS, numClasses: CLASSES, inputShape: SHAPE });
    assert.deepEqual(stepD.implementation, { direct: true });
    const b = batch(6, 9);
    const gD = stepD.computeGradients(b, 0, 0);
    const gS = stepS.computeGradients(b, 0, 0);
    assert.ok(Math.abs(gD.sums[0] - gS.sums[0]) <= 1e-5 * Math.abs(gS.sums[0]), `loss ${gD.sums[0]} vs ${gS.sums[0]}`);
    const names = (m: tf.LayersModel) => m.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    names(mD).forEach((name, i) => {
      let want = gS.grads[names(mS)[i]].dataSync() as Float32Array;
      if (i === 2)
        want = Float32Array.from({ length: 9 * 12 }, (_, j) => want[taps(Math.floor(j / 12)) * 12 + (j % 12)]);
      const got = gD.grads[name].dataSync();
      const scale = Math.max(...Array.from(want, Math.abs));
      const worst = Math.max(...Array.from(got, (v, j) => Math.abs(v - want[j])));
      assert.ok(worst <= 1e-5 * scale + 1e-8, `${name}: max difference ${worst} for gradients up to ${scale}`);
    });
    tf.dispose([gD.grads, gS.grads]);
    mD.dispose();
    mS.dispose();
  });
}

test('a metric never changes training: the same direct step, gradients and loss to the bit, whatever the metrics', async () => {
  await selectBackend('wasm');
  const layers = CASES[0][1];
  const sets = ['[accuracy]', '[]', '[meanAbsoluteError, top5Accuracy, accuracy, meanSquaredError]'];
  const runs = sets.map((metrics) => {
    const e = experiment(layers, { metrics });
    const model = buildModel(tf, e, SHAPE, CLASSES);
    const steps = createStepRunner({
      tf,
      model,
      experiment: e,
      numClasses: CLASSES,
      inputShape: SHAPE,
      gradientShards: 2,
    });
    assert.deepEqual(steps.implementation, { direct: true }, metrics);
    const { grads, sums } = steps.computeGradients(batch(11, 4), 0, 0);
    const values = Object.keys(grads)
      .sort()
      .map((k) => Array.from(grads[k].dataSync()));
    tf.dispose(grads);
    model.dispose();
    return { keys: steps.keys, sums, values };
  });
  assert.deepEqual(
    runs.map((r) => r.keys),
    [['loss', 'accuracy'], ['loss'], ['loss', 'meanAbsoluteError', 'top5Accuracy', 'accuracy', 'meanSquaredError']],
  );
  for (const r of runs.slice(1)) {
    assert.deepEqual(r.values, runs[0].values);
    assert.equal(r.sums[0], runs[0].sums[0]);
  }
  assert.equal(runs[2].sums[3], runs[0].sums[1], 'accuracy in its own place');
});

test('batch normalization on the direct step updates the moving statistics as tfjs autograd does, to the bit', async () => {
  await selectBackend('wasm');
  const e = experiment(WIDER.find(([name]) => /batch normalization/.test(name))![1]);
  const stats: number[][][] = [];
  for (const direct of [true, false]) {
    const model = buildModel(tf, e, SHAPE, CLASSES);
    const steps = createStepRunner({ tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE, direct });
    assert.equal(steps.implementation.direct, direct);
    for (const seed of [1, 2]) tf.dispose(steps.computeGradients(batch(8, seed), 0, seed).grads);
    stats.push(model.nonTrainableWeights.map((w) => Array.from(w.read().dataSync())));
    model.dispose();
  }
  assert.equal(stats[0].length, 6, 'moving mean and variance of 3 layers');
  assert.deepEqual(stats[0], stats[1]);
});

test('every layer type the schema allows is on the direct step (a case above compares it with tfjs autograd)', async () => {
  const covered = new Set([...CASES, ...WIDER].flatMap(([, layers]) => layers.map((l) => /type: (\w+)/.exec(l)![1])));
  // Unseeded noise cannot be compared with another run's; it is on the direct step all the same.
  const noise = experiment(['{type: gaussianNoise, stddev: 0.1}', '{type: flatten}', '{type: dense, units: 5}']);
  await selectBackend('wasm');
  const model = buildModel(tf, noise, SHAPE, CLASSES);
  const steps = createStepRunner({ tf, model, experiment: noise, numClasses: CLASSES, inputShape: SHAPE });
  assert.deepEqual(steps.implementation, { direct: true });
  tf.dispose(steps.computeGradients(batch(4, 1), 0, 0).grads);
  model.dispose();
  covered.add('gaussianNoise');
  assert.deepEqual(
    LAYERS.names().filter((t) => !covered.has(t)),
    [],
  );
});

test('batch normalization in 2 gradient shards: the whole batch statistics, gradients and moving statistics, as tfjs autograd computes them', async () => {
  await selectBackend('wasm');
  const e = experiment([
    '{type: conv2d, filters: 4, kernelSize: 3, useBias: false}',
    '{type: batchNormalization, momentum: 0.8}',
    '{type: activation, activation: relu}',
    '{type: flatten}',
    // No bias before a normalization: its gradient is zero but for rounding, nothing to compare.
    '{type: dense, units: 6, useBias: false}',
    '{type: batchNormalization, epsilon: 0.01}',
    '{type: dense, units: 5}',
  ]);
  // Two models from the same seed: the same initial weights, each with its own moving statistics.
  const [a, b] = [buildModel(tf, e, SHAPE, CLASSES), buildModel(tf, e, SHAPE, CLASSES)];
  try {
    const sharded = createStepRunner({
      tf,
      model: a,
      experiment: e,
      numClasses: CLASSES,
      inputShape: SHAPE,
      gradientShards: 2,
    });
    const generic = createStepRunner({
      tf,
      model: b,
      experiment: e,
      numClasses: CLASSES,
      inputShape: SHAPE,
      direct: false,
    });
    assert.deepEqual(sharded.implementation, { direct: true });
    for (const [n, seed] of [
      [15, 7],
      [1, 8],
    ]) {
      const x = batch(n, seed);
      const d = sharded.computeGradients(x, 0, 0);
      const g = generic.computeGradients(x, 0, 0);
      assert.ok(Math.abs(d.sums[0] - g.sums[0]) <= 1e-5 * Math.abs(g.sums[0]), `loss sum ${d.sums[0]} vs ${g.sums[0]}`);
      // The models' variables have different names: pair them by position.
      const names = (m: tf.LayersModel) => trainableVariableNames(m);
      for (const [k, key] of names(b).entries()) {
        const [p, q] = [d.grads[names(a)[k]].dataSync(), g.grads[key].dataSync()];
        const scale = Math.max(...Array.from(q, Math.abs));
        const worst = Math.max(...Array.from(p, (v, i) => Math.abs(v - q[i])));
        assert.ok(
          worst <= 1e-5 * scale + 1e-8,
          `${key}, batch ${n}: max difference ${worst} for gradients up to ${scale}`,
        );
      }
      tf.dispose([d.grads, g.grads]);
      a.nonTrainableWeights.forEach((w, i) => {
        const [p, q] = [w.read().dataSync(), b.nonTrainableWeights[i].read().dataSync()];
        const worst = Math.max(...Array.from(p, (v, j) => Math.abs(v - q[j]) / Math.max(1, Math.abs(q[j]))));
        assert.ok(worst <= 1e-6, `${w.name}, batch ${n}: max difference ${worst}`);
      });
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('tfjs autograd refuses batch normalization without beta or gamma with a message naming the layer (tfjs-layers 4.22 would fail with a TypeError); the direct step trains it', async () => {
  await selectBackend('wasm');
  for (const [setting, word] of [
    ['center: false', 'center'],
    ['scale: false', 'scale'],
  ]) {
    const e = experiment([
      '{type: conv2d, filters: 3, kernelSize: 3}',
      `{type: batchNormalization, ${setting}, name: bn}`,
      '{type: flatten}',
      '{type: dense, units: 5}',
    ]);
    const model = buildModel(tf, e, SHAPE, CLASSES);
    try {
      const options = { tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE };
      assert.throws(() => createStepRunner({ ...options, direct: false }), {
        name: 'RunError',
        message: `layer bn: batchNormalization with ${word}: false does not train under tfjs autograd (tfjs-layers 4.22 reads the missing weight); train on the wasm backend, whose direct step takes it, or drop the setting`,
      });
      const direct = createStepRunner(options);
      assert.deepEqual(direct.implementation, { direct: true });
      const { grads, sums } = direct.computeGradients(batch(6, 9), 0, 0);
      assert.ok(Number.isFinite(sums[0]), 'a finite loss');
      tf.dispose(grads);
    } finally {
      model.dispose();
    }
  }
});
