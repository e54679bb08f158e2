import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DataError } from '../../src/errors';
import { loadDataset } from '../../src/data';
import { detectCifarLayout } from '../../src/data/cifar10';
import type { DatasetConfig } from '../../src/data/types';
import { cifarArchive, cifarBatch, cifarFiles, cifarPixel, tar, tempDir, writeFiles, datasetConfig } from './fixtures';

const cfg = (over: Partial<DatasetConfig> = {}): DatasetConfig => datasetConfig('cifar10', over);

/** Example i (in file order) must hold cifarPixel(i, p, c) at HWC position p*3+c. */
function assertCifarPixels(x: Uint8Array, firstIndex: number, n: number) {
  for (let i = 0; i < n; i++) {
    for (const p of [0, 1, 500, 1023]) {
      for (let c = 0; c < 3; c++)
        assert.equal(x[i * 3072 + p * 3 + c], cifarPixel(firstIndex + i, p, c), `example ${i} pixel ${p} channel ${c}`);
    }
  }
}

describe('cifar10 from the official binary files', () => {
  for (const where of ['home', 'cifar-10-batches-bin']) {
    it(`reads batches placed in ${where === 'home' ? 'the home' : `the home's ${where}/`}`, async () => {
      const dataDir = tempDir();
      const dir = where === 'home' ? path.join(dataDir, 'cifar10') : path.join(dataDir, 'cifar10', where);
      writeFiles(dir, cifarFiles(4));
      const ds = await loadDataset(cfg(), { dataDir, seed: 1, cacheDir: tempDir() });
      assert.deepEqual(ds.shape, [32, 32, 3]);
      assert.equal(ds.train.n, 20);
      assert.equal(ds.test.n, 4);
      assert.equal(ds.train.x.length, 20 * 3072);
      assert.deepEqual([...ds.train.y], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual([...ds.test.y], [0, 1, 2, 3]);
      assertCifarPixels(ds.train.x, 0, 20);
      assertCifarPixels(ds.test.x, 20, 4);
      assert.deepEqual(ds.source, { format: 'cifar-binary', path: dir, downloaded: false });
      assert.equal(ds.cache, 'none');
      assert.match(ds.fingerprint, /^[0-9a-f]{64}$/);
      assert.equal(ds.classes[0], 'airplane');
      assert.equal(ds.classes[9], 'truck');
    });
  }

  it('gives the same fingerprint for the same bytes and another when one byte changes', async () => {
    const a = tempDir();
    const b = tempDir();
    writeFiles(path.join(a, 'cifar10'), cifarFiles(2));
    const files = cifarFiles(2);
    files.get('test_batch.bin')![100] ^= 1;
    writeFiles(path.join(b, 'cifar10'), files);
    const fa = (await loadDataset(cfg(), { dataDir: a, seed: 1 })).fingerprint;
    const fa2 = (await loadDataset(cfg(), { dataDir: a, seed: 2 })).fingerprint;
    const fb = (await loadDataset(cfg(), { dataDir: b, seed: 1 })).fingerprint;
    assert.equal(fa, fa2);
    assert.notEqual(fa, fb);
  });

  const bad: Array<{
    name: string;
    file: string;
    mutate: (files: Map<string, Buffer>) => void;
    message: (file: string) => string;
  }> = [
    {
      name: 'a batch whose length is not a multiple of 3,073',
      file: 'data_batch_3.bin',
      mutate: (f) => f.set('data_batch_3.bin', f.get('data_batch_3.bin')!.subarray(0, 3073 * 2 + 100)),
      message: (file) =>
        `${file}: 6,246 bytes is not a multiple of 3,073 (1 label byte + 3,072 pixel bytes per image); the file is truncated or not a CIFAR-10 binary batch`,
    },
    {
      name: 'an empty batch',
      file: 'test_batch.bin',
      mutate: (f) => f.set('test_batch.bin', Buffer.alloc(0)),
      message: (file) =>
        `${file}: 0 bytes is not a multiple of 3,073 (1 label byte + 3,072 pixel bytes per image); the file is truncated or not a CIFAR-10 binary batch`,
    },
    {
      name: 'a label outside the class list',
      file: 'data_batch_2.bin',
      mutate: (f) => f.set('data_batch_2.bin', cifarBatch([1, 2, 12, 3])),
      message: (file) => `${file}: record 3 of 4 has label 12, outside the 10 classes (0-9)`,
    },
  ];
  for (const t of bad) {
    it(`rejects ${t.name}, naming the file`, async () => {
      const dataDir = tempDir();
      const files = cifarFiles(4);
      t.mutate(files);
      writeFiles(path.join(dataDir, 'cifar10'), files);
      const file = path.join(dataDir, 'cifar10', t.file);
      await assert.rejects(loadDataset(cfg(), { dataDir, seed: 1 }), (err: unknown) => {
        assert.ok(err instanceof DataError);
        assert.equal(err.message, t.message(file));
        return true;
      });
    });
  }

  it('rejects an incomplete set of batch files, listing the missing ones', async () => {
    const dataDir = tempDir();
    const files = cifarFiles(2);
    files.delete('data_batch_4.bin');
    files.delete('test_batch.bin');
    writeFiles(path.join(dataDir, 'cifar10'), files);
    await assert.rejects(loadDataset(cfg(), { dataDir, seed: 1 }), {
      name: 'DataError',
      message: `${path.join(dataDir, 'cifar10')}: incomplete CIFAR-10 binary files: missing data_batch_4.bin, test_batch.bin`,
    });
  });
});

describe('cifar10 from the official archive in its home', () => {
  it('reads the batches straight from cifar-10-binary.tar.gz without extracting', async () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'cifar-10-binary.tar.gz'), cifarArchive(3));
    const ds = await loadDataset(cfg({ path: home }), { seed: 1 });
    assert.equal(ds.train.n, 15);
    assert.equal(ds.test.n, 3);
    assertCifarPixels(ds.train.x, 0, 15);
    assertCifarPixels(ds.test.x, 15, 3);
    assert.deepEqual(ds.source, {
      format: 'cifar-archive',
      path: path.join(home, 'cifar-10-binary.tar.gz'),
      downloaded: false,
    });
    assert.deepEqual(fs.readdirSync(home), ['cifar-10-binary.tar.gz']);
  });

  it('reads archives made by GNU tar too', async (t) => {
    const home = tempDir();
    const src = tempDir();
    writeFiles(path.join(src, 'cifar-10-batches-bin'), cifarFiles(2));
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('tar', ['czf', path.join(home, 'cifar-10-binary.tar.gz'), '-C', src, 'cifar-10-batches-bin']);
    if (r.error) return t.skip('tar is not installed');
    const ds = await loadDataset(cfg({ path: home }), { seed: 1 });
    assert.equal(ds.train.n, 10);
    assertCifarPixels(ds.train.x, 0, 10);
  });

  it('names a truncated archive', async () => {
    const home = tempDir();
    const archive = cifarArchive(3);
    fs.writeFileSync(path.join(home, 'cifar-10-binary.tar.gz'), archive.subarray(0, Math.floor(archive.length / 2)));
    await assert.rejects(loadDataset(cfg({ path: home }), { seed: 1 }), {
      name: 'DataError',
      message: `${path.join(home, 'cifar-10-binary.tar.gz')}: archive is truncated (gzip stream ends early)`,
    });
  });

  it('names an archive that is not gzip', async () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'cifar-10-binary.tar.gz'), 'this is not an archive');
    await assert.rejects(loadDataset(cfg({ path: home }), { seed: 1 }), {
      name: 'DataError',
      message: `${path.join(home, 'cifar-10-binary.tar.gz')}: not a valid .tar.gz archive (incorrect header check)`,
    });
  });

  it('names an archive without the CIFAR-10 batches', async () => {
    const home = tempDir();
    fs.writeFileSync(
      path.join(home, 'cifar-10-binary.tar.gz'),
      zlib.gzipSync(tar([{ name: 'readme.txt', data: Buffer.from('hi') }])),
    );
    await assert.rejects(loadDataset(cfg({ path: home }), { seed: 1 }), {
      name: 'DataError',
      message: `${path.join(home, 'cifar-10-binary.tar.gz')}: not a CIFAR-10 binary archive: missing data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin`,
    });
  });

  it('names the member of the archive that holds a bad record', async () => {
    const home = tempDir();
    const files = cifarFiles(2);
    files.set('data_batch_5.bin', cifarBatch([0, 10]));
    const entries = [...files].map(([name, data]) => ({ name: `cifar-10-batches-bin/${name}`, data }));
    const archive = path.join(home, 'cifar-10-binary.tar.gz');
    fs.writeFileSync(archive, zlib.gzipSync(tar(entries)));
    await assert.rejects(loadDataset(cfg({ path: home }), { seed: 1 }), {
      name: 'DataError',
      message: `${archive}:cifar-10-batches-bin/data_batch_5.bin: record 2 of 2 has label 10, outside the 10 classes (0-9)`,
    });
  });
});

describe('detectCifarLayout', () => {
  const cases: Array<{ name: string; setup: (home: string) => void; expect: (home: string) => unknown }> = [
    { name: 'empty home', setup: () => {}, expect: () => undefined },
    {
      name: 'binary files win over an archive',
      setup: (h) => {
        writeFiles(h, cifarFiles(1));
        fs.writeFileSync(path.join(h, 'cifar-10-binary.tar.gz'), '');
      },
      expect: (h) => ({ format: 'cifar-binary', dir: h }),
    },
    {
      name: 'extracted archive dir',
      setup: (h) => writeFiles(path.join(h, 'cifar-10-batches-bin'), cifarFiles(1)),
      expect: (h) => ({ format: 'cifar-binary', dir: path.join(h, 'cifar-10-batches-bin') }),
    },
    {
      name: 'archive',
      setup: (h) => fs.writeFileSync(path.join(h, 'cifar-10-binary.tar.gz'), ''),
      expect: (h) => ({ format: 'cifar-archive', file: path.join(h, 'cifar-10-binary.tar.gz') }),
    },
    {
      name: 'image folders',
      setup: (h) => fs.mkdirSync(path.join(h, 'train')),
      expect: (h) => ({ format: 'image-folder', dir: h }),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const home = tempDir();
      c.setup(home);
      assert.deepEqual(detectCifarLayout(home), c.expect(home));
    });
  }
});
