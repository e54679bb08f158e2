/**
 * Run folders and checkpoints damaged by hand, by a broken disk or by another tool, given to
 * `pipeline eval` and `pipeline run --resume`: every file pipeline reads back is checked, so
 * each case ends with a message naming the file and the field, the documented exit code, no
 * internal error, and nothing changed outside the run folder (and no run left running).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../data/fixtures';
import { readJson, tinyExperiment, writeExperiment, writePngDataset } from '../pipeline/helpers';
import { assertClean, cli, errorLines, snapshot } from './harness';

const work = tempDir('pipeline-tamper-');
const data = writePngDataset(path.join(work, 'data'), { train: 64, test: 32 });
const env = { PIPELINE_CACHE_DIR: path.join(work, 'cache') };
let original: string;

before(async () => {
  const yaml = writeExperiment(work, tinyExperiment({ dataPath: data, epochs: 2 }));
  const r = await cli(['run', yaml, '--runs-dir', path.join(work, 'runs'), '--backend', 'wasm'], {
    env,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  original = path.join(work, 'runs', 'tiny', '1');
});

const edit = (file: string, f: (v: any) => unknown) =>
  fs.writeFileSync(file, JSON.stringify(f(JSON.parse(fs.readFileSync(file, 'utf8')))));
/** A run that may be resumed: one that failed (here, after its last checkpoint). */
const failed = (dir: string) =>
  edit(path.join(dir, 'meta.json'), (m) => ({ ...m, status: 'failed', error: 'disk full' }));

interface Case {
  name: string;
  /** extend: `run --resume` of the completed run with more epochs. */
  command: 'eval' | 'resume' | 'extend';
  tamper: (dir: string) => void;
  code: number;
  message: (dir: string) => string;
}

const CASES: Case[] = [
  {
    name: 'meta.json that is not JSON',
    command: 'eval',
    tamper: (d) => fs.writeFileSync(path.join(d, 'meta.json'), 'garbage{'),
    code: 1,
    message: (d) => `${d}/meta.json: not valid JSON (Unexpected token 'g', "garbage{" is not valid JSON)`,
  },
  {
    name: 'meta.json that is null',
    command: 'eval',
    tamper: (d) => fs.writeFileSync(path.join(d, 'meta.json'), 'null'),
    code: 1,
    message: (d) => `${d}/meta.json: expected a mapping, found nothing (null)`,
  },
  {
    name: 'meta.json with a status that is no status',
    command: 'resume',
    tamper: (d) => edit(path.join(d, 'meta.json'), (m) => ({ ...m, status: 'paused' })),
    code: 1,
    message: (d) =>
      `${d}/meta.json: status: expected "running" or "completed" or "failed" or "interrupted" or "diverged", found "paused"`,
  },
  {
    name: 'meta.json without a version',
    command: 'eval',
    tamper: (d) => edit(path.join(d, 'meta.json'), ({ version: _v, ...m }) => m),
    code: 1,
    message: (d) => `${d}/meta.json: missing required key "version"`,
  },
  {
    name: 'overrides.json that is a mapping',
    command: 'eval',
    tamper: (d) => fs.writeFileSync(path.join(d, 'overrides.json'), '{"a": 1}'),
    code: 1,
    message: (d) => `${d}/overrides.json: expected a list, found a mapping`,
  },
  {
    name: 'overrides.json missing',
    command: 'eval',
    tamper: (d) => fs.rmSync(path.join(d, 'overrides.json')),
    code: 1,
    message: (d) => `${d}/overrides.json does not exist`,
  },
  {
    name: 'overrides.json that is null',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      fs.writeFileSync(path.join(d, 'overrides.json'), 'null');
    },
    code: 1,
    message: (d) => `${d}/overrides.json: expected a list, found nothing (null)`,
  },
  {
    name: 'model.json missing',
    command: 'eval',
    tamper: (d) => fs.rmSync(path.join(d, 'model/model.json')),
    code: 1,
    message: (d) => `${d}/model/model.json does not exist`,
  },
  {
    name: 'state.json missing',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      fs.rmSync(path.join(d, 'checkpoints/last/state.json'));
    },
    code: 1,
    message: (d) => `${d}/checkpoints/last/state.json does not exist`,
  },
  {
    name: 'model.json that is not JSON',
    command: 'eval',
    tamper: (d) => fs.writeFileSync(path.join(d, 'model/model.json'), '{"modelTopology":'),
    code: 1,
    message: (d) => `${d}/model/model.json: not valid JSON (Unexpected end of JSON input)`,
  },
  {
    name: 'model.json with no weights manifest',
    command: 'eval',
    tamper: (d) => edit(path.join(d, 'model/model.json'), (m) => ({ ...m, weightsManifest: [] })),
    code: 1,
    message: (d) => `${d}/model/model.json: weightsManifest: expected a list of at least 1 item, found a list []`,
  },
  {
    name: 'weights.bin with 5 KB of extra bytes',
    command: 'eval',
    tamper: (d) => fs.appendFileSync(path.join(d, 'model/weights.bin'), Buffer.alloc(5000)),
    code: 1,
    message: (d) =>
      `${d}/model/weights.bin: holds ${fs.statSync(path.join(d, 'model/weights.bin')).size} bytes, but ${d}/model/model.json describes ${fs.statSync(path.join(d, 'model/weights.bin')).size - 5000}; the folder is damaged (restore it, or run the experiment again)`,
  },
  {
    name: 'weights.bin cut short',
    command: 'eval',
    tamper: (d) => fs.truncateSync(path.join(d, 'model/weights.bin'), 100),
    code: 1,
    message: (d) =>
      `${d}/model/weights.bin: holds 100 bytes, but ${d}/model/model.json describes ${fs.statSync(path.join(original, 'model/weights.bin')).size}; the folder is damaged (restore it, or run the experiment again)`,
  },
  {
    name: 'state.json with position.epoch -5',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      edit(path.join(d, 'checkpoints/last/state.json'), (s) => ({ ...s, position: { ...s.position, epoch: -5 } }));
    },
    code: 1,
    message: (d) => `${d}/checkpoints/last/state.json: position.epoch: expected an integer >= 0, found -5`,
  },
  {
    name: 'state.json with an epoch past the end',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      edit(path.join(d, 'checkpoints/last/state.json'), (s) => ({ ...s, position: { ...s.position, epoch: 99 } }));
    },
    code: 1,
    message: (d) =>
      `${d}/checkpoints/last/state.json: position.epoch: 99 is more than the run's training.epochs (2); the checkpoint is damaged`,
  },
  {
    name: 'state.json with a batch past the end of an epoch',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      edit(path.join(d, 'checkpoints/last/state.json'), (s) => ({
        ...s,
        position: { ...s.position, epoch: 1, batch: 50 },
      }));
    },
    code: 1,
    message: (d) =>
      `${d}/checkpoints/last/state.json: position.batch: 50 is not below the 4 batches of an epoch; the checkpoint is damaged`,
  },
  {
    name: 'state.json that is null',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      fs.writeFileSync(path.join(d, 'checkpoints/last/state.json'), 'null');
    },
    code: 1,
    message: (d) => `${d}/checkpoints/last/state.json: expected a mapping, found nothing (null)`,
  },
  {
    name: 'optimizer.bin with extra bytes',
    command: 'resume',
    tamper: (d) => {
      failed(d);
      fs.appendFileSync(path.join(d, 'checkpoints/last/optimizer.bin'), Buffer.alloc(8));
    },
    code: 1,
    message: (d) => {
      const size = fs.statSync(path.join(d, 'checkpoints/last/optimizer.bin')).size;
      return `${d}/checkpoints/last/optimizer.bin: holds ${size} bytes, but ${d}/checkpoints/last/optimizer.json describes ${size - 8}; the folder is damaged (restore it, or run the experiment again)`;
    },
  },
  {
    name: 'checkpoint weights.bin cut short (the completed run stays completed, its config unextended)',
    command: 'extend',
    tamper: (d) => fs.truncateSync(path.join(d, 'checkpoints/last/weights.bin'), 2),
    code: 1,
    message: (d) =>
      `${d}/checkpoints/last/weights.bin: holds 2 bytes, but ${d}/checkpoints/last/model.json describes ${fs.statSync(path.join(original, 'checkpoints/last/weights.bin')).size}; the folder is damaged (restore it, or run the experiment again)`,
  },
];

const ARGS: Record<Case['command'], (dir: string) => string[]> = {
  eval: (dir) => ['eval', dir, '--backend', 'wasm'],
  resume: (dir) => ['run', '--resume', dir, '--backend', 'wasm'],
  extend: (dir) => ['run', '--resume', dir, '--set', 'training.epochs=3', '--backend', 'wasm'],
};

describe('tampered run folders', { concurrency: 4 }, () => {
  for (const c of CASES) {
    it(`${c.command}: ${c.name}: exit ${c.code}, the file and field named`, async () => {
      const root = tempDir('pipeline-tampered-');
      const dir = path.join(root, 'tiny', '1');
      fs.cpSync(original, dir, { recursive: true });
      c.tamper(dir);
      const expected = c.message(dir);
      const before = { runs: snapshot(root), data: snapshot(data) };
      const r = await cli(ARGS[c.command](dir), { env, timeoutMs: 60_000 });
      assert.equal(r.code, c.code, r.stderr);
      assert.equal(errorLines(r.stderr), `error: ${expected}`);
      assert.deepEqual(snapshot(data), before.data, 'the data is untouched');
      const after = snapshot(root);
      // A resume that got as far as starting records its end in meta.json and its logs; nothing else changes.
      // An extension is refused before it starts: nothing changes at all.
      const changing = c.command === 'extend' ? /^$/ : /^tiny\/1\/(meta\.json|log\.jsonl|metrics\.jsonl)$/;
      for (const key of new Set([...Object.keys(before.runs), ...Object.keys(after)])) {
        if (!changing.test(key)) assert.equal(after[key], before.runs[key], `${key} unchanged`);
      }
      if (c.command !== 'eval' && fs.existsSync(path.join(dir, 'meta.json'))) {
        assert.notEqual(readJson(path.join(dir, 'meta.json'))?.status, 'running');
      }
      assertClean(root);
    });
  }
});
