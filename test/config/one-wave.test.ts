/**
 * Config errors in one wave, with the names users bring from Keras and PyTorch, and
 * Hydra-style removal of a key with `--set ~key` (or `key=null` for an optional key).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors';
import { formatDiagnostics } from '../../src/config/diagnostics';
import { loadExperimentText } from '../../src/config/load';
import { tinyExperiment } from '../pipeline/helpers';

function errors(text: string, overrides: string[] = []): string {
  try {
    loadExperimentText('t.yaml', text, { overrides });
  } catch (e) {
    if (e instanceof ConfigError) return formatDiagnostics(e.diagnostics);
    throw e;
  }
  assert.fail('expected a ConfigError');
}

const layers = (...l: string[]) => tinyExperiment({ layers: l });

test('a schema error does not hide a shape error: both in one report, in file order', () => {
  const text = tinyExperiment({
    optimizer: '{type: adam, lr: 0.01}',
    layers: ['{type: conv2d, filters: 4, kernelSize: 9}', '{type: flatten}', '{type: dense, units: 4}'],
  });
  assert.equal(
    errors(text),
    't.yaml:12:46: model.layers[0].kernelSize: conv2d turns input [8, 8, 3] into [0, 0, 4]: every dimension must be at least 1 (layer 0, conv2d)\n' +
      '  12 |     - {type: conv2d, filters: 4, kernelSize: 9}\n' +
      '     |                                              ^\n' +
      't.yaml:18:27: training.optimizer.lr: unknown key "lr"; did you mean "learningRate"?\n' +
      '  18 |   optimizer: {type: adam, lr: 0.01}\n' +
      '     |                           ^\n' +
      '2 errors',
  );
});

test('a schema error in a later layer does not hide a shape error in an earlier one', () => {
  const text = layers(
    '{type: conv2d, filters: 4, kernelSize: 3}',
    '{type: maxPooling2d, poolSize: 9}',
    '{type: flatten}',
    '{type: dense, units: 0}',
  );
  assert.equal(
    errors(text),
    't.yaml:13:38: model.layers[1].poolSize: maxPooling2d turns input [6, 6, 4] into [0, 0, 4]: every dimension must be at least 1 (layer 1, maxPooling2d)\n' +
      '  13 |     - {type: maxPooling2d, poolSize: 9}\n' +
      '     |                                      ^\n' +
      't.yaml:15:28: model.layers[3].units: expected an integer >= 1, found 0\n' +
      '  15 |     - {type: dense, units: 0}\n' +
      '     |                            ^\n' +
      '2 errors',
  );
  // Layers before the bad one are fine: no made-up complaint about a truncated model's output.
  assert.equal(
    errors(layers('{type: conv2d, filters: 4, kernelSize: 3}', '{type: flatten}', '{type: dense, unit: 4}'))
      .split('\n')
      .at(-1),
    '1 error',
  );
});

test('Keras and PyTorch names get "did you mean" with this project\'s name', () => {
  const cases: Array<[string, string[], string]> = [
    [
      layers('{type: conv2d, filters: 4, kernel_size: 3}', '{type: flatten}', '{type: dense, units: 4}'),
      [],
      't.yaml:12:34: model.layers[0].kernel_size: unknown key "kernel_size"; did you mean "kernelSize"?',
    ],
    [
      layers('{type: Conv2D, filters: 4, kernelSize: 3}', '{type: flatten}', '{type: dense, units: 4}'),
      [],
      't.yaml:12:14: model.layers[0].type: unknown layer type "Conv2D"; did you mean "conv2d"?; known: conv2d, maxPooling2d, averagePooling2d, globalAveragePooling2d, flatten, dense, dropout, batchNormalization, activation, zeroPadding2d, depthwiseConv2d, separableConv2d, conv2dTranspose, upSampling2d, globalMaxPooling2d, layerNormalization, spatialDropout2d, gaussianNoise, reshape, permute, leakyReLU, prelu, relu, softmax, conv1d, maxPooling1d, averagePooling1d, globalAveragePooling1d, add, multiply, average, maximum, subtract, concatenate',
    ],
    [
      layers('{type: flatten}', '{type: dense, units_out: 4}'),
      [],
      't.yaml:13:21: model.layers[1].units_out: unknown key "units_out"; did you mean "units"?',
    ],
    [
      layers('{type: flatten}', '{type: Linear, units: 4}'),
      [],
      't.yaml:13:14: model.layers[1].type: unknown layer type "Linear"; did you mean "dense"?; known: conv2d, maxPooling2d, averagePooling2d, globalAveragePooling2d, flatten, dense, dropout, batchNormalization, activation, zeroPadding2d, depthwiseConv2d, separableConv2d, conv2dTranspose, upSampling2d, globalMaxPooling2d, layerNormalization, spatialDropout2d, gaussianNoise, reshape, permute, leakyReLU, prelu, relu, softmax, conv1d, maxPooling1d, averagePooling1d, globalAveragePooling1d, add, multiply, average, maximum, subtract, concatenate',
    ],
    [
      layers(
        '{type: conv2d, filters: 4, kernelSize: 3}',
        '{type: MaxPool2d, poolSize: 2}',
        '{type: flatten}',
        '{type: dense, units: 4}',
      ),
      [],
      't.yaml:13:14: model.layers[1].type: unknown layer type "MaxPool2d"; did you mean "maxPooling2d"?; known: conv2d, maxPooling2d, averagePooling2d, globalAveragePooling2d, flatten, dense, dropout, batchNormalization, activation, zeroPadding2d, depthwiseConv2d, separableConv2d, conv2dTranspose, upSampling2d, globalMaxPooling2d, layerNormalization, spatialDropout2d, gaussianNoise, reshape, permute, leakyReLU, prelu, relu, softmax, conv1d, maxPooling1d, averagePooling1d, globalAveragePooling1d, add, multiply, average, maximum, subtract, concatenate',
    ],
    [
      tinyExperiment(),
      ['training.optimizer.lr=0.1'],
      '--set training.optimizer.lr=0.1: training.optimizer.lr: no key "lr" under training.optimizer; did you mean "learningRate"?',
    ],
    [
      tinyExperiment(),
      ['training.batch_size=8'],
      '--set training.batch_size=8: training.batch_size: no key "batch_size" under training; did you mean "batchSize"?',
    ],
    [
      tinyExperiment(),
      ['training.num_epochs=8'],
      '--set training.num_epochs=8: training.num_epochs: no key "num_epochs" under training; did you mean "epochs"?',
    ],
  ];
  for (const [text, set, first] of cases) assert.equal(errors(text, set).split('\n')[0], first);
});

test('--set ~key removes a key or a list item; key=null removes an optional key; required keys stay', () => {
  const loaded = loadExperimentText('t.yaml', tinyExperiment(), {
    overrides: ['~dataset.imageSize', 'dataset.classes=null', '~model.layers[3]'],
  });
  const d = loaded.experiment.dataset;
  assert.equal(d.imageSize, undefined);
  assert.equal(d.classes, undefined);
  assert.deepEqual(
    loaded.experiment.model.layers.map((l) => l.type),
    ['conv2d', 'maxPooling2d', 'flatten', 'dense'],
    'the dropout at [3] is gone',
  );
  // What Hydra users write to drop a key: null, for a key whose schema has no null.
  assert.equal(
    loadExperimentText('t.yaml', tinyExperiment(), { overrides: ['dataset.imageSize=null'] }).experiment.dataset
      .imageSize,
    undefined,
  );
  // Removing an optional key with a default brings the default back.
  assert.equal(
    loadExperimentText('t.yaml', tinyExperiment({ batchSize: 16 }), { overrides: ['~training.batchSize'] }).experiment
      .training.batchSize,
    32,
  );
  // null on a key that is not there is already true.
  assert.equal(
    loadExperimentText('t.yaml', tinyExperiment(), { overrides: ['training.earlyStopping=null'] }).experiment.training
      .earlyStopping,
    undefined,
  );

  const cases: Array<[string, string]> = [
    ['~training.epochs', '--set ~training.epochs: training.epochs: a required key cannot be removed'],
    [
      'training.epochs=null',
      '--set training.epochs=null: training.epochs: a required key cannot be removed (null removes an optional key)',
    ],
    [
      '~training.earlyStopping',
      '--set ~training.earlyStopping: training.earlyStopping: not set, so there is nothing to remove',
    ],
    [
      '~training.earlyStoping',
      '--set ~training.earlyStoping: training.earlyStoping: no key "earlyStoping" under training; did you mean "earlyStopping"?',
    ],
    [
      '~dataset.imageSize=3',
      '--set ~dataset.imageSize=3: ~ removes a key and takes no value: write --set ~dataset.imageSize',
    ],
    [
      '~model.layers[9]',
      '--set ~model.layers[9]: model.layers[9]: model.layers has 5 items (indices 0 to 4); [9] does not exist',
    ],
  ];
  for (const [set, first] of cases) assert.equal(errors(tinyExperiment(), [set]).split('\n')[0], first, set);
});
