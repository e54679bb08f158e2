import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/data';
import type { DatasetConfig } from '../../src/data/types';
import * as zlib from 'node:zlib';
import {
  cifarArchive,
  cifarPixel,
  closedPort,
  idxFiles,
  idxImages,
  listTree,
  md5,
  serve,
  tempDir,
  type TestServer,
  datasetConfig,
} from './fixtures';

/** Downloads from a local server on 127.0.0.1: success, checksum mismatch, interruption, offline. */

const cfg = (over: Partial<DatasetConfig> = {}): DatasetConfig => datasetConfig('cifar10', over);

const archive = cifarArchive(3);
const archiveMd5 = md5(archive);
const junk = Buffer.from('not a gzip archive at all');
const mnist = idxFiles(20, 10);
const junkIdx = zlib.gzipSync(idxImages(20).subarray(0, 800));
const mnistMd5 = [...mnist.values()].map(md5).join(',');

let server: TestServer;
before(async () => {
  server = await serve((req, res) => {
    const url = req.url ?? '';
    if (url === '/cifar.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length });
      res.end(archive);
    } else if (url === '/junk.tar.gz') {
      res.end(junk);
    } else if (url === '/moved.tar.gz') {
      res.writeHead(302, { location: '/cifar.tar.gz' });
      res.end();
    } else if (url === '/half.tar.gz') {
      // Promise the whole archive, send half, then drop the connection.
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 1000), () => res.socket?.destroy());
    } else if (url === '/mnist-bad/train-images-idx3-ubyte.gz') {
      res.end(junkIdx);
    } else if (url.startsWith('/mnist-bad/') && mnist.has(url.slice(11))) {
      res.end(mnist.get(url.slice(11)));
    } else if (url.startsWith('/mnist/') && mnist.has(url.slice(7))) {
      res.end(mnist.get(url.slice(7)));
    } else {
      res.writeHead(404, 'Not Found');
      res.end();
    }
  });
});
after(() => server.close());

describe('cifar10 download', () => {
  it('downloads, verifies the MD5, extracts into the home and leaves no temp files', async () => {
    const dataDir = tempDir();
    const logs: string[] = [];
    const ds = await loadDataset(cfg({ url: `${server.url}/cifar.tar.gz#md5=${archiveMd5}` }), {
      dataDir,
      seed: 1,
      log: (m) => logs.push(m),
    });
    const home = path.join(dataDir, 'cifar10');
    assert.equal(ds.train.n, 15);
    assert.equal(ds.test.n, 3);
    assert.equal(ds.train.x[3 * 5 + 1], cifarPixel(0, 5, 1));
    assert.deepEqual(ds.source, {
      format: 'cifar-binary',
      path: path.join(home, 'cifar-10-batches-bin'),
      downloaded: true,
    });
    assert.deepEqual(listTree(home), [
      'cifar-10-batches-bin',
      'cifar-10-batches-bin/batches.meta.txt',
      'cifar-10-batches-bin/data_batch_1.bin',
      'cifar-10-batches-bin/data_batch_2.bin',
      'cifar-10-batches-bin/data_batch_3.bin',
      'cifar-10-batches-bin/data_batch_4.bin',
      'cifar-10-batches-bin/data_batch_5.bin',
      'cifar-10-batches-bin/test_batch.bin',
    ]);
    assert.deepEqual(logs, [`cifar10: no data in ${home}; downloading ${server.url}/cifar.tar.gz`]);
    // The next load reads the extracted files: no second download, same fingerprint.
    const before = server.requests.length;
    const again = await loadDataset(cfg({ url: `${server.url}/cifar.tar.gz#md5=${archiveMd5}` }), { dataDir, seed: 1 });
    assert.equal(server.requests.length, before);
    assert.equal(again.source.downloaded, false);
    assert.equal(again.fingerprint, ds.fingerprint);
  });

  it('follows redirects', async () => {
    const dataDir = tempDir();
    const ds = await loadDataset(cfg({ url: `${server.url}/moved.tar.gz#md5=${archiveMd5}` }), { dataDir, seed: 1 });
    assert.equal(ds.train.n, 15);
  });

  const hint = (home: string) =>
    [
      `Nothing was written. To work offline, put one of these in ${home}:`,
      `  - cifar-10-binary.tar.gz, the official archive (MD5 c32a1d4ab5d03f1284b67883e8d87530)`,
      `  - its extracted files data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin (directly or in cifar-10-batches-bin/)`,
      `  - the images as train/<class>/*.jpg|png and test/<class>/*.jpg|png`,
      `or point --data-dir or PIPELINE_DATA_DIR at a directory holding cifar10/.`,
    ].join('\n');

  const failures: Array<{ name: string; url: () => Promise<string>; reason: (url: string) => string }> = [
    {
      name: 'a checksum mismatch (the official MD5 when the URL names none)',
      url: async () => `${server.url}/cifar.tar.gz`,
      reason: (url) => `checksum mismatch for ${url}: expected MD5 c32a1d4ab5d03f1284b67883e8d87530, got ${archiveMd5}`,
    },
    {
      name: 'a checksum mismatch (the MD5 the URL names)',
      url: async () => `${server.url}/cifar.tar.gz#md5=00000000000000000000000000000000`,
      reason: () =>
        `checksum mismatch for ${server.url}/cifar.tar.gz: expected MD5 00000000000000000000000000000000, got ${archiveMd5}`,
    },
    {
      name: 'an interrupted download',
      url: async () => `${server.url}/half.tar.gz`,
      reason: (url) => `download of ${url} was interrupted after 1000 of ${archive.length} bytes`,
    },
    {
      name: 'an HTTP error',
      url: async () => `${server.url}/missing.tar.gz`,
      reason: (url) => `cannot download ${url}: HTTP 404 Not Found`,
    },
    {
      name: 'no network (connection refused)',
      url: async () => `http://127.0.0.1:${await closedPort()}/cifar-10-binary.tar.gz`,
      reason: (url) => `cannot download ${url}: connection refused (ECONNREFUSED)`,
    },
  ];
  for (const f of failures) {
    it(`fails on ${f.name} with what to place where, writing nothing`, async () => {
      const dataDir = tempDir();
      const home = path.join(dataDir, 'cifar10');
      const url = await f.url();
      await assert.rejects(loadDataset(cfg({ url }), { dataDir, seed: 1 }), {
        name: 'DataError',
        message: `cifar10: no CIFAR-10 data in ${home} and the download failed: ${f.reason(url.split('#')[0])}\n${hint(home)}`,
      });
      assert.deepEqual(listTree(dataDir), [], 'the data dir is left as it was');
    });
  }

  it('names the URL when a verified download is not a usable archive, writing nothing', async () => {
    const dataDir = tempDir();
    const url = `${server.url}/junk.tar.gz`;
    await assert.rejects(loadDataset(cfg({ url: `${url}#md5=${md5(junk)}` }), { dataDir, seed: 1 }), {
      name: 'DataError',
      message: `cifar10: the archive downloaded from ${url} is unusable, nothing was written: cifar-10-binary.tar.gz: not a valid .tar.gz archive (incorrect header check)`,
    });
    assert.deepEqual(listTree(dataDir), []);
  });

  it('keeps an existing home (and its other files) but removes its own temp dir', async () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'notes.txt'), 'mine');
    await assert.rejects(loadDataset(cfg({ path: home, url: `${server.url}/half.tar.gz` }), { seed: 1 }), {
      name: 'DataError',
      message: new RegExp(
        `^cifar10: no CIFAR-10 data in ${home} and the download failed: download of .* was interrupted after 1000 of`,
      ),
    });
    assert.deepEqual(listTree(home), ['notes.txt']);
  });

  it('says so when the home cannot be created', async () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'blocker'), 'a file where a folder should be');
    const home = path.join(dataDir, 'blocker', 'cifar10');
    await assert.rejects(loadDataset(cfg({ path: home, url: `${server.url}/cifar.tar.gz` }), { seed: 1 }), {
      name: 'DataError',
      message: `cannot create ${home} to download into: ENOTDIR: not a directory, mkdir '${home}'; choose another location (dataset.path, --data-dir or PIPELINE_DATA_DIR)`,
    });
  });

  it('removes a temp dir left by a killed download', async () => {
    const dataDir = tempDir();
    const stale = path.join(dataDir, 'cifar10', '.partial-999999999-abc');
    fs.mkdirSync(stale, { recursive: true });
    fs.writeFileSync(path.join(stale, 'cifar-10-binary.tar.gz'), 'half');
    await loadDataset(cfg({ url: `${server.url}/cifar.tar.gz#md5=${archiveMd5}` }), { dataDir, seed: 1 });
    assert.equal(fs.existsSync(stale), false);
  });
});

describe('mnist download', () => {
  it('downloads the four files from a base URL, checking each MD5', async () => {
    const dataDir = tempDir();
    const ds = await loadDataset(cfg({ name: 'mnist', url: `${server.url}/mnist/#md5=${mnistMd5}` }), {
      dataDir,
      seed: 1,
    });
    assert.equal(ds.train.n, 20);
    assert.equal(ds.test.n, 10);
    assert.deepEqual(ds.shape, [28, 28, 1]);
    assert.deepEqual(ds.source, { format: 'idx', path: path.join(dataDir, 'mnist'), downloaded: true });
    assert.deepEqual(listTree(path.join(dataDir, 'mnist')), [...mnist.keys()].sort());
  });

  it('names the file when downloaded files do not parse', async () => {
    const dataDir = tempDir();
    const files = [...mnist.values()];
    const url = `${server.url}/mnist-bad/`;
    const badMd5 = [md5(junkIdx), ...files.slice(1).map(md5)].join(',');
    await assert.rejects(loadDataset(cfg({ name: 'mnist', url: `${url}#md5=${badMd5}` }), { dataDir, seed: 1 }), {
      name: 'DataError',
      message: `mnist: the files downloaded from ${url} are unusable, nothing was written: train-images-idx3-ubyte.gz: IDX header says 20 x 28 x 28 (15,696 bytes with the header) but the file holds 800 bytes`,
    });
    assert.deepEqual(listTree(dataDir), []);
  });

  it('checks the official checksums when the URL names none, and writes nothing on failure', async () => {
    const dataDir = tempDir();
    const home = path.join(dataDir, 'mnist');
    const url = `${server.url}/mnist/`;
    await assert.rejects(loadDataset(cfg({ name: 'mnist', url }), { dataDir, seed: 1 }), {
      name: 'DataError',
      message:
        `mnist: no MNIST files in ${home} and the download failed:\n` +
        `  checksum mismatch for ${url}train-images-idx3-ubyte.gz: expected MD5 f68b3c2dcbeaaa9fbdd348bbdeb94873, got ${md5(mnist.get('train-images-idx3-ubyte.gz')!)}\n` +
        `Nothing was written. To work offline, put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in ${home}, or point --data-dir or PIPELINE_DATA_DIR at a directory holding mnist/.`,
    });
    assert.deepEqual(listTree(dataDir), []);
  });
});
