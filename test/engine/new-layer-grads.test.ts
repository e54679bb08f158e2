/**
 * Gradient checks for the layers added with model graphs, built exactly as the pipeline
 * builds them (the registry entry's build() from a file's arguments, defaults filled in),
 * wasm against the cpu reference: loss, d loss/d input and d loss/d every trainable weight
 * agree to relative error < 1e-4 (definition in gradcheck.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { compareLayerGrads, type LayerCase, layerGrads, TOLERANCE, uniform, useBackend } from './gradcheck';
import { LAYERS } from '../../src/builders/layers';
import { applyDefaults } from '../../src/config/defaults';
import type { JsonSchema } from '../../src/config/schema-walk';

type Args = Record<string, unknown> & { type: string };

/** The tfjs layers our registry builds for these file entries, the first given the input shape. */
function ours(input: number[], ...entries: Args[]): () => tf.layers.Layer[] {
  return () =>
    entries.map((args, i) => {
      const entry = LAYERS.require(args.type);
      const resolved = structuredClone(args);
      applyDefaults(entry.schema as unknown as JsonSchema, resolved);
      return entry.build(tf, resolved as never, {
        name: `${args.type}_${i}_${Math.random().toString(36).slice(2, 8)}`,
        inputShape: i === 0 ? input.slice(1) : undefined,
        seed: 11 + i,
      });
    });
}

/**
 * Depthwise and separable layers are also checked on the cpu backend against central finite
 * differences of the loss, on sampled coordinates of the input and of every weight (cpu's
 * depthwise gradients are the reference the wasm kernels are compared with below). float32
 * losses limit the agreement to about 1e-3.
 */
const NUMERIC_TOLERANCE = 2e-2;
async function numericGradErrors(c: LayerCase): Promise<Array<{ name: string; err: number }>> {
  const analytic = await layerGrads('cpu', c);
  await useBackend('cpu');
  const model = tf.sequential({ layers: c.layers() });
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  // The same weights and input layerGrads uses (its seeds), and its loss.
  const weights = model.weights.map((w, i) => uniform(size(w.shape as number[]), 100 + i, -0.5, 0.5));
  const [lo, hi] = c.inputRange ?? [-1, 1];
  const x = uniform(size(c.input), 1, lo, hi);
  const loss = (): number =>
    tf.tidy(() => {
      model.setWeights(model.weights.map((w, i) => tf.tensor(weights[i], w.shape as number[])));
      const out = model.apply(tf.tensor(x, c.input), { training: true }) as tf.Tensor;
      const target = tf.tensor(uniform(out.size, 7), out.shape);
      return tf.mul(0.5, tf.sum(tf.squaredDifference(out, target))).dataSync()[0];
    });
  const eps = 1e-2;
  const errs: Array<{ name: string; err: number }> = [];
  const probe = (name: string, values: Float32Array, grad: Float32Array) => {
    let worst = 0;
    const scale = Math.max(1e-3, ...Array.from(grad, Math.abs));
    for (let k = 0; k < 8; k++) {
      const j = Math.floor((k * values.length) / 8);
      const v = values[j];
      values[j] = v + eps;
      const up = loss();
      values[j] = v - eps;
      const down = loss();
      values[j] = v;
      worst = Math.max(worst, Math.abs((up - down) / (2 * eps) - grad[j]) / scale);
    }
    errs.push({ name, err: worst });
  };
  probe('d/d input', x, analytic.grads[0].values);
  model.trainableWeights.forEach((w, i) =>
    probe(`d/d ${w.name}`, weights[model.weights.indexOf(w)], analytic.grads[i + 1].values),
  );
  model.dispose();
  return errs;
}

const img = [2, 6, 7, 3];
const seq = [3, 9, 4];
const cases: LayerCase[] = [
  {
    name: 'depthwiseConv2d k3 same, depthMultiplier 2, tanh',
    input: img,
    layers: ours(img, {
      type: 'depthwiseConv2d',
      kernelSize: 3,
      padding: 'same',
      depthMultiplier: 2,
      activation: 'tanh',
    }),
  },
  {
    name: 'depthwiseConv2d k2 s2 valid, no bias',
    input: img,
    layers: ours(img, { type: 'depthwiseConv2d', kernelSize: 2, strides: 2, useBias: false }),
  },
  {
    name: 'separableConv2d k3 same',
    input: img,
    layers: ours(img, { type: 'separableConv2d', filters: 4, kernelSize: 3, padding: 'same' }),
  },
  {
    name: 'separableConv2d k[2,3] s2 valid, depthMultiplier 2',
    input: img,
    layers: ours(img, { type: 'separableConv2d', filters: 5, kernelSize: [2, 3], strides: 2, depthMultiplier: 2 }),
  },
  {
    name: 'conv2dTranspose k3 s2 same',
    input: img,
    layers: ours(img, { type: 'conv2dTranspose', filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
  },
  {
    name: 'conv2dTranspose k2 s1 valid, tanh',
    input: img,
    layers: ours(img, { type: 'conv2dTranspose', filters: 2, kernelSize: 2, activation: 'tanh' }),
  },
  // Batch 1: tfjs-backend-cpu's nearest-neighbour resize gradient is wrong for batch > 1 (wasm's is right; see the test below).
  {
    name: 'upSampling2d 2 nearest, then conv2d',
    input: [1, 6, 7, 3],
    layers: ours([1, 6, 7, 3], { type: 'upSampling2d' }, { type: 'conv2d', filters: 2, kernelSize: 3 }),
  },
  {
    name: 'upSampling2d [2, 3] bilinear (square input)',
    input: [2, 6, 6, 3],
    layers: ours([2, 6, 6, 3], { type: 'upSampling2d', size: [2, 3], interpolation: 'bilinear' }),
  },
  { name: 'globalMaxPooling2d', input: img, layers: ours(img, { type: 'globalMaxPooling2d' }) },
  { name: 'layerNormalization on images', input: img, layers: ours(img, { type: 'layerNormalization' }) },
  {
    name: 'dense -> layerNormalization, epsilon 1e-5',
    input: [4, 6],
    layers: ours([4, 6], { type: 'dense', units: 5 }, { type: 'layerNormalization', epsilon: 1e-5 }),
  },
  {
    name: 'spatialDropout2d 0.5 (seeded: whole channels)',
    input: img,
    layers: ours(img, { type: 'conv2d', filters: 4, kernelSize: 1 }, { type: 'spatialDropout2d', rate: 0.5 }),
  },
  // tfjs draws the noise unseeded, so the backends' noise differs; tiny noise keeps the comparison exact to 1e-4 and still checks the gradient passes through.
  {
    name: 'gaussianNoise (gradient is the identity)',
    input: img,
    layers: ours(img, { type: 'conv2d', filters: 2, kernelSize: 1 }, { type: 'gaussianNoise', stddev: 1e-7 }),
  },
  {
    name: 'reshape [42, 3] then conv1d',
    input: img,
    layers: ours(img, { type: 'reshape', targetShape: [42, 3] }, { type: 'conv1d', filters: 2, kernelSize: 3 }),
  },
  {
    name: 'permute [2, 1, 3] then dense',
    input: img,
    layers: ours(img, { type: 'permute', dims: [2, 1, 3] }, { type: 'dense', units: 2 }),
  },
  {
    name: 'leakyReLU 0.2',
    input: img,
    layers: ours(img, { type: 'conv2d', filters: 3, kernelSize: 1 }, { type: 'leakyReLU', alpha: 0.2 }),
  },
  {
    name: 'prelu per unit',
    input: [4, 6],
    layers: ours([4, 6], { type: 'dense', units: 5 }, { type: 'prelu', alphaInitializer: 'randomUniform' }),
  },
  {
    name: 'prelu shared over height and width',
    input: img,
    layers: ours(img, { type: 'prelu', sharedAxes: [1, 2], alphaInitializer: 'ones' }),
  },
  {
    name: 'relu with maxValue 0.5',
    input: img,
    inputRange: [-1, 1],
    layers: ours(img, { type: 'relu', maxValue: 0.5 }),
  },
  { name: 'relu', input: img, layers: ours(img, { type: 'relu' }) },
  { name: 'softmax layer', input: [4, 6], layers: ours([4, 6], { type: 'dense', units: 5 }, { type: 'softmax' }) },
  {
    name: 'conv1d k3 same, relu',
    input: seq,
    layers: ours(seq, { type: 'conv1d', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
  },
  {
    name: 'conv1d k2 s2 valid, dilation 1',
    input: seq,
    layers: ours(seq, { type: 'conv1d', filters: 2, kernelSize: 2, strides: 2 }),
  },
  { name: 'maxPooling1d 2', input: seq, layers: ours(seq, { type: 'maxPooling1d' }) },
  {
    name: 'averagePooling1d 3, stride 1, same',
    input: seq,
    layers: ours(seq, { type: 'averagePooling1d', poolSize: 3, strides: 1, padding: 'same' }),
  },
  { name: 'globalAveragePooling1d', input: seq, layers: ours(seq, { type: 'globalAveragePooling1d' }) },
];

test('every layer added with graphs has a gradient check here', () => {
  const added = [
    'depthwiseConv2d',
    'separableConv2d',
    'conv2dTranspose',
    'upSampling2d',
    'globalMaxPooling2d',
    'layerNormalization',
    'spatialDropout2d',
    'gaussianNoise',
    'reshape',
    'permute',
    'leakyReLU',
    'prelu',
    'relu',
    'softmax',
    'conv1d',
    'maxPooling1d',
    'averagePooling1d',
    'globalAveragePooling1d',
  ];
  for (const type of added) {
    assert.ok(LAYERS.get(type), `${type} is in the registry`);
    assert.ok(
      cases.some((c) => c.name.startsWith(type)),
      `${type} has a case`,
    );
  }
});

const depthwise = (c: LayerCase) => /^(depthwise|separable)/.test(c.name);
for (const c of cases.filter(depthwise)) {
  test(`gradients on cpu vs finite differences: ${c.name}`, async () => {
    const errs = await numericGradErrors(c);
    assert.equal(errs.length, 1 + (c.name.includes('no bias') ? 1 : 2) + (c.name.startsWith('separable') ? 1 : 0));
    for (const e of errs) assert.ok(e.err < NUMERIC_TOLERANCE, `${e.name}: relative error ${e.err}`);
  });
}

test('upSampling2d nearest: the wasm gradient is the exact sum over each 2x2 block, batch 2 included', async () => {
  await useBackend('wasm');
  const up = Array.from({ length: 2 * 4 * 6 }, (_, i) => i + 1);
  const g = tf.tidy(() => {
    const layer = ours([2, 2, 3, 1], { type: 'upSampling2d' })()[0];
    return Array.from(
      tf
        .grad((x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, tf.tensor(up, [2, 4, 6, 1]))))(
          tf.ones([2, 2, 3, 1]),
        )
        .dataSync(),
    );
  });
  const expected: number[] = [];
  for (let b = 0; b < 2; b++) {
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (const dr of [0, 1]) for (const dc of [0, 1]) sum += up[b * 24 + (2 * r + dr) * 6 + 2 * c + dc];
        expected.push(sum);
      }
    }
  }
  assert.deepEqual(g, expected);
});

for (const c of cases) {
  test(`gradients wasm vs cpu: ${c.name}`, async () => {
    const errs = await compareLayerGrads(c);
    for (const e of errs) assert.ok(e.err < TOLERANCE, `${e.name}: relative error ${e.err}`);
  });
}
