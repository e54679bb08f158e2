import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadExperimentFile, loadExperimentText, type LoadedExperiment } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { LAYERS, type LayerEntry } from '../../src/builders/layers';
import { ACTIVATIONS } from '../../src/registry/schema-parts';
import { layerNames } from '../../src/config/semantic';
import { runCli, SEED } from './helpers';

/**
 * Shape inference (src/config/semantic.ts and each layer entry's rules) must
 * agree with TensorFlow.js itself. For each case, three answers are compared:
 *   1. ours: the output shape and parameter count `validate`/`inspect` infer, without TensorFlow;
 *   2. TensorFlow.js given the file's arguments as they are (tf.layers.<type>(args)):
 *      this also checks that our defaults are TensorFlow.js's defaults;
 *   3. TensorFlow.js given the layers our registry builds (entry.build) from the resolved experiment.
 */

type Layer = Record<string, unknown> & { type: string };
type Input = [number, number, 1 | 3];

interface ShapeCase {
  name: string;
  input: Input;
  layers: Layer[];
}

const SEED_LAYERS: Layer[] = [
  { type: 'conv2d', filters: 6, kernelSize: 3, strides: 1, activation: 'relu' },
  { type: 'maxPooling2d', poolSize: 2, strides: 2 },
  { type: 'conv2d', filters: 16, kernelSize: 3, strides: 1, activation: 'relu' },
  { type: 'maxPooling2d', poolSize: 2, strides: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 120, activation: 'relu' },
  { type: 'dense', units: 84, activation: 'relu' },
  { type: 'dense', units: 10 },
];

const CASES: ShapeCase[] = [
  // conv2d
  { name: 'conv2d 3x3, valid, stride 1', input: [32, 32, 3], layers: [{ type: 'conv2d', filters: 6, kernelSize: 3 }] },
  {
    name: 'conv2d 3x3, same, stride 1',
    input: [32, 32, 3],
    layers: [{ type: 'conv2d', filters: 6, kernelSize: 3, padding: 'same' }],
  },
  {
    name: 'conv2d 3x3, valid, stride 2',
    input: [32, 32, 3],
    layers: [{ type: 'conv2d', filters: 8, kernelSize: 3, strides: 2 }],
  },
  {
    name: 'conv2d 3x3, same, stride 2, odd input',
    input: [31, 31, 3],
    layers: [{ type: 'conv2d', filters: 8, kernelSize: 3, strides: 2, padding: 'same' }],
  },
  {
    name: 'conv2d 4x4, valid, stride 3, odd non-square input',
    input: [31, 29, 1],
    layers: [{ type: 'conv2d', filters: 2, kernelSize: 4, strides: 3, padding: 'valid' }],
  },
  {
    name: 'conv2d 5x5, same, stride 3',
    input: [31, 29, 1],
    layers: [{ type: 'conv2d', filters: 2, kernelSize: 5, strides: 3, padding: 'same' }],
  },
  {
    name: 'conv2d [2, 3] kernel, [1, 2] strides',
    input: [9, 10, 3],
    layers: [{ type: 'conv2d', filters: 2, kernelSize: [2, 3], strides: [1, 2] }],
  },
  {
    name: 'conv2d dilation 2, valid',
    input: [32, 32, 3],
    layers: [{ type: 'conv2d', filters: 4, kernelSize: 3, dilationRate: 2 }],
  },
  {
    name: 'conv2d dilation [2, 1], same',
    input: [16, 16, 3],
    layers: [{ type: 'conv2d', filters: 4, kernelSize: 3, dilationRate: [2, 1], padding: 'same' }],
  },
  {
    name: 'conv2d dilation 3, kernel [3, 2], valid',
    input: [20, 20, 1],
    layers: [{ type: 'conv2d', filters: 4, kernelSize: [3, 2], dilationRate: 3 }],
  },
  {
    name: 'conv2d dilation 2 with stride 2',
    input: [32, 32, 3],
    layers: [{ type: 'conv2d', filters: 4, kernelSize: 3, dilationRate: 2, strides: 2 }],
  },
  {
    name: 'conv2d kernel as large as the input: 1x1 output',
    input: [5, 5, 3],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 5 }],
  },
  {
    name: 'conv2d 1x1 without bias',
    input: [8, 8, 3],
    layers: [{ type: 'conv2d', filters: 7, kernelSize: 1, useBias: false }],
  },
  {
    name: 'conv2d after conv2d: channels flow through',
    input: [28, 28, 1],
    layers: [
      { type: 'conv2d', filters: 5, kernelSize: 3, activation: 'relu', kernelInitializer: 'heNormal' },
      { type: 'conv2d', filters: 9, kernelSize: [1, 4], strides: [2, 1], biasInitializer: 'ones' },
    ],
  },
  // maxPooling2d
  { name: 'maxPooling2d defaults (2, strides = poolSize)', input: [32, 32, 3], layers: [{ type: 'maxPooling2d' }] },
  { name: 'maxPooling2d 3, odd input', input: [7, 7, 1], layers: [{ type: 'maxPooling2d', poolSize: 3 }] },
  {
    name: 'maxPooling2d 3, stride 1, same',
    input: [5, 5, 3],
    layers: [{ type: 'maxPooling2d', poolSize: 3, strides: 1, padding: 'same' }],
  },
  {
    name: 'maxPooling2d [2, 3], strides [3, 1], same',
    input: [9, 10, 3],
    layers: [{ type: 'maxPooling2d', poolSize: [2, 3], strides: [3, 1], padding: 'same' }],
  },
  {
    name: 'maxPooling2d 2, stride 1, valid',
    input: [6, 6, 3],
    layers: [{ type: 'maxPooling2d', poolSize: 2, strides: 1 }],
  },
  { name: 'maxPooling2d 2, same, odd input', input: [7, 7, 3], layers: [{ type: 'maxPooling2d', padding: 'same' }] },
  // averagePooling2d
  { name: 'averagePooling2d defaults', input: [15, 15, 3], layers: [{ type: 'averagePooling2d' }] },
  {
    name: 'averagePooling2d 3, stride 2, same',
    input: [15, 15, 3],
    layers: [{ type: 'averagePooling2d', poolSize: 3, strides: 2, padding: 'same' }],
  },
  {
    name: 'averagePooling2d [3, 2], valid',
    input: [10, 9, 1],
    layers: [{ type: 'averagePooling2d', poolSize: [3, 2] }],
  },
  // globalAveragePooling2d
  {
    name: 'globalAveragePooling2d after conv2d',
    input: [8, 8, 3],
    layers: [
      { type: 'conv2d', filters: 16, kernelSize: 3 },
      { type: 'globalAveragePooling2d' },
      { type: 'dense', units: 10 },
    ],
  },
  // flatten
  { name: 'flatten an image', input: [5, 7, 3], layers: [{ type: 'flatten' }] },
  {
    name: 'flatten after conv2d and pooling',
    input: [12, 12, 1],
    layers: [{ type: 'conv2d', filters: 4, kernelSize: 3 }, { type: 'maxPooling2d' }, { type: 'flatten' }],
  },
  // dense
  {
    name: 'dense after flatten',
    input: [6, 6, 1],
    layers: [{ type: 'flatten' }, { type: 'dense', units: 12, activation: 'tanh' }, { type: 'dense', units: 3 }],
  },
  {
    name: 'dense on an image-shaped input (acts on the last axis)',
    input: [5, 5, 3],
    layers: [{ type: 'dense', units: 7 }],
  },
  {
    name: 'dense without bias',
    input: [4, 4, 1],
    layers: [{ type: 'flatten' }, { type: 'dense', units: 5, useBias: false, kernelInitializer: 'leCunNormal' }],
  },
  // dropout
  {
    name: 'dropout on an image and after dense',
    input: [6, 6, 3],
    layers: [
      { type: 'dropout', rate: 0.5 },
      { type: 'flatten' },
      { type: 'dense', units: 4 },
      { type: 'dropout', rate: 0 },
    ],
  },
  // batchNormalization
  {
    name: 'batchNormalization after conv2d (gamma, beta, moving mean and variance)',
    input: [8, 8, 3],
    layers: [{ type: 'conv2d', filters: 6, kernelSize: 3 }, { type: 'batchNormalization' }],
  },
  {
    name: 'batchNormalization without center',
    input: [8, 8, 3],
    layers: [{ type: 'batchNormalization', center: false, momentum: 0.9 }],
  },
  {
    name: 'batchNormalization without center or scale, after dense',
    input: [4, 4, 1],
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: 6 },
      { type: 'batchNormalization', center: false, scale: false, epsilon: 0.01 },
    ],
  },
  // activation: every activation TensorFlow.js has
  {
    name: 'activation: every activation, one after another',
    input: [4, 4, 3],
    layers: ACTIVATIONS.map((a) => ({ type: 'activation', activation: a })),
  },
  // zeroPadding2d, in every form
  { name: 'zeroPadding2d default (1)', input: [5, 5, 3], layers: [{ type: 'zeroPadding2d' }] },
  { name: 'zeroPadding2d 0', input: [5, 5, 3], layers: [{ type: 'zeroPadding2d', padding: 0 }] },
  { name: 'zeroPadding2d 3', input: [5, 6, 1], layers: [{ type: 'zeroPadding2d', padding: 3 }] },
  { name: 'zeroPadding2d [rows, cols]', input: [5, 5, 3], layers: [{ type: 'zeroPadding2d', padding: [1, 2] }] },
  {
    name: 'zeroPadding2d [[top, bottom], [left, right]]',
    input: [5, 5, 3],
    layers: [
      {
        type: 'zeroPadding2d',
        padding: [
          [1, 2],
          [3, 4],
        ],
      },
    ],
  },
  {
    name: 'zeroPadding2d 2 then conv2d 5x5: LeNet-5 on 28x28',
    input: [28, 28, 1],
    layers: [
      { type: 'zeroPadding2d', padding: 2 },
      { type: 'conv2d', filters: 6, kernelSize: 5, activation: 'sigmoid' },
    ],
  },
  // whole models
  { name: 'the seed article model (CIFAR-10 LeNet)', input: [32, 32, 3], layers: SEED_LAYERS },
  {
    name: 'a VGG-style block with every layer type',
    input: [32, 32, 3],
    layers: [
      { type: 'zeroPadding2d', padding: 1 },
      { type: 'conv2d', filters: 8, kernelSize: 3, activation: 'relu' },
      { type: 'batchNormalization' },
      { type: 'activation', activation: 'elu' },
      { type: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', strides: 2 },
      { type: 'maxPooling2d', poolSize: 2 },
      { type: 'averagePooling2d', poolSize: 2, strides: 1, padding: 'same' },
      { type: 'dropout', rate: 0.25 },
      { type: 'globalAveragePooling2d' },
      { type: 'dense', units: 16, activation: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
  // layers added with graphs
  {
    name: 'depthwiseConv2d 3x3 same, depthMultiplier 2',
    input: [9, 8, 3],
    layers: [{ type: 'depthwiseConv2d', kernelSize: 3, padding: 'same', depthMultiplier: 2 }],
  },
  {
    name: 'depthwiseConv2d 2x2 stride 2 valid, no bias, then [2, 1]',
    input: [9, 8, 3],
    layers: [
      { type: 'depthwiseConv2d', kernelSize: 2, strides: 2, useBias: false },
      { type: 'depthwiseConv2d', kernelSize: [2, 1], depthMultiplier: 3 },
    ],
  },
  {
    name: 'separableConv2d 3x3 same, stride 2',
    input: [16, 16, 3],
    layers: [{ type: 'separableConv2d', filters: 8, kernelSize: 3, strides: 2, padding: 'same' }],
  },
  {
    name: 'separableConv2d [3, 2] valid, depthMultiplier 3',
    input: [10, 9, 3],
    layers: [{ type: 'separableConv2d', filters: 5, kernelSize: [3, 2], depthMultiplier: 3, useBias: false }],
  },
  {
    name: 'conv2dTranspose 3x3 stride 2 same and valid',
    input: [7, 5, 3],
    layers: [
      { type: 'conv2dTranspose', filters: 4, kernelSize: 3, strides: 2, padding: 'same' },
      { type: 'conv2dTranspose', filters: 2, kernelSize: [3, 2], strides: [2, 1] },
    ],
  },
  {
    name: 'upSampling2d 2 and [2, 3] bilinear',
    input: [5, 4, 3],
    layers: [{ type: 'upSampling2d' }, { type: 'upSampling2d', size: [2, 3], interpolation: 'bilinear' }],
  },
  { name: 'globalMaxPooling2d', input: [7, 7, 3], layers: [{ type: 'globalMaxPooling2d' }] },
  {
    name: 'layerNormalization on images and after dense',
    input: [6, 6, 3],
    layers: [
      { type: 'layerNormalization' },
      { type: 'flatten' },
      { type: 'dense', units: 7 },
      { type: 'layerNormalization', epsilon: 1e-5 },
    ],
  },
  {
    name: 'spatialDropout2d, gaussianNoise',
    input: [6, 6, 3],
    layers: [
      { type: 'spatialDropout2d', rate: 0.2 },
      { type: 'gaussianNoise', stddev: 0.1 },
    ],
  },
  {
    name: 'reshape, permute, reshape',
    input: [4, 6, 3],
    layers: [
      { type: 'reshape', targetShape: [24, 3] },
      { type: 'permute', dims: [2, 1] },
      { type: 'reshape', targetShape: [3, 4, 6] },
    ],
  },
  {
    name: 'leakyReLU, prelu (shared and not), relu with maxValue, softmax',
    input: [5, 5, 3],
    layers: [
      { type: 'leakyReLU', alpha: 0.1 },
      { type: 'prelu', sharedAxes: [1, 2] },
      { type: 'prelu' },
      { type: 'relu', maxValue: 6 },
      { type: 'relu' },
      { type: 'softmax' },
    ],
  },
  {
    name: 'conv1d, maxPooling1d, averagePooling1d, globalAveragePooling1d on a sequence',
    input: [16, 4, 3],
    layers: [
      { type: 'reshape', targetShape: [64, 3] },
      { type: 'conv1d', filters: 5, kernelSize: 3, strides: 2, padding: 'same' },
      { type: 'conv1d', filters: 4, kernelSize: 2, dilationRate: 2 },
      { type: 'maxPooling1d', poolSize: 3 },
      { type: 'averagePooling1d', poolSize: 2, strides: 1, padding: 'same' },
      { type: 'globalAveragePooling1d' },
    ],
  },
  {
    name: 'regularizers do not change shapes or counts',
    input: [8, 8, 3],
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, kernelRegularizer: { l2: 1e-4 } },
      { type: 'flatten' },
      { type: 'dense', units: 3, kernelRegularizer: { l1: 1e-5, l2: 1e-4 }, biasRegularizer: { l1: 0.01 } },
    ],
  },
];

/** Layer stacks our rules refuse: TensorFlow.js either throws or produces a dimension < 1. */
const IMPOSSIBLE: ShapeCase[] = [
  { name: 'conv2d 5x5 on 4x4', input: [4, 4, 3], layers: [{ type: 'conv2d', filters: 2, kernelSize: 5 }] },
  {
    name: 'conv2d 3x3 with dilation 3 on 6x6 (effective kernel 7)',
    input: [6, 6, 3],
    layers: [{ type: 'conv2d', filters: 2, kernelSize: 3, dilationRate: 3 }],
  },
  { name: 'maxPooling2d 3 on 2x2', input: [2, 2, 3], layers: [{ type: 'maxPooling2d', poolSize: 3 }] },
  {
    name: 'averagePooling2d [1, 5] on 4x4',
    input: [4, 4, 1],
    layers: [{ type: 'averagePooling2d', poolSize: [1, 5] }],
  },
  {
    name: 'conv2d after flatten',
    input: [4, 4, 1],
    layers: [{ type: 'flatten' }, { type: 'conv2d', filters: 2, kernelSize: 1 }],
  },
  { name: 'maxPooling2d after flatten', input: [4, 4, 1], layers: [{ type: 'flatten' }, { type: 'maxPooling2d' }] },
  {
    name: 'averagePooling2d after flatten',
    input: [4, 4, 1],
    layers: [{ type: 'flatten' }, { type: 'averagePooling2d' }],
  },
  {
    name: 'globalAveragePooling2d after flatten',
    input: [4, 4, 1],
    layers: [{ type: 'flatten' }, { type: 'globalAveragePooling2d' }],
  },
  { name: 'zeroPadding2d after flatten', input: [4, 4, 1], layers: [{ type: 'flatten' }, { type: 'zeroPadding2d' }] },
  {
    name: 'flatten after globalAveragePooling2d',
    input: [4, 4, 3],
    layers: [{ type: 'globalAveragePooling2d' }, { type: 'flatten' }],
  },
];

/**
 * An experiment around the layers. imageFolder with imageSize and channels
 * gives any input shape; without `classes` the output size is not checked, so
 * any stack of layers can be inferred. The loss expects plain values, so no
 * loss/activation rule applies either.
 */
function experimentText(c: ShapeCase): string {
  return JSON.stringify({
    version: 1,
    name: 'shapes',
    dataset: { name: 'imageFolder', path: '/nonexistent', imageSize: [c.input[0], c.input[1]], channels: c.input[2] },
    model: { layers: c.layers },
    training: { epochs: 1, optimizer: { type: 'sgd' }, loss: 'meanSquaredError' },
  });
}

interface Answer {
  shape: number[];
  params: number;
}

function tfAnswers(model: tf.Sequential): Answer[] {
  return model.layers.map((l) => ({ shape: (l.outputShape as number[]).slice(1), params: l.countParams() }));
}

/** TensorFlow.js's own reading of the file's arguments. */
function buildRaw(c: ShapeCase): tf.Sequential {
  const factories: Record<string, (args: Record<string, unknown>) => tf.layers.Layer> = {
    ...(tf.layers as unknown as Record<string, (args: Record<string, unknown>) => tf.layers.Layer>),
    // File names that are not tfjs factory names: relu is tf.layers.reLU; spatialDropout2d is Keras' (a dropout with a noise shape).
    relu: (args: Record<string, unknown>) => tf.layers.reLU(args),
    spatialDropout2d: (args: Record<string, unknown>) =>
      tf.layers.dropout({ ...(args as { rate: number }), noiseShape: [null, 1, 1, null] as unknown as number[] }),
  };
  // A regularizer's arguments are the file's {l1, l2}; tfjs takes a regularizer object (shapes do not depend on it).
  const raw = (args: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(args).filter(([k]) => !k.endsWith('Regularizer')));
  return tf.sequential({
    layers: c.layers.map(({ type, ...args }, i) =>
      factories[type](i === 0 ? { ...raw(args), inputShape: c.input } : raw(args)),
    ),
  });
}

/** The layers our registry builds from the resolved experiment. */
function buildOurs(loaded: LoadedExperiment, input: number[]): tf.Sequential {
  const layers = loaded.experiment.model.layers;
  const names = layerNames(layers);
  return tf.sequential({
    layers: layers.map((l, i) => {
      const entry = LAYERS.require(l.type) as LayerEntry;
      return entry.build(tf, l as never, { name: names[i], inputShape: i === 0 ? input : undefined, seed: 42 + i });
    }),
  });
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('inferred shapes and parameter counts equal TensorFlow.js', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const loaded = loadExperimentText('shapes.yaml', experimentText(c));
      const ours: Answer[] = loaded.shapes.layers.map((l) => ({ shape: [...l.outputShape], params: l.params }));
      assert.equal(ours.length, c.layers.length);

      const raw = buildRaw(c);
      assert.deepEqual(ours, tfAnswers(raw), 'ours vs TensorFlow.js with the file arguments');
      assert.equal(loaded.shapes.totalParams, raw.countParams());
      raw.dispose();

      const built = buildOurs(loaded, c.input);
      assert.deepEqual(ours, tfAnswers(built), 'ours vs the layers our registry builds');
      built.dispose();
    });
  }

  it('every layer type in the registry is covered (merge layers, which need a graph, in graph-shapes.test.ts)', () => {
    const covered = new Set(CASES.flatMap((c) => c.layers.map((l) => l.type)));
    assert.deepEqual(
      LAYERS.entries.filter((e) => !e.merge && !covered.has(e.type)).map((e) => e.type),
      [],
    );
  });

  it('padding valid and same, strides 1 and 2, dilation, and every zeroPadding form are covered', () => {
    const conv = CASES.flatMap((c) => c.layers).filter((l) => l.type === 'conv2d');
    for (const p of [undefined, 'valid', 'same'])
      assert.ok(
        conv.some((l) => l.padding === p),
        `padding ${p}`,
      );
    for (const s of [undefined, 1, 2, 3])
      assert.ok(
        conv.some((l) => l.strides === s),
        `strides ${s}`,
      );
    assert.ok(conv.some((l) => l.dilationRate === 2 && l.strides === 2));
    const zp = CASES.flatMap((c) => c.layers)
      .filter((l) => l.type === 'zeroPadding2d')
      .map((l) => JSON.stringify(l.padding));
    for (const form of [undefined, '0', '3', '[1,2]', '[[1,2],[3,4]]'])
      assert.ok(zp.includes(form as string), `zeroPadding ${form}`);
  });
});

describe('impossible shapes: we refuse what TensorFlow.js cannot build or builds with an empty dimension', () => {
  for (const c of IMPOSSIBLE) {
    it(c.name, () => {
      assert.throws(
        () => loadExperimentText('shapes.yaml', experimentText(c)),
        (e: unknown) =>
          e instanceof ConfigError &&
          /every dimension must be at least 1|expects an input of rank|already flat/.test(e.message),
      );
      let tfVerdict: string;
      try {
        const model = buildRaw(c);
        const shapes = model.layers.map((l) => (l.outputShape as number[]).slice(1));
        tfVerdict = shapes.some((s) => s.some((d) => d < 1)) ? 'empty dimension' : `built ${JSON.stringify(shapes)}`;
        model.dispose();
      } catch {
        tfVerdict = 'throws';
      }
      assert.match(tfVerdict, /^(empty dimension|throws)$/);
    });
  }
});

describe('the seed experiment', () => {
  it('TensorFlow.js builds it with flatten 576 and 81,302 parameters, as inferred', () => {
    const loaded = loadExperimentFile(SEED);
    const model = buildOurs(loaded, [32, 32, 3]);
    assert.deepEqual((model.layers[4].outputShape as number[]).slice(1), [576]);
    assert.equal(model.countParams(), 81_302);
    assert.equal(loaded.shapes.totalParams, 81_302);
    model.dispose();
  });

  it('`pipeline inspect` shows 576 and 81,302', () => {
    const r = runCli(['inspect', 'configs/cifar-lenet.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /flatten_1 \(flatten\) +\[batch, 576\] +0 +configs\/cifar-lenet\.yaml:20\n/);
    assert.match(r.stdout, /\ntotal parameters: 81,302\n$/);
  });
});
