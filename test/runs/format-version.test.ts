/**
 * The run folder's format version (meta.json `formatVersion`): every reader refuses a folder
 * written in a newer format with one message and exit 1, folders from before the field was
 * recorded read as version 1, and the writer records the version it writes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FORMAT_VERSION } from '../../src/run-format/types';
import {
  checkFormatVersion,
  DamagedRunFile,
  NewerRunFormat,
  readMeta,
  readMetaIfExists,
} from '../../src/run-format/read';
import { MetaFile, writeMetaJson } from '../../src/run-format/write';
import { listRuns, Run } from '../../src/runs/read';
import { createUiServer } from '../../src/ui/server';
import { cli, errorLines } from '../reliability/harness';
import { tempRoot, writeRun } from './fixture';

const NEWER = FORMAT_VERSION + 1;
const refusal = (dir: string) =>
  `run folder ${dir} has format version ${NEWER}; this pipeline reads up to ${FORMAT_VERSION}: upgrade pipeline`;

/** A runs root with tiny/1 from a newer pipeline and tiny/2 of this one. */
function newerRoot(): { root: string; newer: string; current: string } {
  const root = tempRoot('pipeline-format-');
  const newer = writeRun(root, { name: 'tiny' });
  const current = writeRun(root, { name: 'tiny' });
  const file = path.join(newer, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
  // A newer format may rename what this one requires: the version is read before any field.
  delete meta.status;
  fs.writeFileSync(file, JSON.stringify({ formatVersion: NEWER, ...meta }));
  return { root, newer, current };
}

describe('a run folder of a newer format', () => {
  const { root, newer, current } = newerRoot();
  const elsewhere = tempRoot('pipeline-format-into-');
  const out = tempRoot('pipeline-format-out-');
  const CASES: Array<[string, string[]]> = [
    ['ls', ['ls', '--runs-dir', root]],
    ['show', ['show', 'tiny/1', '--runs-dir', root]],
    ['diff', ['diff', 'tiny/1', 'tiny/2', '--runs-dir', root]],
    ['plot', ['plot', 'tiny/1', '--out', path.join(out, 'c.svg'), '--runs-dir', root]],
    ['eval', ['eval', newer, '--backend', 'cpu']],
    ['predict', ['predict', newer, path.join(out, 'none.png'), '--backend', 'cpu']],
    ['export', ['export', newer, path.join(out, 'bundle')]],
    ['serve', ['serve', newer, '--port', '0', '--backend', 'cpu']],
    ['run --resume', ['run', '--resume', newer, '--backend', 'cpu']],
    ['collect', ['collect', root, '--runs-dir', elsewhere]],
  ];
  for (const [name, args] of CASES) {
    it(`pipeline ${name}: exit 1, says which folder and to upgrade`, async () => {
      const before = fs.readFileSync(path.join(newer, 'meta.json'), 'utf8');
      const r = await cli(args, { timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(errorLines(r.stderr), `error: ${refusal(newer)}`);
      assert.equal(fs.readFileSync(path.join(newer, 'meta.json'), 'utf8'), before, 'the folder is not touched');
    });
  }

  it('the dashboard API: a JSON error with the same message', async () => {
    const app = createUiServer({ root, host: '127.0.0.1', watch: { fastMs: 100, fullMs: 1000 } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (const route of ['/api/runs', '/api/runs/tiny/1']) {
        const res = await fetch(url + route);
        assert.deepEqual([res.status, await res.json()], [500, { error: refusal(newer) }], route);
      }
      const ok = await fetch(url + '/api/runs/tiny/2');
      assert.equal(ok.status, 200);
    } finally {
      await app.close();
    }
  });

  it('the readers: NewerRunFormat from the tolerant and the strict one alike; the current run reads', () => {
    for (const read of [() => readMetaIfExists(newer), () => readMeta(newer), () => Run.fromDir(newer).status()])
      assert.throws(read, (err: unknown) => err instanceof NewerRunFormat && err.message === refusal(newer));
    assert.equal(Run.fromDir(current).status(), 'completed');
  });
});

describe('run folders from before the format version was recorded', () => {
  it('read as version 1: meta, status, summary and metrics as written', () => {
    const root = tempRoot('pipeline-format-old-');
    const dir = writeRun(root, { name: 'old' });
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    assert.equal('formatVersion' in meta, false, 'the fixture writes the old format');
    assert.equal(checkFormatVersion(dir, meta), 1);
    assert.equal(readMeta(dir).name, 'old');
    const [run] = listRuns(root);
    assert.equal(run.status(), 'completed');
    assert.equal(run.metrics().length, 3);
    assert.equal(run.bestMetrics()?.epoch, run.summary()?.best?.epoch);
  });

  it('a version that is no version is a damaged meta.json, named by its field', () => {
    const root = tempRoot('pipeline-format-bad-');
    const dir = writeRun(root, { name: 'bad' });
    const file = path.join(dir, 'meta.json');
    const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const [v, found] of [
      [0, '0'],
      [1.5, '1.5'],
      ['2', '"2"'],
    ] as const) {
      fs.writeFileSync(file, JSON.stringify({ ...meta, formatVersion: v }));
      assert.throws(
        () => readMetaIfExists(dir),
        (err: unknown) =>
          err instanceof DamagedRunFile &&
          err.message === `${file}: formatVersion: expected an integer >= 1, found ${found}`,
      );
      assert.equal(Run.fromDir(dir).status(), 'unknown', 'a listing shows it as damaged');
    }
  });
});

describe('the writer', () => {
  it('records this pipeline format version first in meta.json, also when rewriting an old folder', () => {
    const root = tempRoot('pipeline-format-write-');
    const dir = writeRun(root, { name: 'w' });
    const old = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    writeMetaJson(dir, { ...old, formatVersion: 7 });
    const rewritten = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    assert.equal(Object.keys(rewritten)[0], 'formatVersion');
    assert.equal(rewritten.formatVersion, FORMAT_VERSION);
    const file = new MetaFile(dir, readMeta(dir));
    file.update({ status: 'failed', error: 'x' });
    assert.equal(readMeta(dir).formatVersion, FORMAT_VERSION);
    assert.equal(readMeta(dir).status, 'failed');
  });
});
