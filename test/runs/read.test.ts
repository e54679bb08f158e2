import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parseJsonLines } from '../../src/run-format/read';
import { listExperimentNames, listRuns, listVersions, resolveRunsRoot, Run } from '../../src/runs/read';
import { curve, tempRoot, writeRun } from './fixture';

test('status: crashed for a dead running run, running for a live one, unknown without meta', () => {
  const root = tempRoot();
  // A pid that existed and is gone: a child we ran to completion.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  writeRun(root, { status: 'running', pid: dead });
  writeRun(root, { status: 'running', pid: process.pid, startedAt: new Date().toISOString() });
  writeRun(root, { status: 'running', pid: dead, host: 'some-other-host' });
  writeRun(root, { noMeta: true });
  writeRun(root, { status: 'diverged' });
  assert.deepEqual(
    listRuns(root).map((r) => r.status()),
    ['crashed', 'running', 'running', 'unknown', 'diverged'],
  );
});

test('status: a live pid that started after the run is pid reuse, so crashed', {
  skip: process.platform !== 'linux',
}, () => {
  const root = tempRoot();
  // This process started before now; claim the run started an hour before the process did.
  writeRun(root, {
    status: 'running',
    pid: process.pid,
    startedAt: new Date(Date.now() - 3600_000 - process.uptime() * 1000).toISOString(),
  });
  assert.equal(listRuns(root)[0].status(), 'crashed');
});

test('status: a run whose process is a zombie (ended, its exit status never collected) is crashed', {
  skip: process.platform !== 'linux',
}, async () => {
  const root = tempRoot();
  // `sleep 0.1` runs under a shell that then becomes `sleep 30`, which never collects it: a zombie.
  const startedAt = new Date().toISOString();
  const holder = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = Number(await new Promise<string>((resolve) => holder.stdout!.once('data', (b) => resolve(String(b)))));
    const state = () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
    for (const until = Date.now() + 10_000; state() !== 'Z'; ) {
      if (Date.now() > until) throw new Error(`pid ${pid} did not become a zombie`);
      await new Promise((r) => setTimeout(r, 20));
    }
    writeRun(root, { status: 'running', pid, startedAt });
    assert.equal(listRuns(root)[0].status(), 'crashed');
  } finally {
    holder.kill('SIGKILL');
  }
});

test('metrics.jsonl: a half-written last line is ignored', () => {
  const root = tempRoot();
  const dir = writeRun(root, { status: 'running', metrics: curve(2), partialLine: true, summary: false });
  const run = Run.fromDir(dir);
  assert.deepEqual(
    run.metrics().map((r) => r.epoch),
    [1, 2],
  );
  // Without summary.json, final and best come from metrics.jsonl.
  assert.equal(run.finalMetrics()?.epoch, 2);
  assert.equal(run.bestMetrics()?.epoch, 2);
  assert.deepEqual(parseJsonLines('{"a":1}\n\n{"a":2}\n{"a":'), [{ a: 1 }, { a: 2 }]);
});

test('listing: experiments sorted, reserved folders skipped, versions numeric', () => {
  const root = tempRoot();
  for (let i = 0; i < 11; i++) writeRun(root, { name: 'b-exp' });
  writeRun(root, { name: 'a-exp' });
  fs.mkdirSync(path.join(root, '_sweeps'));
  fs.mkdirSync(path.join(root, '.cache'));
  fs.mkdirSync(path.join(root, 'b-exp', 'sweeps'));
  fs.mkdirSync(path.join(root, 'b-exp', '012'));
  fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
  assert.deepEqual(listExperimentNames(root), ['a-exp', 'b-exp']);
  assert.deepEqual(listVersions(root, 'b-exp'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(listVersions(root, 'missing'), []);
  assert.deepEqual(listExperimentNames(path.join(root, 'nope')), []);
  assert.equal(listRuns(root).length, 12);
});

test('a run reads each file once and nothing it is not asked for', () => {
  const root = tempRoot();
  const dir = writeRun(root);
  const run = Run.fromDir(dir);
  assert.equal(run.meta()?.version, 1);
  fs.rmSync(path.join(dir, 'meta.json'));
  assert.equal(run.meta()?.version, 1, 'cached');
  fs.writeFileSync(path.join(dir, 'summary.json'), 'not json');
  assert.equal(run.summary(), undefined, 'an unreadable file reads as absent');
});

test('runs root: flag, then PIPELINE_RUNS_DIR, then ./runs', () => {
  const saved = process.env.PIPELINE_RUNS_DIR;
  try {
    process.env.PIPELINE_RUNS_DIR = '/tmp/env-runs';
    assert.equal(resolveRunsRoot('x'), path.resolve('x'));
    assert.equal(resolveRunsRoot(), '/tmp/env-runs');
    delete process.env.PIPELINE_RUNS_DIR;
    assert.equal(resolveRunsRoot(), path.resolve('runs'));
  } finally {
    if (saved === undefined) delete process.env.PIPELINE_RUNS_DIR;
    else process.env.PIPELINE_RUNS_DIR = saved;
  }
});
