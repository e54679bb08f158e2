/**
 * Operating-system errors a user can cause, worded once (src/os-errors.ts) and printed by the
 * error boundary with exit 1: the wording for each code from real fs calls (synthetic only
 * where root cannot provoke it here), then real cases through the CLI: a runs folder that is
 * a file, one on a read-only file system, one the user may not write, `plot --out` into a
 * missing folder, and a download whose target folder already exists and is not empty.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cifarArchive, md5, serve, tempDir, type TestServer } from '../data/fixtures';
import { tinyExperiment, writeExperiment } from '../pipeline/helpers';
import { writeRun } from '../runs/fixture';
import { describeOsError } from '../../src/os-errors';
import { assertClean, cli, errorLines, mountTmpfs, snapshot } from './harness';

const caught = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
};
const errno = (code: string, syscall: string, p: string) =>
  Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, syscall, path: p });

describe('describeOsError', () => {
  const dir = tempDir('pipeline-oserr-');
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  fs.mkdirSync(path.join(dir, 'full', 'inside'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'src'));
  const cases: Array<[string, unknown, string]> = [
    [
      'ENOTDIR (a file where a folder belongs)',
      caught(() => fs.mkdirSync(path.join(file, 'runs'), { recursive: true })),
      `cannot use ${path.join(file, 'runs')}: part of that path is a file, not a folder; move the file away or choose another location`,
    ],
    [
      'ENOENT (a missing file)',
      caught(() => fs.readFileSync(path.join(dir, 'missing.json'))),
      `${path.join(dir, 'missing.json')} does not exist`,
    ],
    [
      'ENOENT (a missing folder)',
      caught(() => fs.openSync(path.join(dir, 'nope', 'x.svg'), 'w')),
      `cannot use ${path.join(dir, 'nope', 'x.svg')}: its folder ${path.join(dir, 'nope')} does not exist; create it or choose another location`,
    ],
    [
      'EEXIST',
      caught(() => fs.mkdirSync(path.join(dir, 'src'))),
      `cannot create ${path.join(dir, 'src')}: it already exists; move it away or choose another location`,
    ],
    [
      'EISDIR',
      caught(() => fs.writeFileSync(path.join(dir, 'src'), 'x')),
      `cannot use ${path.join(dir, 'src')}: it is a folder where a file belongs; choose a file name`,
    ],
    [
      'ENOTEMPTY (names the destination)',
      caught(() => fs.renameSync(path.join(dir, 'src'), path.join(dir, 'full'))),
      `cannot create ${path.join(dir, 'full')}: a folder by that name already exists and is not empty; move it away and try again`,
    ],
    [
      'ENOSPC',
      errno('ENOSPC', 'write', '/runs/tiny/1/model/weights.bin'),
      'disk full while writing /runs/tiny/1/model/weights.bin: free space and try again',
    ],
    [
      'EACCES',
      errno('EACCES', 'open', '/runs/tiny/1/meta.json'),
      'permission denied opening /runs/tiny/1/meta.json: change its permissions or choose another location, and try again',
    ],
    [
      'EROFS',
      errno('EROFS', 'mkdir', '/mnt/ro/runs'),
      'cannot write /mnt/ro/runs: it is on a read-only file system; choose a writable location and try again',
    ],
    [
      'EMFILE',
      errno('EMFILE', 'open', '/data/train/cat/1.jpg'),
      'too many open files while opening /data/train/cat/1.jpg: raise the limit (ulimit -n) and try again',
    ],
  ];
  for (const [name, err, message] of cases) {
    it(name, () => assert.equal(describeOsError(err), message));
  }
  it('names a path inside the run folder relative to it, with the way to continue', () => {
    assert.equal(
      describeOsError(errno('ENOSPC', 'write', '/r/tiny/1/checkpoints/last/weights.bin'), {
        relativeTo: '/r/tiny/1',
        retry: 'run pipeline run --resume /r/tiny/1',
      }),
      'disk full while writing checkpoints/last/weights.bin: free space and run pipeline run --resume /r/tiny/1',
    );
  });
  it('leaves other errors alone (they are bugs, reported as internal errors)', () => {
    assert.equal(describeOsError(new TypeError('x is undefined')), undefined);
    assert.equal(describeOsError(errno('ECONNRESET', 'read', '/x')), undefined);
  });
});

describe('OS errors through the CLI: exit 1, a message naming the path, never an internal error', () => {
  const work = tempDir('pipeline-oserr-cli-');
  const yaml = writeExperiment(work, tinyExperiment({ dataPath: path.join(work, 'data') }));

  it('a runs folder that is a file', async () => {
    const runs = path.join(work, 'runs-file');
    fs.writeFileSync(runs, 'not a folder');
    const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'cpu'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      errorLines(r.stderr),
      `error: cannot use ${path.join(runs, 'tiny')}: part of that path is a file, not a folder; move the file away or choose another location`,
    );
    assert.equal(fs.readFileSync(runs, 'utf8'), 'not a folder');
  });

  it('a runs folder on a read-only file system', async (t) => {
    const fsys = mountTmpfs('64k');
    if ('skip' in fsys) return t.skip(fsys.skip);
    try {
      fsys.remount('64k,ro');
      const r = await cli(['run', yaml, '--runs-dir', fsys.dir, '--backend', 'cpu'], { timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        errorLines(r.stderr),
        `error: cannot write ${path.join(fsys.dir, 'tiny')}: it is on a read-only file system; choose a writable location and try again`,
      );
    } finally {
      fsys.unmount();
    }
  });

  it('a runs folder the user may not write', async (t) => {
    const runs = path.join(work, 'runs-locked');
    fs.mkdirSync(runs, { mode: 0o755 });
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) fs.chmodSync(runs, 0o555);
    fs.chmodSync(work, 0o755); // nobody reads the experiment file
    // Root may write anywhere: run the CLI as nobody instead.
    const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'cpu'], {
      timeoutMs: 60_000,
      ...(asRoot ? { uid: 65534, gid: 65534, env: { HOME: work } } : {}),
    });
    if (asRoot && /EACCES.*node|cannot find module/i.test(r.stderr))
      return t.skip(`nobody cannot run node here: ${r.stderr.trim()}`);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      errorLines(r.stderr),
      `error: cannot create ${path.join(runs, 'tiny')}: ${runs} is not writable; change its permissions or choose another location`,
    );
    assert.deepEqual(fs.readdirSync(runs), []);
  });

  it('plot --out into a missing folder', async () => {
    const root = tempDir('pipeline-oserr-plot-');
    writeRun(root, { name: 'cifar-lenet', version: 1 });
    const out = path.join(root, 'missing', 'curves.svg');
    const r = await cli(['plot', 'cifar-lenet/1', '--runs-dir', root, '--out', out], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      errorLines(r.stderr),
      `error: cannot use ${out}: its folder ${path.dirname(out)} does not exist; create it or choose another location`,
    );
    assert.equal(fs.existsSync(path.dirname(out)), false);
  });

  describe('a download into a home whose target folder exists and is not empty', () => {
    const archive = cifarArchive(2);
    let server: TestServer;
    before(async () => {
      server = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': archive.length });
        res.end(archive);
      });
    });
    after(() => server.close());

    it('names the folder, keeps what is in it and removes its partial folder', async () => {
      const root = tempDir('pipeline-oserr-dl-');
      const home = path.join(root, 'cifar10');
      fs.mkdirSync(path.join(home, 'cifar-10-batches-bin'), { recursive: true });
      fs.writeFileSync(path.join(home, 'cifar-10-batches-bin', 'notes.txt'), 'mine');
      const exp = path.join(root, 'cifar.yaml');
      fs.writeFileSync(
        exp,
        [
          'version: 1',
          'name: net',
          'dataset:',
          '  name: cifar10',
          `  url: "${server.url}/c.tar.gz#md5=${md5(archive)}"`,
          'model:',
          '  layers:',
          '    - {type: flatten}',
          '    - {type: dense, units: 10}',
          'training:',
          '  epochs: 1',
          '  optimizer: {type: sgd, learningRate: 0.01}',
          '',
        ].join('\n'),
      );
      const before = snapshot(root);
      const r = await cli(['data', exp, '--data-dir', root], { timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        errorLines(r.stderr),
        `error: cannot create ${path.join(home, 'cifar-10-batches-bin')}: a folder by that name already exists and is not empty; move it away and try again`,
      );
      assert.deepEqual(snapshot(root), before);
      assertClean(root);
    });
  });
});
