import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadExperimentFile, loadExperimentText, type LoadedExperiment } from '../../src/config/load';
import { buildModel } from '../../src/builders/model';
import { REPO } from './helpers';

/**
 * Valid graphs and blocks: shapes and parameter counts we infer equal what
 * TensorFlow.js builds, layer by layer (by name); blocks mean exactly the
 * layers they expand to; forward references are allowed.
 */

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** Ours vs the functional model our builder makes: every layer's output shape and parameters, by name. */
function assertMatchesTfjs(loaded: LoadedExperiment, inputShape: number[], classes: number): void {
  const model = buildModel(tf, loaded.experiment, inputShape, classes);
  try {
    for (const l of loaded.shapes.layers) {
      const built = model.getLayer(l.name);
      assert.deepEqual((built.outputShape as number[]).slice(1), [...l.outputShape], l.name);
      assert.equal(built.countParams(), l.params, l.name);
    }
    assert.equal(model.countParams(), loaded.shapes.totalParams);
  } finally {
    model.dispose();
  }
}

const exp = (layers: string[], extra: string[] = []) =>
  [
    'version: 1',
    'name: g',
    'dataset: {name: cifar10}',
    'training: {epochs: 1, optimizer: {type: sgd}}',
    ...extra,
    'model:',
    '  layers:',
    ...layers.map((l) => `    - ${l}`),
    '',
  ].join('\n');

describe('graphs', () => {
  it('configs/cifar-resnet.yaml: ResNet-20 v1, 274,442 parameters as Keras counts them, and as tfjs counts them', () => {
    const loaded = loadExperimentFile(path.join(REPO, 'configs/cifar-resnet.yaml'));
    assert.equal(loaded.shapes.totalParams, 274_442);
    assert.equal(loaded.shapes.layers.filter((l) => l.type === 'add').length, 9);
    assert.deepEqual(loaded.shapes.layers.find((l) => l.name === 'stage3_down_add')!.inputs, [
      'stage3_down_shortcut',
      'stage3_down_bn2',
    ]);
    assertMatchesTfjs(loaded, [32, 32, 3], 10);
  });

  it('every merge layer: shapes and counts equal tfjs, concatenate on every axis', () => {
    const loaded = loadExperimentText(
      'merges.yaml',
      exp([
        '{type: conv2d, filters: 4, kernelSize: 3, padding: same, name: a}',
        '{type: conv2d, filters: 4, kernelSize: 1, inputs: input, name: b}',
        '{type: add, inputs: [a, b, a]}',
        '{type: multiply, inputs: [a, b]}',
        '{type: average, inputs: [add_1, multiply_1]}',
        '{type: maximum, inputs: [average_1, a]}',
        '{type: subtract, inputs: [maximum_1, b]}',
        '{type: concatenate, inputs: [subtract_1, input]}',
        '{type: concatenate, axis: 1, inputs: [concatenate_1, concatenate_1]}',
        '{type: concatenate, axis: -2, inputs: [concatenate_2, concatenate_2]}',
        '{type: globalAveragePooling2d}',
        '{type: dense, units: 10}',
      ]),
    );
    assert.deepEqual(loaded.shapes.layers.find((l) => l.name === 'concatenate_3')!.outputShape, [64, 64, 7]);
    assertMatchesTfjs(loaded, [32, 32, 3], 10);
  });

  it('a layer may name a later layer as its input (file order need not be dependency order)', () => {
    const loaded = loadExperimentText(
      'fwd.yaml',
      exp(
        ['{type: dense, units: 10, inputs: flat, name: logits}', '{type: flatten, inputs: input, name: flat}'],
        ['  '],
      ).replace('model:', 'model:\n  outputs: [logits]'),
    );
    assert.deepEqual(
      loaded.shapes.layers.map((l) => l.name),
      ['flat', 'logits'],
    );
    assertMatchesTfjs(loaded, [32, 32, 3], 10);
  });

  it('a stack with names stays a tf.Sequential; a graph is a functional model', () => {
    const stack = loadExperimentText(
      's.yaml',
      exp(['{type: flatten, name: flat}', '{type: dense, units: 10, name: logits}']),
    );
    const m1 = buildModel(tf, stack.experiment, [32, 32, 3], 10);
    assert.equal(m1.getClassName(), 'Sequential');
    assert.deepEqual(
      m1.layers.map((l) => l.name),
      ['flat', 'logits'],
    );
    m1.dispose();
    const graph = loadExperimentText(
      'g.yaml',
      exp(['{type: flatten, name: flat}', '{type: dense, units: 10, inputs: flat}']),
    );
    const m2 = buildModel(tf, graph.experiment, [32, 32, 3], 10);
    assert.equal(m2.getClassName(), 'Sequential', 'inputs naming the layer before is still a stack');
    m2.dispose();
    const skip = loadExperimentText(
      'k.yaml',
      exp([
        '{type: conv2d, filters: 3, kernelSize: 1, name: c}',
        '{type: add, inputs: [c, input]}',
        '{type: flatten}',
        '{type: dense, units: 10}',
      ]),
    );
    const m3 = buildModel(tf, skip.experiment, [32, 32, 3], 10);
    assert.equal(m3.getClassName(), 'Model');
    m3.dispose();
  });
});

describe('blocks', () => {
  const BLOCKS = [
    'blocks:',
    '  res:',
    '    params: {filters: null, k: 3}',
    '    layers:',
    '      - {type: conv2d, filters: "${filters}", kernelSize: "${k}", padding: same, name: conv}',
    '      - {type: add, inputs: [input, conv]}',
  ];
  const USES = [
    '{type: conv2d, filters: 4, kernelSize: 1, name: stem}',
    '{block: res, filters: 4, repeat: 2, name: r}',
    '{block: res, filters: 4, k: 1}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ];
  const FLAT = [
    '{type: conv2d, filters: 4, kernelSize: 1, name: stem}',
    '{type: conv2d, filters: 4, kernelSize: 3, padding: same, name: r_1_conv}',
    '{type: add, inputs: [stem, r_1_conv], name: r_1}',
    '{type: conv2d, filters: 4, kernelSize: 3, padding: same, name: r_2_conv}',
    '{type: add, inputs: [r_1, r_2_conv], name: r_2}',
    '{type: conv2d, filters: 4, kernelSize: 1, padding: same, name: res_1_conv}',
    '{type: add, inputs: [r_2, res_1_conv], name: res_1}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ];

  it('expand to exactly the layers they stand for: same resolved experiment, same hash', () => {
    const withBlocks = loadExperimentText('b.yaml', exp(USES, BLOCKS));
    const flat = loadExperimentText('f.yaml', exp(FLAT));
    assert.deepEqual(withBlocks.experiment, flat.experiment);
    assert.equal(withBlocks.hash, flat.hash);
    assert.deepEqual(withBlocks.layerLines, [13, 14, 14, 14, 14, 15, 15, 16, 17]);
  });

  it("--set changes a use's parameter before expansion", () => {
    const loaded = loadExperimentText('b.yaml', exp(USES, BLOCKS), { overrides: ['model.layers[2].k=5'] });
    assert.equal(loaded.shapes.layers.find((l) => l.name === 'res_1_conv')!.params, 5 * 5 * 4 * 4 + 4);
    assert.equal(loaded.shapes.layers.find((l) => l.name === 'r_2_conv')!.params, 3 * 3 * 4 * 4 + 4);
  });

  it("a block may use another block; a use's inputs feed its first layer", () => {
    const text = [
      'version: 1',
      'name: nest',
      'dataset: {name: cifar10}',
      'training: {epochs: 1, optimizer: {type: sgd}}',
      'blocks:',
      '  res:',
      '    params: {filters: null}',
      '    layers:',
      '      - {type: conv2d, filters: "${filters}", kernelSize: 3, padding: same, name: conv}',
      '      - {type: add, inputs: [input, conv]}',
      '  stage:',
      '    params: {width: 4}',
      '    layers:',
      '      - {block: res, filters: "${width}", repeat: 2}',
      '      - {type: activation, activation: relu, name: out}',
      'model:',
      '  layers:',
      '    - {type: conv2d, filters: 4, kernelSize: 1, name: stem}',
      '    - {type: conv2d, filters: 4, kernelSize: 1, name: other, inputs: input}',
      '    - {block: stage, name: s1, inputs: stem}',
      '    - {type: add, inputs: [s1, other]}',
      '    - {type: flatten}',
      '    - {type: dense, units: 10}',
      '',
    ].join('\n');
    const loaded = loadExperimentText('nest.yaml', text);
    const rows = loaded.shapes.layers.map((l) => `${l.name} <- ${l.inputs.join(', ')}`);
    assert.deepEqual(rows, [
      'stem <- input',
      'other <- input',
      's1_res_1_1_conv <- stem',
      's1_res_1_1 <- stem, s1_res_1_1_conv',
      's1_res_1_2_conv <- s1_res_1_1',
      's1_res_1_2 <- s1_res_1_1, s1_res_1_2_conv',
      's1 <- s1_res_1_2',
      'add_3 <- s1, other',
      'flatten_1 <- add_3',
      'dense_1 <- flatten_1',
    ]);
    assertMatchesTfjs(loaded, [32, 32, 3], 10);
  });
});
