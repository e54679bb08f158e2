/**
 * Hostile .tar.gz archives in a CIFAR-10 home, read by the real CLI (`pipeline data`): size
 * fields that are not numbers, entries declaring a gigabyte, half-gigabyte long names and pax
 * headers, paths and links that leave the folder. Each must end with exit 1 and one message
 * naming the archive, within seconds, in bounded memory (peak RSS measured), changing nothing.
 * The same archives downloaded (extracted, not just read) must write nothing outside the home.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { cifarFiles, md5, serve, tempDir, type TestServer } from '../data/fixtures';
import { assertClean, cli, errorLines, snapshot } from './harness';

const BLOCK = 512;
const MIB = 1024 * 1024;

/** One tar header with a valid checksum and whatever size field, type and link the case needs. */
function header(o: { name: string; size?: number; sizeField?: string; type?: string; link?: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(o.name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(o.sizeField ?? (o.size ?? 0).toString(8).padStart(11, '0') + '\0', 124, 12, 'latin1');
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(o.type ?? '0', 156);
  if (o.link) h.write(o.link, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
const file = (name: string, data: Buffer) => Buffer.concat([header({ name, size: data.length }), pad(data)]);
const END = Buffer.alloc(2 * BLOCK);

/** Gzip members concatenate: `mib` MiB of zeros as many copies of one small member (a 1 GiB body in ~1 MB). */
const zeroMember = zlib.gzipSync(Buffer.alloc(MIB));
const gzZeros = (mib: number) => Buffer.concat(new Array<Buffer>(mib).fill(zeroMember));

/** The real batches, so a refused archive is refused for its hostile entry, not for missing data. */
const batches = Buffer.concat([...cifarFiles(2)].map(([name, data]) => file(`cifar-10-batches-bin/${name}`, data)));

interface Case {
  name: string;
  archive: () => Buffer;
  /** The message after `<archive>: `. */
  message: string;
}

const CASES: Case[] = [
  {
    name: 'a size field that is not octal (9999999999)',
    archive: () =>
      zlib.gzipSync(
        Buffer.concat([
          header({ name: 'cifar-10-batches-bin/data_batch_1.bin', sizeField: '9999999999\0' }),
          batches,
          END,
        ]),
      ),
    message: 'corrupt tar archive: entry cifar-10-batches-bin/data_batch_1.bin has an invalid size field',
  },
  {
    name: 'a negative size field (-1000)',
    archive: () =>
      zlib.gzipSync(
        Buffer.concat([header({ name: 'cifar-10-batches-bin/data_batch_1.bin', sizeField: '-1000\0' }), batches, END]),
      ),
    message: 'corrupt tar archive: entry cifar-10-batches-bin/data_batch_1.bin has an invalid size field',
  },
  {
    name: 'a 1 GiB data_batch_1.bin (a bomb: about 1 MB compressed)',
    archive: () =>
      Buffer.concat([
        zlib.gzipSync(header({ name: 'cifar-10-batches-bin/data_batch_1.bin', size: 1024 * MIB })),
        gzZeros(1024),
      ]),
    message: `archive entry cifar-10-batches-bin/data_batch_1.bin declares ${1024 * MIB} bytes, more than the ${64 * MIB} expected; refusing the archive`,
  },
  {
    name: 'a 512 MiB GNU long name',
    archive: () =>
      Buffer.concat([zlib.gzipSync(header({ name: '././@LongLink', size: 512 * MIB, type: 'L' })), gzZeros(512)]),
    message: `archive entry ././@LongLink is a ${512 * MIB}-byte long name or pax header (at most 65536 allowed); refusing the archive`,
  },
  {
    name: 'a 512 MiB pax header',
    archive: () =>
      Buffer.concat([zlib.gzipSync(header({ name: 'PaxHeader/x', size: 512 * MIB, type: 'x' })), gzZeros(512)]),
    message: `archive entry PaxHeader/x is a ${512 * MIB}-byte long name or pax header (at most 65536 allowed); refusing the archive`,
  },
  {
    name: 'many entries that add up to more than CIFAR-10 can hold',
    archive: () =>
      Buffer.concat([
        zlib.gzipSync(Buffer.concat([header({ name: 'junk/a.bin', size: 60 * MIB })])),
        gzZeros(60),
        zlib.gzipSync(Buffer.concat([header({ name: 'junk/b.bin', size: 60 * MIB })])),
        gzZeros(60),
        zlib.gzipSync(Buffer.concat([header({ name: 'junk/c.bin', size: 60 * MIB })])),
        gzZeros(60),
        zlib.gzipSync(Buffer.concat([header({ name: 'junk/d.bin', size: 60 * MIB })])),
        gzZeros(60),
        zlib.gzipSync(Buffer.concat([header({ name: 'junk/e.bin', size: 60 * MIB })])),
        gzZeros(60),
      ]),
    message: `the archive's entries declare more than ${256 * MIB} bytes in all; refusing the archive`,
  },
  {
    name: "a path with '..'",
    archive: () =>
      zlib.gzipSync(Buffer.concat([file('cifar-10-batches-bin/../../evil.txt', Buffer.from('pwned')), batches, END])),
    message: "archive entry cifar-10-batches-bin/../../evil.txt leaves its folder ('..'); refusing the archive",
  },
  {
    name: 'an absolute path',
    archive: () => zlib.gzipSync(Buffer.concat([file('/tmp/pipeline-evil.txt', Buffer.from('pwned')), batches, END])),
    message: 'archive entry /tmp/pipeline-evil.txt has an absolute path; refusing the archive',
  },
  {
    name: 'a symbolic link out of the folder',
    archive: () =>
      zlib.gzipSync(
        Buffer.concat([header({ name: 'cifar-10-batches-bin/escape', type: '2', link: '../../../etc' }), batches, END]),
      ),
    message:
      'archive entry cifar-10-batches-bin/escape links to ../../../etc, outside its folder; refusing the archive',
  },
  {
    name: 'a hard link to an absolute path',
    archive: () =>
      zlib.gzipSync(
        Buffer.concat([header({ name: 'cifar-10-batches-bin/passwd', type: '1', link: '/etc/passwd' }), batches, END]),
      ),
    message: 'archive entry cifar-10-batches-bin/passwd links to /etc/passwd, outside its folder; refusing the archive',
  },
];

const experiment = (dir: string, url?: string) => {
  const p = path.join(dir, 'cifar.yaml');
  const lines = [
    'version: 1',
    'name: hostile',
    'dataset:',
    '  name: cifar10',
    ...(url ? [`  url: ${JSON.stringify(url)}`] : []),
    'model:',
    '  layers:',
    '    - {type: flatten}',
    '    - {type: dense, units: 10}',
    'training:',
    '  epochs: 1',
    '  optimizer: {type: sgd, learningRate: 0.01}',
    '',
  ];
  fs.writeFileSync(p, lines.join('\n'));
  return p;
};

/** Peak memory allowed for reading a hostile archive (the CLI alone takes about 100 MB). */
const RSS_LIMIT_MB = 600;

describe('hostile archives in the dataset home', { concurrency: 2 }, () => {
  for (const c of CASES) {
    it(`refuses ${c.name} with exit 1, in bounded memory, changing nothing`, async (t) => {
      const root = tempDir('pipeline-archive-');
      const home = path.join(root, 'data', 'cifar10');
      fs.mkdirSync(home, { recursive: true });
      const archive = path.join(home, 'cifar-10-binary.tar.gz');
      fs.writeFileSync(archive, c.archive());
      const yaml = experiment(root);
      const before = snapshot(root);
      const r = await cli(['data', yaml, '--data-dir', path.join(root, 'data')], {
        env: { PIPELINE_CACHE_DIR: path.join(root, 'cache') },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 1, r.stderr);
      t.diagnostic(`peak RSS ${r.peakRssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
      assert.ok(r.peakRssMb < RSS_LIMIT_MB, `peak RSS ${r.peakRssMb.toFixed(0)} MB`);
      assert.equal(errorLines(r.stderr), `error: ${archive}: ${c.message}`);
      assert.deepEqual(snapshot(root), before, 'nothing changed');
      assert.equal(fs.existsSync('/tmp/pipeline-evil.txt'), false);
    });
  }
});

describe('hostile archives downloaded', () => {
  let server: TestServer;
  const served = new Map<string, Buffer>();
  before(async () => {
    server = await serve((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) {
        res.writeHead(404, 'Not Found');
        return void res.end();
      }
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
  });
  after(() => server.close());

  // The extracting path: entries are written to disk, so traversal and links matter most here.
  for (const c of CASES.filter((x) => /'\.\.'|absolute|link|bomb/.test(x.name))) {
    it(`refuses ${c.name}, removing its partial folder and writing nothing outside the home`, async (t) => {
      const root = tempDir('pipeline-archive-dl-');
      const body = c.archive();
      const urlPath = `/${served.size}.tar.gz`;
      served.set(urlPath, body);
      const url = `${server.url}${urlPath}`;
      const yaml = experiment(root, `${url}#md5=${md5(body)}`);
      const before = snapshot(root);
      const r = await cli(['data', yaml, '--data-dir', path.join(root, 'data')], {
        env: { PIPELINE_CACHE_DIR: path.join(root, 'cache') },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 1, r.stderr);
      t.diagnostic(`peak RSS ${r.peakRssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
      assert.ok(r.peakRssMb < RSS_LIMIT_MB, `peak RSS ${r.peakRssMb.toFixed(0)} MB`);
      assert.equal(
        errorLines(r.stderr),
        `error: cifar10: the archive downloaded from ${url} is unusable, nothing was written: cifar-10-binary.tar.gz: ${c.message}`,
      );
      assert.deepEqual(snapshot(root), before, 'the data dir is as it was (the home it created is gone)');
      assert.equal(fs.existsSync('/tmp/pipeline-evil.txt'), false);
      assertClean(root);
    });
  }
});
