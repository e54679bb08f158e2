import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ConfigError } from '../../src/errors';
import { formatDiagnostics } from '../../src/config/diagnostics';
import { listRuns } from '../../src/runs/read';
import { listTable } from '../../src/runs/ls';
import { leaderboard } from '../../src/runs/sweep/leaderboard';
import { planTrials } from '../../src/runs/sweep/plan';
import { trialArgs } from '../../src/runs/sweep/runner';
import { resolveSweep, saveSweep, type SweepState } from '../../src/runs/sweep/state';
import { prepareSweep, resumeSweep, startSweep } from '../../src/runs/sweep/sweep';
import { validateTrials } from '../../src/runs/sweep/validate';
import { tempRoot, writeRun } from './fixture';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/runs');
const TINY = path.join(FIXTURES, 'tiny.yaml');
const TINY_SWEEP = path.join(FIXTURES, 'tiny-sweep.yaml');
const FAKE = path.join(FIXTURES, 'fake-pipeline.js');
const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

function quietRunner(lines: string[] = []) {
  return { script: FAKE, log: (l: string) => lines.push(l), pollMs: 20 };
}

/** Largest number of runs alive at the same moment, from their recorded start and end. */
function maxOverlap(root: string): number {
  const events: Array<[number, number]> = [];
  for (const r of listRuns(root)) {
    const m = r.meta()!;
    events.push([Date.parse(m.startedAt!), 1], [Date.parse(m.endedAt ?? m.startedAt!), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (cur += d));
  return max;
}

test('an invalid trial stops the sweep before anything starts: names the trial and the key, exits 2, no folders', () => {
  const root = path.join(tempRoot(), 'runs');
  const r = spawnSync(
    process.execPath,
    [BIN, 'sweep', TINY, '--param', 'training.optimizer.learningRate=0.001,0.003', '--param', 'training.batchSize=32,0', '--runs-dir', root],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.split('\n').slice(0, 2), [
    'trial 2 (training.optimizer.learningRate=0.001 training.batchSize=0): training.batchSize: expected an integer >= 1 and <= 65536, found 0',
    'trial 4 (training.optimizer.learningRate=0.003 training.batchSize=0): training.batchSize: expected an integer >= 1 and <= 65536, found 0',
  ]);
  assert.match(r.stderr.split('\n')[2], /^2 errors/);
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  assert.equal(fs.existsSync(root), false, 'no runs root, no sweep folder, no run folder');
});

test('validateTrials: file-located problems keep their line, with the trial named; shared problems once', () => {
  const text = fs.readFileSync(TINY, 'utf8');
  const trials = planTrials({ method: 'grid', parameters: { 'model.layers[0].kernelSize': [3, 40] }, metric: 'testAccuracy', goal: 'max', parallel: 1 }, 0).trials;
  assert.throws(
    () => validateTrials(TINY, text, [], trials),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.diagnostics.length, 1);
      assert.equal(err.diagnostics[0].file, 'trial 2 (model.layers[0].kernelSize=40)');
      assert.equal(err.diagnostics[0].path, 'model.layers[0].kernelSize');
      return true;
    },
  );
  // Every trial broken the same way (a base override): reported once, as the file's problem.
  assert.throws(
    () => validateTrials(TINY, text, ['training.optimizer.lerningRate=0.1'], trials),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(formatDiagnostics(err.diagnostics).split('\n')[0], '--set training.optimizer.lerningRate=0.1: training.optimizer.lerningRate: no key "lerningRate" under training.optimizer; did you mean "learningRate"? (in every trial)');
      assert.equal(err.diagnostics.length, 1);
      return true;
    },
  );
  assert.deepEqual(validateTrials(TINY, text, [], trials.slice(0, 1)), [{ index: 1, name: 'tiny' }]);
});

test('sweep: 2x2 grid from the file, 2 at a time, every trial a tagged run, sweep.json and a leaderboard', async () => {
  const root = tempRoot();
  const prepared = prepareSweep(TINY_SWEEP, [], {});
  assert.equal(prepared.spec.parallel, 2);
  // The fake runs wait for each other until two have started: they can only finish if they overlapped.
  const state = await startSweep(prepared, root, ['--backend', 'cpu'], { ...quietRunner(), env: { FAKE_BARRIER: path.join(root, '.barrier'), FAKE_BARRIER_N: '2' } });
  assert.equal(state.id, 'tiny/sweeps/1');
  assert.equal(state.status, 'completed');
  assert.deepEqual(state.trials.map((t) => t.status), ['completed', 'completed', 'completed', 'completed']);

  const runs = listRuns(root);
  assert.equal(runs.length, 4);
  assert.deepEqual(runs.map((r) => r.meta()!.tags!.sweep), ['tiny/sweeps/1', 'tiny/sweeps/1', 'tiny/sweeps/1', 'tiny/sweeps/1']);
  assert.deepEqual(runs.map((r) => r.meta()!.tags!.trial).sort(), [1, 2, 3, 4]);
  assert.equal(maxOverlap(root), 2, 'two at a time, never more');
  for (const t of state.trials) {
    const run = runs.find((r) => r.dir === t.runDir)!;
    assert.deepEqual(run.overrides(), t.overrides, 'each run got its trial overrides');
    assert.equal(t.value, run.finalMetrics()!.testAccuracy);
  }

  // sweep.json on disk is the final state.
  const onDisk = JSON.parse(fs.readFileSync(path.join(root, 'tiny', 'sweeps', '1', 'sweep.json'), 'utf8')) as SweepState;
  assert.deepEqual(onDisk.trials.map((t) => t.status), ['completed', 'completed', 'completed', 'completed']);
  assert.equal(fs.readFileSync(path.join(state.dir, 'experiment.yaml'), 'utf8'), fs.readFileSync(TINY_SWEEP, 'utf8'));
  assert.ok(fs.readFileSync(path.join(state.dir, 'trials', '1.log'), 'utf8').includes('"status":"completed"'));

  // Leaderboard: lr 0.003 beats 0.001, batch 32 beats 64 (the fake's ceiling).
  const board = leaderboard(state);
  assert.deepEqual(board.map((r) => [r.rank, r.trial]), [[1, 3], [2, 4], [3, 1], [4, 2]]);
  // The sweep as a reference: ls lists its trials with the swept keys as the varying columns.
  const ls = listTable({ root, refs: ['tiny/sweeps/1'] });
  assert.deepEqual(ls.rows.map((r) => r.run), state.trials.map((t) => t.run));
  assert.deepEqual(ls.columns.map((c) => c.key).slice(-2), ['training.batchSize', 'training.optimizer.learningRate']);
  // diff of two trials: exactly the changed key, old and new, and the metric deltas; --json parses.
  const d = spawnSync(process.execPath, [BIN, 'diff', state.trials[0].run!, state.trials[2].run!, '--runs-dir', root, '--json'], { encoding: 'utf8' });
  assert.equal(d.status, 0, d.stderr);
  const report = JSON.parse(d.stdout);
  assert.deepEqual(report.config, [{ key: 'training.optimizer.learningRate', kind: 'changed', old: 0.001, new: 0.003 }]);
  const acc = report.metrics.final.find((m: { metric: string }) => m.metric === 'testAccuracy');
  assert.equal(acc.old, state.trials[0].value);
  assert.equal(acc.new, state.trials[2].value);
  assert.ok(Math.abs(acc.change - (state.trials[2].value! - state.trials[0].value!)) < 1e-12);

  // Two trials side by side, training.workers 'auto': one worker each.
  assert.deepEqual(trialArgs(state, state.trials[0], 2), [
    'run', TINY_SWEEP,
    '--set', 'training.optimizer.learningRate=0.001', '--set', 'training.batchSize=32',
    '--json', '--runs-dir', root, '--tag', 'sweep=tiny/sweeps/1', '--tag', 'trial=1', '--workers', '1', '--backend', 'cpu',
  ]);
  assert.deepEqual(trialArgs({ ...state, spec: { ...state.spec, parallel: 1 } }, state.trials[0], 2).slice(-4), ['--tag', 'trial=1', '--backend', 'cpu']);
  assert.deepEqual(trialArgs({ ...state, workersAuto: false }, state.trials[0], 8).slice(-4), ['--tag', 'trial=1', '--backend', 'cpu']);
  assert.deepEqual(trialArgs(state, state.trials[0], 8).slice(-4), ['--workers', '4', '--backend', 'cpu']);
});

test('sweep: a failing and a crashing trial do not stop the others; resume reruns only what did not complete', async () => {
  const root = tempRoot();
  const lines: string[] = [];
  const prepared = prepareSweep(TINY, [], { params: ['training.batchSize=32,13,7,64'], parallel: 2 });
  const state = await startSweep(prepared, root, [], quietRunner(lines));
  assert.equal(state.status, 'failed');
  assert.deepEqual(state.trials.map((t) => t.status), ['completed', 'failed', 'failed', 'completed']);
  assert.equal(state.trials[1].error, 'the backend gave up at epoch 2');
  assert.equal(state.trials[2].error, 'Segmentation fault (pretend) (exit code 3)');
  assert.equal(state.trials[2].exitCode, 3);
  assert.ok(lines.includes(`[trial 2/4] failed in ${state.trials[1].durationSeconds!.toFixed(1)}s: testAccuracy ${state.trials[1].value!.toFixed(4)} (${state.trials[1].run}) — the backend gave up at epoch 2`), lines.join('\n'));
  const board = leaderboard(state);
  assert.deepEqual(board.map((r) => [r.rank, r.trial, r.status]), [[1, 1, 'completed'], [2, 4, 'completed'], [null, 2, 'failed'], [null, 3, 'failed']]);

  // Pretend the failures were fixed: rewrite the two trials to values that succeed, then resume.
  for (const t of state.trials.slice(1, 3)) {
    t.overrides = ['training.batchSize=16'];
    t.params = { 'training.batchSize': 16 };
  }
  saveSweep(state);
  const completedRuns = state.trials.filter((t) => t.status === 'completed').map((t) => t.runDir);
  const resumed = await resumeSweep('tiny/sweeps/1', root, { parallel: 1 }, quietRunner());
  assert.equal(resumed.status, 'completed');
  assert.deepEqual(resumed.trials.map((t) => t.status), ['completed', 'completed', 'completed', 'completed']);
  assert.deepEqual(resumed.trials.map((t) => t.attempts), [1, 2, 2, 1]);
  assert.deepEqual(resumed.trials.filter((t, i) => i === 0 || i === 3).map((t) => t.runDir), completedRuns, 'completed trials untouched');
  assert.equal(listRuns(root).length, 6);
  assert.equal(resolveSweep(state.dir, root).status, 'completed');
  // Nothing left: a second resume runs nothing.
  const lines2: string[] = [];
  await resumeSweep('tiny/sweeps/1', root, {}, quietRunner(lines2));
  assert.deepEqual(lines2, ['sweep tiny/sweeps/1: every trial already completed']);
});

test('resume refuses a changed experiment file and unknown sweeps', async () => {
  const root = tempRoot();
  const file = path.join(root, 'exp.yaml');
  fs.copyFileSync(TINY, file);
  const state = await startSweep(prepareSweep(file, [], { params: ['training.batchSize=32'] }), root, [], quietRunner());
  state.trials[0].status = 'interrupted';
  saveSweep(state);
  fs.appendFileSync(file, '# edited\n');
  await assert.rejects(resumeSweep('tiny/sweeps/1', root, {}, quietRunner()), {
    message: `sweep tiny/sweeps/1: ${file} changed since the sweep started, so new trials would not be comparable with the finished ones; restore it (the sweep's copy is ${path.join(state.dir, 'experiment.yaml')}) or start a new sweep`,
  });
  assert.throws(() => resolveSweep('tiny/sweeps/9', root), { message: 'no sweep tiny/sweeps/9: tiny has sweeps 1' });

  // A sweep killed outright leaves a trial process running: resume must not start it twice.
  const root2 = tempRoot();
  const s2 = await startSweep(prepareSweep(TINY, [], { params: ['training.batchSize=32'] }), root2, [], quietRunner());
  s2.trials[0].status = 'running';
  saveSweep(s2);
  writeRun(root2, { name: 'tiny', status: 'running', pid: process.pid, startedAt: new Date().toISOString(), tags: { sweep: 'tiny/sweeps/1', trial: 1 } });
  await assert.rejects(resumeSweep('tiny/sweeps/1', root2, {}, quietRunner()), {
    message: `sweep tiny/sweeps/1: trial 1 is still running as tiny/2 (pid ${process.pid}); wait for it or stop it first`,
  });
  assert.throws(() => resolveSweep('tin/sweeps/1', root), { message: `no experiment "tin" in ${root}; did you mean "tiny"?` });
});

test('median early stopping stops trials worse than the others and records why', async () => {
  const root = tempRoot();
  // Sequential, 6 epochs each: the last trial (lr 1e-5) is far below the three before it.
  const prepared = prepareSweep(TINY, ['training.epochs=6'], {
    params: ['training.optimizer.learningRate=0.003,0.002,0.001,0.00001'],
    earlyStop: 'median',
  });
  const lines: string[] = [];
  const state = await startSweep(prepared, root, [], { ...quietRunner(lines), env: { FAKE_EPOCH_MS: '120' } });
  assert.deepEqual(state.trials.map((t) => t.status), ['completed', 'completed', 'completed', 'pruned']);
  const pruned = state.trials[3];
  assert.ok(pruned.pruned && pruned.pruned.others === 3 && pruned.pruned.value < pruned.pruned.median, JSON.stringify(pruned.pruned));
  assert.ok(pruned.final!.epoch < 6, 'stopped before the end');
  assert.equal(listRuns(root).find((r) => r.dir === pruned.runDir)!.status(), 'interrupted');
  assert.equal(state.status, 'completed', 'a pruned trial is done, not failed');
  assert.ok(lines.some((l) => l.startsWith('[trial 4/4] stopping early: testAccuracy ')));
  assert.deepEqual(leaderboard(state).map((r) => [r.rank, r.trial]), [[1, 1], [2, 2], [3, 3], [null, 4]]);
});

test('pipeline sweep (CLI): SIGINT stops the running trials, marks the sweep interrupted, exits 130; --resume finishes it', async () => {
  const root = tempRoot();
  // Long trials (100 epochs of 100 ms): the interrupt always lands while both first trials run.
  const env = { ...process.env, FAKE_EPOCH_MS: '100' };
  // The command runs trials with the real bin/pipeline.js; this driver does what the command does, with the fake.
  const driver = path.join(root, 'driver.js');
  fs.writeFileSync(
    driver,
    `const { prepareSweep, startSweep } = require(${JSON.stringify(path.resolve(__dirname, '../../src/runs/sweep/sweep.js'))});
const { report } = require(${JSON.stringify(path.resolve(__dirname, '../../src/cli/boundary.js'))});
startSweep(prepareSweep(${JSON.stringify(TINY)}, ['training.epochs=100'], { params: ['training.batchSize=32,64,16'], parallel: 2 }), ${JSON.stringify(root)}, [], {
  script: ${JSON.stringify(FAKE)}, log: (l) => process.stderr.write(l + '\\n'),
}).then(() => { process.exitCode = 0; }, (e) => { process.exitCode = report(e); });
`,
  );
  const child = spawn(process.execPath, [driver], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Wait until both first trials have written an epoch.
  for (let i = 0; i < 600 && listRuns(root).filter((r) => r.metrics().length > 0).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await closed;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /error: sweep tiny\/sweeps\/1 interrupted; resume with: pipeline sweep --resume tiny\/sweeps\/1\n$/);
  const state = resolveSweep('tiny/sweeps/1', root);
  assert.equal(state.status, 'interrupted');
  assert.deepEqual(state.trials.map((t) => t.status), ['interrupted', 'interrupted', 'pending']);
  assert.deepEqual(listRuns(root).map((r) => r.status()), ['interrupted', 'interrupted']);

  const resumed = await resumeSweep('tiny/sweeps/1', root, {}, { ...quietRunner(), env: { FAKE_EPOCH_MS: '5' } });
  assert.deepEqual(resumed.trials.map((t) => t.status), ['completed', 'completed', 'completed']);
});
