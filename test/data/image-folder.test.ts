import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/data';
import type { DatasetConfig } from '../../src/data/types';
import { DECODERS } from '../../src/data/image-decode';
import { cacheKey } from '../../src/data/image-folder';
import { greyJpeg8x8, jpg, listTree, png, tempDir, datasetConfig } from './fixtures';

const cfg = (over: Partial<DatasetConfig> = {}): DatasetConfig => datasetConfig('imageFolder', over);

function put(root: string, rel: string, data: Buffer): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
}

/** Colour at (x, y) of image k: distinct per image and position. */
const colour = (k: number) => (x: number, y: number) => [
  (k * 40 + x * 10) % 256,
  (y * 20 + k) % 256,
  (x + y + k * 3) % 256,
];

/** A small folder dataset: `perClass` RGB PNGs of 8x8 in each class, train and test. */
function folder(classes = ['cat', 'dog'], perClass = 3, size = 8): string {
  const root = tempDir();
  let k = 0;
  for (const split of ['train', 'test']) {
    for (const c of classes) {
      for (let i = 0; i < perClass; i++)
        put(root, `${split}/${c}/${String(i).padStart(3, '0')}.png`, png(size, size, colour(k++)));
    }
  }
  return root;
}

const ctx = () => ({ seed: 1, cacheDir: tempDir() });

describe('imageFolder', () => {
  it('decodes grey, RGB and RGBA PNGs and JPEGs into RGB HWC bytes, classes in sorted folder order', async () => {
    const root = tempDir();
    put(
      root,
      'train/zebra/a.png',
      png(8, 8, () => [90, 90, 90], 0),
    );
    put(
      root,
      'train/zebra/b.png',
      png(8, 8, (x, y) => [x * 30, y * 30, 7], 2),
    );
    put(
      root,
      'train/apple/c.PNG',
      png(8, 8, (x) => [200, 100, x, 128], 6),
    );
    put(
      root,
      'train/apple/d.jpg',
      jpg(8, 8, () => [250, 10, 120]),
    );
    put(root, 'train/apple/e.jpeg', greyJpeg8x8(80));
    put(
      root,
      'test/apple/f.png',
      png(8, 8, () => [1, 2, 3]),
    );
    const ds = await loadDataset(cfg({ path: root }), ctx());
    assert.deepEqual(ds.classes, ['apple', 'zebra']);
    assert.deepEqual(ds.shape, [8, 8, 3]);
    assert.equal(ds.train.n, 5);
    assert.deepEqual([...ds.train.y], [0, 0, 0, 1, 1]);
    const px = (split: typeof ds.train, i: number, x: number, y: number) => [
      ...split.x.subarray(i * 192 + (y * 8 + x) * 3, i * 192 + (y * 8 + x) * 3 + 3),
    ];
    assert.deepEqual(px(ds.train, 0, 5, 0), [200, 100, 5], 'RGBA PNG: alpha dropped');
    const j = px(ds.train, 1, 3, 3);
    [250, 10, 120].forEach((v, c) => assert.ok(Math.abs(j[c] - v) <= 4, `JPEG channel ${c}: ${j[c]} vs ${v}`));
    assert.deepEqual(px(ds.train, 2, 7, 7), [138, 138, 138], 'grey JPEG repeated into RGB');
    assert.deepEqual(px(ds.train, 3, 4, 4), [90, 90, 90], 'grey PNG');
    assert.deepEqual(px(ds.train, 4, 2, 5), [60, 150, 7], 'RGB PNG');
    assert.deepEqual(px(ds.test, 0, 0, 0), [1, 2, 3]);
    assert.deepEqual(ds.source, { format: 'image-folder', path: root, downloaded: false });
  });

  it('converts to grey with channels: 1 (ITU-R 601 luma)', async () => {
    const root = tempDir();
    put(
      root,
      'train/a/1.png',
      png(4, 4, () => [200, 100, 50]),
    );
    put(
      root,
      'test/a/1.png',
      png(4, 4, () => [10, 10, 10]),
    );
    const ds = await loadDataset(cfg({ path: root, channels: 1 }), ctx());
    assert.deepEqual(ds.shape, [4, 4, 1]);
    assert.equal(ds.train.x[0], Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
    assert.equal(ds.test.x[15], 10);
  });

  it('follows dataset.classes for the label order', async () => {
    const root = folder(['cat', 'dog', 'eel'], 1);
    const ds = await loadDataset(cfg({ path: root, classes: ['eel', 'cat', 'dog'] }), ctx());
    assert.deepEqual(ds.classes, ['eel', 'cat', 'dog']);
    assert.deepEqual([...ds.train.y], [1, 2, 0]);
  });

  it('resizes to dataset.imageSize (bilinear), mixed sizes allowed', async () => {
    const root = tempDir();
    put(
      root,
      'train/a/big.png',
      png(8, 4, () => [100, 150, 200]),
    );
    put(
      root,
      'train/a/small.png',
      png(2, 2, (x) => (x === 0 ? [0, 0, 0] : [255, 255, 255])),
    );
    put(
      root,
      'test/a/same.png',
      png(4, 6, () => [5, 6, 7]),
    );
    const ds = await loadDataset(cfg({ path: root, imageSize: [6, 4] }), ctx());
    assert.deepEqual(ds.shape, [6, 4, 3]);
    assert.equal(ds.train.x.length, 2 * 6 * 4 * 3);
    assert.deepEqual([...ds.train.x.subarray(0, 3)], [100, 150, 200]);
    // 2 -> 4 columns: half-pixel centres give 0, 64, 191, 255 along a row.
    const row = [0, 1, 2, 3].map((x) => ds.train.x[72 + x * 3]);
    assert.deepEqual(row, [0, 64, 191, 255]);
    assert.deepEqual([...ds.test.x.subarray(69, 72)], [5, 6, 7]);
  });

  it('uses both worker threads and gives the same bytes as the main thread', async () => {
    const root = folder(['a', 'b', 'c'], 12);
    const one = await loadDataset(cfg({ path: root }), ctx(), { decode: { workers: 0 } });
    const two = await loadDataset(cfg({ path: root }), ctx(), { decode: { workers: 2, chunk: 5 } });
    assert.deepEqual(two.train.x, one.train.x);
    assert.deepEqual(two.test.x, one.test.x);
    assert.deepEqual(two.train.y, one.train.y);
    assert.equal(two.fingerprint, one.fingerprint);
  });

  for (const workers of [0, 2]) {
    it(`names a corrupt JPEG (${workers ? 'worker threads' : 'main thread'}) and caches nothing`, async () => {
      const root = folder(['a', 'b'], 10);
      const good = jpg(8, 8, colour(1));
      // Headers intact, the entropy-coded data after the SOS segment overwritten.
      const corrupt = Buffer.from(good);
      const sos = corrupt.indexOf(Buffer.from([0xff, 0xda]));
      const dataStart = sos + 2 + corrupt.readUInt16BE(sos + 2);
      assert.ok(corrupt.length - 2 - dataStart > 20, 'the fixture has entropy-coded data to corrupt');
      corrupt.fill(0xab, dataStart, corrupt.length - 2);
      const bad = put(root, 'train/b/005.jpg', corrupt);
      const cacheDir = tempDir();
      await assert.rejects(loadDataset(cfg({ path: root }), { seed: 1, cacheDir }, { decode: { workers, chunk: 3 } }), {
        name: 'DataError',
        message: `${bad}: cannot decode JPEG: corrupt or truncated image data`,
      });
      assert.deepEqual(listTree(cacheDir), []);
    });
  }

  const layouts: Array<{
    name: string;
    setup: (root: string) => void;
    over?: Partial<DatasetConfig>;
    message: (root: string) => string;
  }> = [
    {
      name: 'mixed image sizes without imageSize',
      setup: (r) => put(r, 'test/dog/odd.png', png(8, 6, colour(0))),
      message: (r) =>
        `${path.join(r, 'test/dog/odd.png')}: image is 8x6 pixels, expected 8x8 like train/cat/000.png; all images must share one size, or set dataset.imageSize: [height, width] to resize them`,
    },
    {
      name: 'an empty class folder',
      setup: (r) => fs.mkdirSync(path.join(r, 'test', 'eel')),
      over: { classes: ['cat', 'dog', 'eel'] },
      message: (r) =>
        `${path.join(r, 'train')}: no folder for class "eel" (classes from dataset.classes: cat, dog, eel)`,
    },
    {
      name: 'an empty class folder in train/',
      setup: (r) => fs.mkdirSync(path.join(r, 'train', 'eel')),
      message: (r) => `${path.join(r, 'train', 'eel')}: empty class folder (no .jpg, .jpeg or .png images)`,
    },
    {
      name: 'a folder outside dataset.classes',
      setup: (r) => put(r, 'test/unicorn/1.png', png(8, 8, colour(0))),
      over: { classes: ['cat', 'dog'] },
      message: (r) => `${path.join(r, 'test', 'unicorn')}: folder "unicorn" is not one of the 2 classes (cat, dog)`,
    },
    {
      name: 'a file that is neither JPEG nor PNG',
      setup: (r) => put(r, 'train/dog/002.png', Buffer.from('GIF89a...')),
      message: (r) => `${path.join(r, 'train/dog/002.png')}: not a JPEG or PNG file`,
    },
    {
      name: 'a truncated PNG',
      setup: (r) => put(r, 'train/cat/001.png', png(8, 8, colour(0)).subarray(0, 40)),
      message: (r) => `${path.join(r, 'train/cat/001.png')}: cannot decode PNG: the file is truncated`,
    },
    {
      name: 'no train/ folder',
      setup: (r) => fs.renameSync(path.join(r, 'train'), path.join(r, 'training')),
      message: (r) =>
        `${r}: no train/ folder; an image folder dataset needs train/<class>/ folders of .jpg, .jpeg or .png images (and test/<class>/ folders, or dataset.validationSplit)`,
    },
    {
      name: 'no test/ folder and no validationSplit',
      setup: (r) => fs.rmSync(path.join(r, 'test'), { recursive: true }),
      message: (r) =>
        `${r}: no test/ folder; add test/<class>/ folders or set dataset.validationSplit to hold out part of train/`,
    },
  ];
  for (const t of layouts) {
    it(`rejects ${t.name}, naming the file or folder`, async () => {
      const root = folder();
      t.setup(root);
      await assert.rejects(loadDataset(cfg({ path: root, ...t.over }), ctx()), {
        name: 'DataError',
        message: t.message(root),
      });
    });
  }

  it('requires dataset.path', async () => {
    await assert.rejects(loadDataset(cfg(), ctx()), {
      name: 'DataError',
      message: 'dataset.path is required for imageFolder: the folder that holds train/<class>/ (and test/<class>/)',
    });
  });

  it('accepts train/ alone with a validation split', async () => {
    const root = folder(['a', 'b'], 10);
    fs.rmSync(path.join(root, 'test'), { recursive: true });
    const ds = await loadDataset(cfg({ path: root, validationSplit: 0.2 }), ctx());
    assert.equal(ds.train.n, 16);
    assert.equal(ds.validation?.n, 4);
    assert.deepEqual([...ds.validation!.y].sort(), [0, 0, 1, 1]);
    assert.equal(ds.test.n, 0);
  });

  it('ignores (and reports) files that are not images', async () => {
    const root = folder(['a'], 2);
    put(root, 'train/a/notes.txt', Buffer.from('x'));
    put(root, 'train/a/.DS_Store', Buffer.from('x'));
    const logs: string[] = [];
    const ds = await loadDataset(cfg({ path: root }), { ...ctx(), log: (m) => logs.push(m) });
    assert.equal(ds.train.n, 2);
    assert.ok(logs.includes('imageFolder: ignored 1 files that are not .jpg, .jpeg or .png'), logs.join('\n'));
  });
});

describe('decoded-image cache', () => {
  it('misses, then hits with the same arrays and fingerprint; a changed file misses again', async () => {
    const root = folder(['a', 'b'], 4);
    const cacheDir = tempDir();
    const first = await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    assert.equal(first.cache, 'miss');
    const files = listTree(cacheDir);
    assert.equal(files.length, 2); // decoded/ and one entry
    assert.match(files[1], /^decoded\/imageFolder-[0-9a-f]{16}\.u8$/);

    const second = await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    assert.equal(second.cache, 'hit');
    assert.deepEqual(second.train.x, first.train.x);
    assert.deepEqual(second.test.y, first.test.y);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.deepEqual(second.shape, first.shape);

    const file = path.join(root, 'train/b/001.png');
    fs.writeFileSync(
      file,
      png(8, 8, () => [1, 1, 1]),
    );
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const third = await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    assert.equal(third.cache, 'miss');
    assert.notEqual(third.fingerprint, first.fingerprint);
    assert.equal(third.train.x[5 * 192], 1);
    assert.deepEqual(listTree(cacheDir), files, 'the entry was replaced, not added');
    assert.equal((await loadDataset(cfg({ path: root }), { seed: 1, cacheDir })).cache, 'hit');
  });

  it('keys entries by the decoders too: pixels from another decoder or version are never served', () => {
    const files = [{ rel: 'train/a/0.jpg', size: 631, mtimeMs: 1577836800000 }];
    const id = { root: '/data', classes: ['a'] };
    const installed = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
    assert.deepEqual(DECODERS, {
      jpeg: `libjpeg-turbo (@cwasm/jpeg-turbo ${installed('@cwasm/jpeg-turbo')})`,
      png: `pngjs ${installed('pngjs')}`,
    });
    assert.equal(cacheKey(id, files), cacheKey(id, files, DECODERS));
    assert.notEqual(cacheKey(id, files), cacheKey(id, files, { ...DECODERS, jpeg: 'jpeg-js 0.4.4' }));
    assert.notEqual(cacheKey(id, files), cacheKey(id, files, { ...DECODERS, png: 'pngjs 6.0.0' }));
  });

  it('treats a damaged cache file as a miss and rewrites it', async () => {
    const root = folder(['a'], 2);
    const cacheDir = tempDir();
    await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    const entry = path.join(cacheDir, listTree(cacheDir)[1]);
    fs.truncateSync(entry, fs.statSync(entry).size - 10);
    const ds = await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    assert.equal(ds.cache, 'miss');
    assert.equal((await loadDataset(cfg({ path: root }), { seed: 1, cacheDir })).cache, 'hit');
  });

  it('decodes afresh, and says so, when the cache entry cannot be read (a folder in its place)', async () => {
    const root = folder(['a'], 2);
    const cacheDir = tempDir();
    const first = await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    const entry = path.join(cacheDir, listTree(cacheDir)[1]);
    fs.rmSync(entry);
    fs.mkdirSync(entry);
    const logs: string[] = [];
    const ds = await loadDataset(cfg({ path: root }), { seed: 1, cacheDir, log: (m) => logs.push(m) });
    assert.equal(ds.cache, 'miss');
    assert.deepEqual(ds.train.x, first.train.x);
    const [read, write, ...more] = logs.filter((l) => l.includes('decoded-image cache'));
    assert.equal(
      read,
      `imageFolder: could not read the decoded-image cache ${entry}: EISDIR: illegal operation on a directory, read`,
    );
    // The fresh entry cannot replace the folder either: said too, and its temp file is removed.
    const escaped = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const [dir, base] = [escaped(path.dirname(entry)), escaped(path.basename(entry))];
    assert.match(
      write,
      new RegExp(
        `^imageFolder: could not write the decoded-image cache ${dir}/${base}: EISDIR: illegal operation on a directory, rename '${dir}/\\.${base}\\.${process.pid}\\.[a-z0-9]+\\.tmp' -> '${dir}/${base}'$`,
      ),
    );
    assert.deepEqual(more, []);
    assert.deepEqual(listTree(cacheDir), ['decoded', path.relative(cacheDir, entry)]);
  });

  it('removes temp files left by a writer that was killed', async () => {
    const root = folder(['a'], 2);
    const cacheDir = tempDir();
    const stale = path.join(cacheDir, 'decoded', '.imageFolder-0123456789abcdef.u8.999999999.k3j4.tmp');
    fs.mkdirSync(path.dirname(stale), { recursive: true });
    fs.writeFileSync(stale, 'half');
    await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    assert.equal(fs.existsSync(stale), false);
    assert.equal(listTree(cacheDir).length, 2);
  });

  it('keys on decode options: another imageSize is another entry', async () => {
    const root = folder(['a'], 2);
    const cacheDir = tempDir();
    await loadDataset(cfg({ path: root }), { seed: 1, cacheDir });
    const resized = await loadDataset(cfg({ path: root, imageSize: [4, 4] }), { seed: 1, cacheDir });
    assert.equal(resized.cache, 'miss');
    assert.deepEqual(resized.shape, [4, 4, 3]);
    assert.equal(listTree(cacheDir).length, 3);
  });
});

describe('cifar10 in image folders', () => {
  const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  function cifarFolder(): string {
    const dataDir = tempDir();
    let k = 0;
    for (const split of ['train', 'test'])
      for (const c of [...CLASSES].reverse()) put(dataDir, `cifar10/${split}/${c}/0000.png`, png(32, 32, colour(k++)));
    return dataDir;
  }

  it('labels folders in CIFAR-10 order and caches the decoded images', async () => {
    const dataDir = cifarFolder();
    const cacheDir = tempDir();
    const ds = await loadDataset(cfg({ name: 'cifar10' }), { dataDir, seed: 1, cacheDir });
    assert.deepEqual(ds.classes, CLASSES);
    assert.deepEqual([...ds.train.y], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(ds.shape, [32, 32, 3]);
    assert.deepEqual(ds.source, { format: 'image-folder', path: path.join(dataDir, 'cifar10'), downloaded: false });
    assert.equal(ds.cache, 'miss');
    assert.equal((await loadDataset(cfg({ name: 'cifar10' }), { dataDir, seed: 1, cacheDir })).cache, 'hit');
  });

  it('rejects an image that is not 32x32 and a folder that is not a CIFAR-10 class', async () => {
    const dataDir = cifarFolder();
    const odd = put(dataDir, 'cifar10/test/cat/0001.png', png(30, 32, colour(0)));
    await assert.rejects(loadDataset(cfg({ name: 'cifar10' }), { dataDir, ...ctx() }), {
      name: 'DataError',
      message: `${odd}: image is 30x32 pixels, expected 32x32; CIFAR-10 images are 32x32`,
    });
    fs.rmSync(odd);
    put(dataDir, 'cifar10/train/unicorn/0000.png', png(32, 32, colour(0)));
    await assert.rejects(loadDataset(cfg({ name: 'cifar10' }), { dataDir, ...ctx() }), {
      name: 'DataError',
      message: `${path.join(dataDir, 'cifar10/train/unicorn')}: folder "unicorn" is not one of the 10 classes (${CLASSES.join(', ')})`,
    });
  });
});
