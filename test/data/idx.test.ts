import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadDataset } from '../../src/data';
import type { DatasetConfig } from '../../src/data/types';
import { idxFiles, idxImages, idxLabels, idxPixel, tempDir, writeFiles, datasetConfig } from './fixtures';

const cfg = (over: Partial<DatasetConfig> = {}): DatasetConfig => datasetConfig('mnist', over);

describe('mnist / fashionMnist from IDX files', () => {
  it('reads the gzip IDX files in the home', async () => {
    const dataDir = tempDir();
    writeFiles(path.join(dataDir, 'mnist'), idxFiles(20, 10));
    const ds = await loadDataset(cfg(), { dataDir, seed: 3 });
    assert.deepEqual(ds.shape, [28, 28, 1]);
    assert.deepEqual(ds.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(ds.train.n, 20);
    assert.equal(ds.test.n, 10);
    assert.equal(ds.train.x[5 * 784 + 17], idxPixel(5, 17));
    assert.equal(ds.test.x[2 * 784 + 300], idxPixel(22, 300));
    assert.deepEqual([...ds.test.y], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(ds.source, { format: 'idx', path: path.join(dataDir, 'mnist'), downloaded: false });
    assert.equal(ds.cache, 'none');
  });

  it('also reads uncompressed IDX files', async () => {
    const dataDir = tempDir();
    const files = new Map(
      [...idxFiles(20, 10)].map(([name, data]) => [name.replace(/\.gz$/, ''), zlib.gunzipSync(data)]),
    );
    writeFiles(path.join(dataDir, 'fashionMnist'), files);
    const ds = await loadDataset(cfg({ name: 'fashionMnist' }), { dataDir, seed: 3 });
    assert.equal(ds.train.n, 20);
    assert.equal(ds.classes[9], 'Ankle boot');
  });

  const bad: Array<{ name: string; file: string; data: () => Buffer; message: (file: string) => string }> = [
    {
      name: 'an IDX header that disagrees with the file size',
      file: 'train-images-idx3-ubyte.gz',
      data: () => zlib.gzipSync(idxImages(20).subarray(0, 16 + 19 * 784)),
      message: (f) =>
        `${f}: IDX header says 20 x 28 x 28 (15,696 bytes with the header) but the file holds 14,912 bytes`,
    },
    {
      name: 'a truncated gzip file',
      file: 't10k-images-idx3-ubyte.gz',
      data: () => zlib.gzipSync(idxImages(10)).subarray(0, 200),
      message: (f) => `${f}: truncated gzip file (unexpected end of file)`,
    },
    {
      name: 'a file that is not IDX',
      file: 'train-labels-idx1-ubyte.gz',
      data: () => zlib.gzipSync(Buffer.from('hello, world')),
      message: (f) => `${f}: not an IDX file (bad magic number)`,
    },
    {
      name: 'a label outside the class list',
      file: 'train-labels-idx1-ubyte.gz',
      data: () => zlib.gzipSync(idxLabels([...new Array(19).fill(1), 10])),
      message: (f) => `${f}: label 20 of 20 is 10, outside the 10 classes (0-9)`,
    },
    {
      name: 'labels that do not match the images in number',
      file: 'train-labels-idx1-ubyte.gz',
      data: () => zlib.gzipSync(idxLabels([1, 2, 3])),
      message: (f) => `${f}: holds 3 labels but train-images-idx3-ubyte.gz holds 20 images`,
    },
  ];
  for (const t of bad) {
    it(`rejects ${t.name}, naming the file`, async () => {
      const dataDir = tempDir();
      const files = idxFiles(20, 10);
      files.set(t.file, t.data());
      writeFiles(path.join(dataDir, 'mnist'), files);
      await assert.rejects(loadDataset(cfg(), { dataDir, seed: 1 }), {
        name: 'DataError',
        message: t.message(path.join(dataDir, 'mnist', t.file)),
      });
    });
  }

  it('rejects a home with only some of the files', async () => {
    const dataDir = tempDir();
    const files = idxFiles(20, 10);
    files.delete('t10k-labels-idx1-ubyte.gz');
    writeFiles(path.join(dataDir, 'mnist'), files);
    await assert.rejects(loadDataset(cfg(), { dataDir, seed: 1 }), {
      name: 'DataError',
      message: `${path.join(dataDir, 'mnist')}: incomplete MNIST files: missing t10k-labels-idx1-ubyte.gz`,
    });
  });

  const system = '/usr/share/datasets/fashion-mnist';
  it('falls back to Debian dataset-fashion-mnist in /usr/share/datasets', {
    skip: !fs.existsSync(system) && 'dataset-fashion-mnist is not installed',
  }, async () => {
    const dataDir = tempDir();
    const ds = await loadDataset(cfg({ name: 'fashionMnist', limit: { train: 100, test: 50 } }), { dataDir, seed: 1 });
    assert.deepEqual(ds.source, { format: 'idx', path: system, downloaded: false });
    assert.equal(ds.train.n, 100);
    assert.equal(ds.test.n, 50);
    assert.deepEqual(fs.readdirSync(dataDir), [], 'nothing written to the data dir');
  });
});
