/**
 * Signals and concurrency against real processes (child-run.ts): SIGINT mid-epoch then
 * --resume reaches the straight run's metrics; SIGKILL at random moments leaves only whole
 * files; concurrent runs of one experiment get distinct versions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildArgs } from './child-run';
import { resolveAtomicDir } from '../../src/util/atomic-dir';
import { metricsWithoutTimings, readJson, tempDir, tinyExperiment, writeExperiment } from './helpers';

const CHILD = path.join(__dirname, 'child-run.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(
  args: ChildArgs,
  onLine?: (line: string, child: ChildProcess) => void,
): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d;
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine?.(pending.slice(0, nl), child);
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

test('SIGINT mid-epoch: checkpoint, exit 130, and --resume ends with the metrics of a straight run', async () => {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment({ epochs: 3 }));
  const straight = start({ file, runsDir: path.join(dir, 'straight'), train: 256 });

  let sent = false;
  const interrupted = start(
    { file, runsDir: path.join(dir, 'interrupted'), train: 256, report: true, pauseAfter: { epoch: 2, batch: 5 } },
    (line, child) => {
      if (!sent && line === 'batch 2 5') {
        sent = true;
        child.kill('SIGINT');
      }
    },
  );
  const i = await interrupted.done;
  assert.equal(i.code, 130, i.stderr);
  const result = lastJson(i.stdout);
  assert.equal(result.status, 'interrupted');
  assert.match(i.stderr, /SIGINT: finishing the current batch/);
  assert.match(i.stderr, /error: interrupted at epoch 2, after batch 5 of 16; continue with: pipeline run --resume /);
  const state = readJson(path.join(result.runDir, 'checkpoints/last/state.json'));
  assert.deepEqual(
    [state.position.epoch, state.position.batch],
    [1, 5],
    'the checkpoint is mid-epoch: 1 epoch and 5 batches done',
  );
  assert.equal(readJson(path.join(result.runDir, 'meta.json')).status, 'interrupted');

  const resumed = await start({ resume: result.runDir, train: 256 }).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(lastJson(resumed.stdout).status, 'completed');
  const s = await straight.done;
  assert.equal(s.code, 0, s.stderr);
  const straightDir = lastJson(s.stdout).runDir;
  assert.equal(metricsWithoutTimings(result.runDir).length, 3);
  assert.deepEqual(metricsWithoutTimings(result.runDir), metricsWithoutTimings(straightDir));
  assert.deepEqual(
    fs.readFileSync(path.join(result.runDir, 'model/weights.bin')),
    fs.readFileSync(path.join(straightDir, 'model/weights.bin')),
  );
});

/** Every file a reader may open, checked for completeness; names starting with '.' are temporaries. */
function checkWhole(runDir: string): void {
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      if (e.name.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(fs.readFileSync(p, 'utf8')), `${p} parses`);
      if (e.name.endsWith('.jsonl')) {
        const lines = fs.readFileSync(p, 'utf8').split('\n');
        const whole = lines.slice(0, -1); // the text after the last newline may be a line being written
        for (const l of whole) assert.doesNotThrow(() => JSON.parse(l), `${p}: ${l}`);
      }
    }
    // A weights file matches the manifest next to it: never a new model.json with old weights.
    for (const [json, bin] of [
      ['model.json', 'weights.bin'],
      ['optimizer.json', 'optimizer.bin'],
    ]) {
      if (!fs.existsSync(path.join(dir, json))) continue;
      const manifest = readJson(path.join(dir, json)).weightsManifest as Array<{
        weights: Array<{ shape: number[]; dtype: string }>;
      }>;
      const bytes = manifest.flatMap((g) => g.weights).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(fs.statSync(path.join(dir, bin)).size, bytes, `${dir}/${bin} matches ${json}`);
    }
  };
  walk(runDir);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `file` exists; fails (with the child's stderr) if the child exits first. */
async function waitFor(file: string, done: Promise<Exit>): Promise<void> {
  let exited: Exit | undefined;
  void done.then((e) => (exited = e));
  while (!fs.existsSync(file)) {
    if (exited) assert.fail(`the child exited (code ${exited.code}) before ${file} appeared: ${exited.stderr}`);
    await sleep(5);
  }
}

test('SIGKILL at random moments leaves no truncated file, and the killed run resumes', async () => {
  const dir = tempDir();
  // Every epoch writes a metrics line, summary.json and three checkpoint folders: writes are under way nearly all the time.
  const file = writeExperiment(dir, tinyExperiment({ epochs: 200, batchSize: 8, extra: '  checkpoints: {every: 1}' }));
  const killAtRandom = async (i: number) => {
    const runsDir = path.join(dir, `runs-${i}`);
    const runDir = path.join(runsDir, 'tiny', '1');
    const { child, done } = start({ file, runsDir, train: 32 });
    await waitFor(path.join(runDir, 'checkpoints', 'last'), done);
    await sleep(Math.random() * 500);
    child.kill('SIGKILL');
    assert.equal((await done).signal, 'SIGKILL');
    checkWhole(runDir);
    // A kill between the two renames of a checkpoint swap leaves the previous copy under a '.' name; resume takes that.
    const last = resolveAtomicDir(path.join(runDir, 'checkpoints', 'last'));
    assert.ok(last, 'a whole last checkpoint survives');
    assert.ok(readJson(path.join(last, 'state.json')).position.epoch >= 1);
    assert.equal(
      readJson(path.join(runDir, 'meta.json')).status,
      'running',
      'a killed run still says running (readers show it as crashed)',
    );
  };
  await Promise.all([0, 1, 2, 3].map(killAtRandom));

  // A crashed run continues from its last whole checkpoint.
  const short = writeExperiment(dir, tinyExperiment({ epochs: 3, batchSize: 8 }), 'short.yaml');
  const runsDir = path.join(dir, 'short');
  const runDir = path.join(runsDir, 'tiny', '1');
  const { child, done } = start({ file: short, runsDir, train: 32 });
  await waitFor(path.join(runDir, 'checkpoints', 'last'), done);
  child.kill('SIGKILL');
  await done;
  checkWhole(runDir);
  const resumed = await start({ resume: runDir, train: 32 }).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(lastJson(resumed.stdout).status, 'completed');
  assert.deepEqual(
    metricsWithoutTimings(runDir).map((r) => r.epoch),
    [1, 2, 3],
  );
  assert.equal(readJson(path.join(runDir, 'meta.json')).resumes[0].previousStatus, 'running');
});

test('4 concurrent runs of one experiment get 4 distinct versions and all complete', async () => {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment({ epochs: 2 }));
  const runsDir = path.join(dir, 'runs');
  const exits = await Promise.all([1, 2, 3, 4].map(() => start({ file, runsDir, train: 64 }).done));
  for (const e of exits) assert.equal(e.code, 0, e.stderr);
  const dirs = exits.map((e) => lastJson(e.stdout).runDir).sort();
  assert.deepEqual(
    dirs,
    [1, 2, 3, 4].map((v) => path.join(runsDir, 'tiny', String(v))),
  );
  for (const d of dirs) assert.equal(readJson(path.join(d, 'meta.json')).status, 'completed');
  // Same seed, same data: the four runs agree.
  for (const d of dirs.slice(1)) assert.deepEqual(metricsWithoutTimings(d), metricsWithoutTimings(dirs[0]));
});
