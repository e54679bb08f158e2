/**
 * Gradient checks, wasm (with our kernel fixes) against cpu, for every layer type and
 * configuration the pipeline builds. For each case: the loss, d loss/d input and d loss/d
 * every trainable weight must agree to relative error < 1e-4 (definition in gradcheck.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { compareLayerGrads, type LayerCase, TOLERANCE } from './gradcheck';
import { ACTIVATIONS } from '../../src/registry/schema-parts';

const L = tf.layers;
const cases: LayerCase[] = [];

// conv2d: padding x strides x kernel sizes, odd input sizes, with bias, several activations.
for (const padding of ['valid', 'same'] as const) {
  for (const strides of [1, 2]) {
    for (const kernelSize of [1, 2, 3]) {
      cases.push({
        name: `conv2d k${kernelSize} s${strides} ${padding} relu`,
        input: [2, 7, 9, 3],
        layers: () => [
          L.conv2d({ inputShape: [7, 9, 3], filters: 4, kernelSize, strides, padding, activation: 'relu' }),
        ],
      });
    }
  }
}
for (const activation of ['linear', 'elu', 'tanh', 'sigmoid'] as const) {
  cases.push({
    name: `conv2d k3 s1 same ${activation}`,
    input: [2, 6, 5, 2],
    layers: () => [L.conv2d({ inputShape: [6, 5, 2], filters: 3, kernelSize: 3, padding: 'same', activation })],
  });
}
cases.push({
  name: 'conv2d k[3,2] s[2,1] valid no bias',
  input: [3, 8, 7, 2],
  layers: () => [L.conv2d({ inputShape: [8, 7, 2], filters: 5, kernelSize: [3, 2], strides: [2, 1], useBias: false })],
});

// Pooling: random inputs, and all-negative inputs (every window's max < 0).
for (const padding of ['valid', 'same'] as const) {
  for (const strides of [1, 2]) {
    for (const poolSize of [2, 3]) {
      for (const [label, inputRange] of [
        ['mixed', [-1, 1]],
        ['all-negative', [-2, -0.1]],
      ] as const) {
        cases.push({
          name: `maxPooling2d p${poolSize} s${strides} ${padding} ${label}`,
          input: [2, 7, 7, 3],
          inputRange: [...inputRange],
          layers: () => [L.maxPooling2d({ inputShape: [7, 7, 3], poolSize, strides, padding })],
        });
      }
      cases.push({
        name: `averagePooling2d p${poolSize} s${strides} ${padding}`,
        input: [2, 7, 7, 3],
        layers: () => [L.averagePooling2d({ inputShape: [7, 7, 3], poolSize, strides, padding })],
      });
    }
  }
}
// relu then maxpool: many all-zero windows and ties at 0.
cases.push({
  name: 'conv2d relu -> maxPooling2d (zero windows)',
  input: [2, 8, 8, 2],
  layers: () => [
    L.conv2d({ inputShape: [8, 8, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
  ],
});
cases.push({
  name: 'globalAveragePooling2d',
  input: [2, 5, 5, 3],
  layers: () => [L.globalAveragePooling2d({ inputShape: [5, 5, 3] })],
});
cases.push({
  name: 'flatten + dense',
  input: [2, 5, 5, 3],
  layers: () => [L.flatten({ inputShape: [5, 5, 3] }), L.dense({ units: 4 })],
});
for (const activation of ['linear', 'relu', 'elu', 'sigmoid'] as const) {
  cases.push({
    name: `dense ${activation}`,
    input: [4, 6],
    layers: () => [L.dense({ inputShape: [6], units: 5, activation })],
  });
}
cases.push({
  name: 'dense no bias',
  input: [4, 6],
  layers: () => [L.dense({ inputShape: [6], units: 5, useBias: false })],
});
// Dropout draws its mask in JS from the seed, so both backends drop the same units.
cases.push({
  name: 'dropout 0.5 (seeded)',
  input: [4, 10],
  layers: () => [L.dense({ inputShape: [10], units: 6 }), L.dropout({ rate: 0.5, seed: 3 })],
});
cases.push({
  name: 'batchNormalization (4D, training)',
  input: [4, 3, 3, 2],
  layers: () => [L.batchNormalization({ inputShape: [3, 3, 2] })],
});
cases.push({
  name: 'batchNormalization (2D, training)',
  input: [6, 5],
  layers: () => [L.batchNormalization({ inputShape: [5] })],
});
cases.push({
  name: 'zeroPadding2d',
  input: [2, 4, 5, 2],
  layers: () => [
    L.zeroPadding2d({
      inputShape: [4, 5, 2],
      padding: [
        [1, 2],
        [0, 1],
      ],
    }),
    L.conv2d({ filters: 2, kernelSize: 2 }),
  ],
});

// Every activation the schema allows, on inputs spread over [-3, 3] by a dense layer in front.
for (const activation of ACTIVATIONS) {
  cases.push({
    name: `activation ${activation}`,
    input: [3, 10],
    inputRange: [-3, 3],
    layers: () => [L.dense({ inputShape: [10], units: 5 }), L.activation({ activation })],
  });
}

// Losses.
const oneHotOf = (t: tf.Tensor) => tf.oneHot(tf.argMax(t, -1), t.shape[t.shape.length - 1] as number);
cases.push({
  name: 'loss softmaxCrossEntropy (logits)',
  input: [4, 6],
  layers: () => [L.dense({ inputShape: [6], units: 5 })],
  loss: (t, o) => tf.losses.softmaxCrossEntropy(oneHotOf(t), o) as tf.Scalar,
});
cases.push({
  name: 'loss categoricalCrossentropy (probabilities)',
  input: [4, 6],
  layers: () => [L.dense({ inputShape: [6], units: 5, activation: 'softmax' })],
  loss: (t, o) => tf.mean(tf.metrics.categoricalCrossentropy(oneHotOf(t), o)) as tf.Scalar,
});
cases.push({
  name: 'loss meanSquaredError',
  input: [4, 6],
  layers: () => [L.dense({ inputShape: [6], units: 5 })],
  loss: (t, o) => tf.losses.meanSquaredError(t, o) as tf.Scalar,
});
cases.push({
  name: 'loss meanAbsoluteError',
  input: [4, 6],
  layers: () => [L.dense({ inputShape: [6], units: 5 })],
  loss: (t, o) => tf.mean(tf.metrics.meanAbsoluteError(t, o)) as tf.Scalar,
});

// The whole LeNet-like reference model (its weights after Adam steps: lenet.test.ts).
cases.push({
  name: 'LeNet-like model, softmax cross-entropy',
  input: [4, 32, 32, 3],
  inputRange: [0, 1],
  layers: () => [
    L.conv2d({ inputShape: [32, 32, 3], filters: 6, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
    L.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
    L.flatten(),
    L.dense({ units: 120, activation: 'relu' }),
    L.dense({ units: 84, activation: 'relu' }),
    L.dense({ units: 10 }),
  ],
  loss: (t, o) => tf.losses.softmaxCrossEntropy(oneHotOf(t), o) as tf.Scalar,
});

for (const c of cases) {
  test(`wasm gradients match cpu: ${c.name}`, async (t) => {
    const errs = await compareLayerGrads(c);
    t.diagnostic(errs.map((e) => `${e.name} ${e.err.toExponential(2)}`).join(', '));
    for (const e of errs) assert.ok(e.err < TOLERANCE, `${c.name}: ${e.name} relative error ${e.err} >= ${TOLERANCE}`);
  });
}
