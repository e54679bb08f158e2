import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archSummary, configColumns, withHeaders } from '../../src/runs/columns';
import { flatten } from '../../src/runs/flatten';
import { lenetConfig, setPath } from './fixture';

const columnsOf = (configs: Array<Record<string, unknown>>) =>
  configColumns(
    configs,
    configs.map((c) => flatten(c)),
  );

test('archSummary: a layer list in a few characters', () => {
  assert.equal(archSummary(lenetConfig()), 'conv6-pool-conv16-pool-d120-d84-d10');
  const layers = [
    { type: 'conv2d', filters: 32, kernelSize: [5, 5] },
    { type: 'batchNormalization' },
    { type: 'averagePooling2d', poolSize: 3 },
    { type: 'zeroPadding2d', padding: 1 },
    { type: 'activation', activation: 'tanh' },
    { type: 'globalAveragePooling2d' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 10 },
  ];
  assert.equal(archSummary({ model: { layers } }), 'conv32k5-bn-avgpool3-pad-tanh-gap-drop0.25-d10');
  assert.equal(archSummary({ model: {} }), undefined);
});

test('configColumns: what differs, grouped, short headers; settings that only follow a changed type are left to it', () => {
  const a = lenetConfig();
  const b = lenetConfig();
  setPath(b, 'training.optimizer', { type: 'sgd', learningRate: 0.01, momentum: 0.9, nesterov: true });
  setPath(b, 'training.batchSize', 64);
  setPath(b, 'dataset.validationSplit', 0.1);
  assert.deepEqual(columnsOf([a, b]), [
    { key: 'dataset.validationSplit', header: 'valSplit' },
    { key: 'training.batchSize', header: 'batch' },
    { key: 'training.optimizer.type', header: 'optimizer' },
    { key: 'training.optimizer.learningRate', header: 'lr' },
  ]);
  // Only a layer's setting changed: the architecture summary is the same, so the key stays, headed by its layer.
  const c = lenetConfig();
  setPath(c, 'model.layers[5].activation', 'tanh');
  assert.deepEqual(columnsOf([a, c]), [{ key: 'model.layers[5].activation', header: 'L5.activation' }]);
  setPath(c, 'model.layers[5].units', 64);
  assert.deepEqual(columnsOf([a, c]), [{ key: 'arch', header: 'arch' }]);
});

test('withHeaders: clashing last parts take their parent; vague words keep it', () => {
  assert.deepEqual(
    withHeaders(['dataset.limit.train', 'training.schedule.type', 'a.rate', 'b.rate']).map((c) => c.header),
    ['limit.train', 'schedule.type', 'a.rate', 'b.rate'],
  );
});
