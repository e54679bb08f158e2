import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadDataset } from '../../src/data';
import { probeDataset } from '../../src/data/probe';
import { DATASETS, DatasetSchema, datasetInfo } from '../../src/data/registry';
import type { DatasetConfig } from '../../src/data/types';
import { cifarFiles, datasetConfig, idxFiles, tempDir, writeFiles } from './fixtures';

/**
 * The dataset registry is the one place a dataset is described: the `dataset`
 * schema, what validation knows before reading the data, and the loader all
 * come from one entry, and agree.
 */

const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

describe('dataset registry', () => {
  it("assembles the `dataset` section from the shared keys and each entry's own keys, in order", () => {
    assert.deepEqual(DatasetSchema.properties.name.enum, ['cifar10', 'mnist', 'fashionMnist', 'imageFolder']);
    assert.deepEqual(DatasetSchema.properties.name.enum, DATASETS.names());
    assert.deepEqual(Object.keys(DatasetSchema.properties), [
      'name',
      'path',
      'url',
      'classes',
      'imageSize',
      'channels',
      'validationSplit',
      'limit',
      'normalize',
      'augment',
      'shuffle',
    ]);
    assert.deepEqual(Object.keys(DATASETS.require('imageFolder').options), ['classes', 'imageSize', 'channels']);
  });

  const cases: Array<{ name: string; cfg: DatasetConfig; info: ReturnType<typeof datasetInfo> }> = [
    { name: 'cifar10', cfg: datasetConfig('cifar10'), info: { shape: [32, 32, 3], classes: CIFAR10_CLASSES } },
    {
      name: 'mnist',
      cfg: datasetConfig('mnist'),
      info: { shape: [28, 28, 1], classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
    },
    {
      name: 'fashionMnist',
      cfg: datasetConfig('fashionMnist'),
      info: { shape: [28, 28, 1], classes: FASHION_CLASSES },
    },
    {
      name: 'imageFolder without imageSize or classes: nothing known before reading it',
      cfg: datasetConfig('imageFolder', { path: '/nowhere' }),
      info: { shape: undefined, classes: undefined },
    },
    {
      name: 'imageFolder with imageSize, channels and classes',
      cfg: datasetConfig('imageFolder', { path: '/nowhere', imageSize: [20, 30], channels: 1, classes: ['a', 'b'] }),
      info: { shape: [20, 30, 1], classes: ['a', 'b'] },
    },
  ];
  for (const c of cases) {
    it(`knows before any I/O: ${c.name}`, () => {
      assert.deepEqual(datasetInfo(c.cfg), c.info);
      assert.equal(probeDataset({ ...c.cfg, path: undefined }, {}), undefined);
    });
  }

  for (const name of ['cifar10', 'mnist', 'fashionMnist'] as const) {
    it(`${name}: the loader gives the shape and classes the entry states`, async () => {
      const dataDir = tempDir();
      writeFiles(path.join(dataDir, name), name === 'cifar10' ? cifarFiles(2) : idxFiles(20, 10));
      const ds = await loadDataset(datasetConfig(name), { dataDir, seed: 1, cacheDir: tempDir() });
      assert.deepEqual({ shape: ds.shape, classes: ds.classes }, datasetInfo(datasetConfig(name)));
    });
  }

  it('loads no loader with the schema: validation reads no decoder or downloader', () => {
    const dist = path.resolve(__dirname, '../../src');
    const script = `require(${JSON.stringify(path.join(dist, 'config/load'))});
      const data = Object.keys(require.cache).filter((f) => f.includes(${JSON.stringify(`${path.sep}data${path.sep}`)}) && f.startsWith(${JSON.stringify(dist)}));
      process.stdout.write(data.map((f) => require('node:path').relative(${JSON.stringify(dist)}, f)).sort().join('\\n'));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), ['data/dataset-keys.js', 'data/registry.js']);
  });
});
