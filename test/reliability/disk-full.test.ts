/**
 * A full disk, for real: a small tmpfs as the runs folder (skipped with a message where
 * mounting is not permitted; CI runs as root). No file is ever cut short and renamed into
 * place, no temp file is left, meta.json ends `failed` with the cause and what to do, and
 * after freeing space `pipeline run --resume` finishes the run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../data/fixtures';
import { readJson, tinyExperiment, writeExperiment, writePngDataset } from '../pipeline/helpers';
import { writeDirAtomic } from '../../src/util/atomic-dir';
import { writeFileAtomic } from '../../src/util/atomic';
import { describeOsError } from '../../src/os-errors';
import { assertClean, cli, errorLines, fillUntil, mountTmpfs } from './harness';

const work = tempDir('pipeline-full-');
const data = writePngDataset(path.join(work, 'data'), { train: 64, test: 32 });
const env = { PIPELINE_CACHE_DIR: path.join(work, 'cache') };
/** About 400 KB of weights (and twice that of Adam state): more than the small disks hold. */
const layers = ['{type: flatten}', '{type: dense, units: 512, activation: relu}', '{type: dense, units: 4}'];

describe('writes on a full disk', () => {
  it('writeFileAtomic and writeDirAtomic throw ENOSPC naming the file, and leave no temp file', (t) => {
    const fsys = mountTmpfs('256k');
    if ('skip' in fsys) return t.skip(fsys.skip);
    try {
      const file = path.join(fsys.dir, 'weights.bin');
      // Before: one writeSync wrote what fitted, the short file was renamed into place, no error.
      assert.throws(
        () => writeFileAtomic(file, Buffer.alloc(1 << 20, 7)),
        (err: NodeJS.ErrnoException) => err.code === 'ENOSPC' && err.path === file,
      );
      assert.deepEqual(fs.readdirSync(fsys.dir), []);
      const model = path.join(fsys.dir, 'model');
      assert.throws(
        () => writeDirAtomic(model, { 'model.json': '{}', 'weights.bin': Buffer.alloc(1 << 20, 7) }),
        (err: unknown) =>
          describeOsError(err, { relativeTo: fsys.dir, retry: 'run it again' }) ===
          'disk full while writing model/weights.bin: free space and run it again',
      );
      assert.deepEqual(fs.readdirSync(fsys.dir), []);
    } finally {
      fsys.unmount();
    }
  });

  it('a run on a full disk fails with the cause in meta.json, and resumes once space is freed', async (t) => {
    const fsys = mountTmpfs('1m');
    if ('skip' in fsys) return t.skip(fsys.skip);
    try {
      const runs = path.join(fsys.dir, 'runs');
      const runDir = path.join(runs, 'tiny', '1');
      const yaml = writeExperiment(tempDir(), tinyExperiment({ dataPath: data, epochs: 2, layers }));
      const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'wasm'], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 1, r.stderr);
      const cause = `disk full while writing checkpoints/last/optimizer.bin: free space and run pipeline run --resume ${runDir}`;
      assert.equal(errorLines(r.stderr), `error: ${cause}`);
      const meta = readJson(path.join(runDir, 'meta.json'));
      assert.deepEqual([meta.status, meta.error], ['failed', cause]);
      assertClean(runs);
      assert.deepEqual(fs.readdirSync(fsys.dir), ['runs'], 'nothing but the run on the disk');

      fsys.remount('16m');
      const resumed = await cli(['run', '--resume', runDir, '--backend', 'wasm'], { env, timeoutMs: 120_000 });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(readJson(path.join(runDir, 'meta.json')).status, 'completed');
      assertClean(runs);
    } finally {
      fsys.unmount();
    }
  });

  it('a model write that finds the disk full: model/weights.bin is never cut short, eval works once the run is resumed', async (t) => {
    const fsys = mountTmpfs('16m');
    if ('skip' in fsys) return t.skip(fsys.skip);
    try {
      const runs = path.join(fsys.dir, 'runs');
      const runDir = path.join(runs, 'tiny', '1');
      const yaml = writeExperiment(tempDir(), tinyExperiment({ dataPath: data, epochs: 2, layers }));
      const first = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'wasm'], { env, timeoutMs: 120_000 });
      assert.equal(first.code, 0, first.stderr);
      const weights = fs.statSync(path.join(runDir, 'model/weights.bin')).size;
      // The state a failed model write leaves: training done (last checkpoint at the final epoch), no model/.
      fs.rmSync(path.join(runDir, 'model'), { recursive: true });
      const meta = readJson(path.join(runDir, 'meta.json'));
      fs.writeFileSync(path.join(runDir, 'meta.json'), JSON.stringify({ ...meta, status: 'failed' }));
      const filler = fillUntil(fsys.dir, Math.floor(weights / 2));

      const r = await cli(['run', '--resume', runDir, '--backend', 'wasm'], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 1, r.stderr);
      const cause = `disk full while writing model/weights.bin: free space and run pipeline run --resume ${runDir}`;
      assert.equal(errorLines(r.stderr), `error: ${cause}`);
      assert.deepEqual(
        [readJson(path.join(runDir, 'meta.json')).status, readJson(path.join(runDir, 'meta.json')).error],
        ['failed', cause],
      );
      assert.equal(fs.existsSync(path.join(runDir, 'model')), false, 'no short model renamed into place');
      assertClean(runs);

      const e = await cli(['eval', runDir, '--backend', 'wasm'], { env, timeoutMs: 60_000 });
      assert.equal(e.code, 2, e.stderr);
      assert.equal(
        errorLines(e.stderr),
        `error: tiny/1 has no saved model (it is failed); only completed runs have model/; continue it with: pipeline run --resume tiny/1`,
      );

      fs.rmSync(filler);
      const resumed = await cli(['run', '--resume', runDir, '--backend', 'wasm'], { env, timeoutMs: 120_000 });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(fs.statSync(path.join(runDir, 'model/weights.bin')).size, weights);
      const ok = await cli(['eval', runDir, '--backend', 'wasm', '--json'], { env, timeoutMs: 60_000 });
      assert.equal(ok.code, 0, ok.stderr);
      assertClean(runs);
    } finally {
      fsys.unmount();
    }
  });
});
