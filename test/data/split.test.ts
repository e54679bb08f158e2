import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadDataset } from '../../src/data';
import { classCounts, stratifiedPick, stratifiedQuotas, validationCount } from '../../src/data/split';
import type { DatasetConfig } from '../../src/data/types';
import { cifarFiles, tempDir, writeFiles } from './fixtures';

describe('stratifiedQuotas', () => {
  const cases: Array<[number[], number, number[]]> = [
    [[50, 50], 10, [5, 5]],
    [[60, 30, 10], 10, [6, 3, 1]],
    [[5, 5, 5], 4, [2, 1, 1]], // remainder to the lower class index on ties
    [[1, 99], 10, [0, 10]],
    [[3, 3], 100, [3, 3]], // more than there is: everything
    [[7, 2, 1], 5, [4, 1, 0]], // exact 3.5/1/0.5: the largest remainder wins, ties to lower index
  ];
  for (const [counts, take, expected] of cases) {
    it(`${take} of [${counts}] -> [${expected}]`, () => {
      const q = stratifiedQuotas(counts, take);
      assert.deepEqual(q, expected);
      assert.equal(
        q.reduce((a, b) => a + b, 0),
        Math.min(
          take,
          counts.reduce((a, b) => a + b, 0),
        ),
      );
    });
  }
});

describe('stratifiedPick', () => {
  const y = Uint8Array.from({ length: 100 }, (_, i) => (i < 70 ? 0 : i < 90 ? 1 : 2));
  it('keeps class proportions, is sorted, and splits the indices in two', () => {
    const [picked, rest] = stratifiedPick(y, 3, 10, 42);
    assert.deepEqual(
      classCounts(
        Uint8Array.from(picked, (i) => y[i]),
        3,
      ),
      [7, 2, 1],
    );
    assert.equal(picked.length + rest.length, 100);
    assert.deepEqual(
      [...picked],
      [...picked].sort((a, b) => a - b),
    );
    assert.equal(new Set([...picked, ...rest]).size, 100);
  });
  it('is reproducible from the seed and changes with it', () => {
    assert.deepEqual(stratifiedPick(y, 3, 10, 42)[0], stratifiedPick(y, 3, 10, 42)[0]);
    assert.notDeepEqual(stratifiedPick(y, 3, 10, 42)[0], stratifiedPick(y, 3, 10, 43)[0]);
  });
});

describe('validationCount', () => {
  const cases: Array<[number, number, number]> = [
    [100, 0, 0],
    [100, 0.1, 10],
    [10, 0.01, 1],
    [1, 0.5, 0],
    [5, 0.99, 4],
  ];
  for (const [n, f, expected] of cases)
    it(`${f} of ${n} -> ${expected}`, () => assert.equal(validationCount(n, f), expected));
});

describe('limit and validationSplit on a loaded dataset', () => {
  const cfg = (over: Partial<DatasetConfig>): DatasetConfig => ({
    name: 'cifar10',
    validationSplit: 0,
    normalize: { type: 'scale' },
    augment: {},
    shuffle: true,
    ...over,
  });
  const dataDir = tempDir();
  writeFiles(path.join(dataDir, 'cifar10'), cifarFiles(20)); // 100 train, 20 test, 10 per class / 2 per class

  it('limits train and test stratified, then holds validation out of the limited train', async () => {
    const ds = await loadDataset(cfg({ limit: { train: 50, test: 10 }, validationSplit: 0.2 }), { dataDir, seed: 7 });
    assert.equal(ds.train.n, 40);
    assert.equal(ds.validation?.n, 10);
    assert.equal(ds.test.n, 10);
    assert.deepEqual(classCounts(ds.train.y, 10), new Array(10).fill(4));
    assert.deepEqual(classCounts(ds.validation!.y, 10), new Array(10).fill(1));
    assert.deepEqual(classCounts(ds.test.y, 10), new Array(10).fill(1));
    assert.equal(ds.train.x.length, 40 * 3072);
  });

  it('picks the same examples for the same seed, others for another seed', async () => {
    const a = await loadDataset(cfg({ limit: { train: 30 }, validationSplit: 0.1 }), { dataDir, seed: 7 });
    const b = await loadDataset(cfg({ limit: { train: 30 }, validationSplit: 0.1 }), { dataDir, seed: 7 });
    const c = await loadDataset(cfg({ limit: { train: 30 }, validationSplit: 0.1 }), { dataDir, seed: 8 });
    assert.deepEqual(a.train.x, b.train.x);
    assert.deepEqual(a.validation!.x, b.validation!.x);
    assert.notDeepEqual(a.train.x, c.train.x);
  });

  it('keeps examples whole: each chosen row is a row of the source', async () => {
    const full = await loadDataset(cfg({}), { dataDir, seed: 1 });
    const part = await loadDataset(cfg({ validationSplit: 0.3 }), { dataDir, seed: 1 });
    const rows = new Set<string>();
    for (let i = 0; i < full.train.n; i++)
      rows.add(Buffer.from(full.train.x.subarray(i * 3072, (i + 1) * 3072)).toString('base64') + full.train.y[i]);
    for (const split of [part.train, part.validation!]) {
      for (let i = 0; i < split.n; i++)
        assert.ok(rows.has(Buffer.from(split.x.subarray(i * 3072, (i + 1) * 3072)).toString('base64') + split.y[i]));
    }
    assert.equal(part.train.n + part.validation!.n, 100);
  });

  it('leaves a split alone when the limit is at least its size', async () => {
    const ds = await loadDataset(cfg({ limit: { train: 1000 } }), { dataDir, seed: 1 });
    assert.equal(ds.train.n, 100);
    assert.equal(ds.validation, undefined);
  });
});
