import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ConfigError } from '../../src/errors';
import { formatDiagnostics } from '../../src/config/diagnostics';
import { listRuns, Run } from '../../src/runs/read';
import { listTable } from '../../src/runs/ls';
import { leaderboard } from '../../src/runs/sweep/leaderboard';
import { planTrials } from '../../src/runs/sweep/plan';
import { trialArgs, type RunnerOptions } from '../../src/runs/sweep/runner';
import { resolveSweep, type SweepState, type TrialState } from '../../src/runs/sweep/state';
import { prepareSweep, resumeSweep, startSweep } from '../../src/runs/sweep/sweep';
import { validateTrials } from '../../src/runs/sweep/validate';
import { tempRoot } from './fixture';
import { tinyCifarDataDir } from './tiny-cifar';

/**
 * Sweeps of real `pipeline run` trials (bin/pipeline.js, the wasm backend) on a generated
 * 200-example CIFAR-10 in the official binary format: about a second or two per trial.
 * Failures are real too: a learning rate of 1e20 makes the loss NaN (status diverged), a
 * crash is a trial process SIGKILLed by the test, an interrupt is SIGINT to `pipeline sweep`.
 */

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/runs');
const TINY = path.join(FIXTURES, 'tiny.yaml');
const TINY_SWEEP = path.join(FIXTURES, 'tiny-sweep.yaml');
const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');
const DATA = tinyCifarDataDir();
/** What `pipeline sweep --backend wasm --data-dir DATA` passes to every trial. */
const RUN_ARGS = ['--data-dir', DATA, '--backend', 'wasm'];

function runner(lines: string[] = []): RunnerOptions {
  return { script: BIN, log: (l: string) => lines.push(l), pollMs: 20 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `get` returns something truthy; fail naming `what` after `ms`. */
async function waitFor<T>(what: string, get: () => T | undefined | false, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function trialRun(root: string, trial: number): Run | undefined {
  return listRuns(root).find((r) => r.meta()?.tags?.trial === trial);
}

/** Trial processes are detached: if an assertion fails mid-sweep, do not leave them training. */
function killLeftovers(root: string): void {
  for (const r of listRuns(root)) {
    const m = r.meta();
    if (m?.status !== 'running' || r.status() !== 'running') continue;
    try {
      if (m.pid) process.kill(m.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Largest number of trial processes alive at once, from the spawn and exit times the sweep recorded. */
function maxConcurrentTrials(trials: TrialState[]): number {
  const events: Array<[number, number]> = [];
  for (const t of trials) events.push([Date.parse(t.startedAt!), 1], [Date.parse(t.endedAt!), -1]);
  // At the same millisecond an exit counts first: the sweep starts the next trial when one exits.
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
    [
      BIN,
      'sweep',
      TINY,
      '--param',
      'training.optimizer.learningRate=0.001,0.003',
      '--param',
      'training.batchSize=32,0',
      '--runs-dir',
      root,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  // Once, naming the value and the trials it breaks.
  assert.equal(
    r.stderr,
    '--param training.batchSize=0: training.batchSize: expected an integer >= 1 and <= 65536, found 0 (trials 2, 4)\n1 error\n',
  );
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  assert.equal(fs.existsSync(root), false, 'no runs root, no sweep folder, no run folder');
});

test('validateTrials: a bad value is reported once with the trials it breaks, at its line in the sweep section or as its --param; shared problems once', () => {
  const text = fs.readFileSync(TINY, 'utf8');
  const trials = planTrials(
    {
      method: 'grid',
      parameters: { 'model.layers[0].kernelSize': [3, 40] },
      metric: 'testAccuracy',
      goal: 'max',
      parallel: 1,
    },
    0,
  ).trials;
  assert.throws(
    () => validateTrials(TINY, text, [], trials),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.diagnostics.length, 1);
      assert.equal(err.diagnostics[0].file, '--param model.layers[0].kernelSize=40');
      assert.equal(err.diagnostics[0].path, 'model.layers[0].kernelSize');
      assert.match(err.diagnostics[0].message, / \(trial 2\)$/);
      return true;
    },
  );
  // The same mistakes written in the file's sweep section: at the parameter's line, once each.
  const inFile = fs
    .readFileSync(TINY_SWEEP, 'utf8')
    .replace('training.batchSize: [32, 64]', 'training.batchSize: [32, 0]')
    .replace('training.optimizer.learningRate:', 'training.optimizer.learningrate:');
  const sweepFile = path.join(tempRoot(), 'sweep.yaml');
  fs.writeFileSync(sweepFile, inFile);
  const fileTrials = planTrials(
    {
      method: 'grid',
      parameters: { 'training.optimizer.learningrate': [0.001, 0.003], 'training.batchSize': [32, 0] },
      metric: 'testAccuracy',
      goal: 'max',
      parallel: 1,
    },
    0,
  ).trials;
  assert.throws(
    () => validateTrials(sweepFile, inFile, [], fileTrials),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        formatDiagnostics(err.diagnostics),
        `${sweepFile}:29:5: training.optimizer.learningrate: no key "learningrate" under training.optimizer; did you mean "learningRate"? (in every trial)\n` +
          '  29 |     training.optimizer.learningrate: [0.001, 0.003]\n' +
          '     |     ^\n' +
          '1 error',
      );
      return true;
    },
  );
  // Every trial broken the same way (a base override): reported once, as the file's problem.
  assert.throws(
    () => validateTrials(TINY, text, ['training.optimizer.lerningRate=0.1'], trials),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        formatDiagnostics(err.diagnostics).split('\n')[0],
        '--set training.optimizer.lerningRate=0.1: training.optimizer.lerningRate: no key "lerningRate" under training.optimizer; did you mean "learningRate"? (in every trial)',
      );
      assert.equal(err.diagnostics.length, 1);
      return true;
    },
  );
  assert.deepEqual(validateTrials(TINY, text, [], trials.slice(0, 1)), [{ index: 1, name: 'tiny' }]);
});

test('sweep: 2x2 grid from the file, 2 at a time, every trial a tagged run, sweep.json and a leaderboard', async () => {
  const root = tempRoot();
  try {
    const prepared = prepareSweep(TINY_SWEEP, [], {});
    assert.equal(prepared.spec.parallel, 2);
    const state = await startSweep(prepared, root, RUN_ARGS, runner());
    assert.equal(state.id, 'tiny/sweeps/1');
    assert.equal(state.status, 'completed');
    assert.deepEqual(
      state.trials.map((t) => t.status),
      ['completed', 'completed', 'completed', 'completed'],
    );
    // The sweep started the second trial before the first ended, and the third only after one ended.
    assert.equal(maxConcurrentTrials(state.trials), 2, 'two at a time, never more');

    const runs = listRuns(root);
    assert.equal(runs.length, 4);
    assert.deepEqual(
      runs.map((r) => r.status()),
      ['completed', 'completed', 'completed', 'completed'],
    );
    assert.deepEqual(
      runs.map((r) => r.meta()!.tags!.sweep),
      ['tiny/sweeps/1', 'tiny/sweeps/1', 'tiny/sweeps/1', 'tiny/sweeps/1'],
    );
    // Trial numbers and run versions go up together, though two trials start side by side.
    assert.deepEqual(
      runs.map((r) => [r.id, r.meta()!.tags!.trial]),
      [
        ['tiny/1', 1],
        ['tiny/2', 2],
        ['tiny/3', 3],
        ['tiny/4', 4],
      ],
    );
    assert.deepEqual(
      runs.map((r) => r.meta()!.backend),
      ['wasm', 'wasm', 'wasm', 'wasm'],
      'the sweep passed --backend through',
    );
    for (const t of state.trials) {
      const run = runs.find((r) => r.dir === t.runDir)!;
      assert.deepEqual(run.overrides(), t.overrides, 'each run got its trial overrides');
      assert.equal(
        (run.meta()!.dataset!.source as { path: string }).path,
        path.join(DATA, 'cifar10'),
        'the sweep passed --data-dir through',
      );
      assert.equal(t.value, run.finalMetrics()!.accuracy);
      assert.equal(run.metrics().length, 3);
    }

    // sweep.json on disk is the final state.
    const onDisk = JSON.parse(
      fs.readFileSync(path.join(root, 'tiny', 'sweeps', '1', 'sweep.json'), 'utf8'),
    ) as SweepState;
    assert.deepEqual(
      onDisk.trials.map((t) => t.status),
      ['completed', 'completed', 'completed', 'completed'],
    );
    assert.equal(fs.readFileSync(path.join(state.dir, 'experiment.yaml'), 'utf8'), fs.readFileSync(TINY_SWEEP, 'utf8'));
    assert.ok(fs.readFileSync(path.join(state.dir, 'trials', '1.log'), 'utf8').includes('"status":"completed"'));

    // Leaderboard: by final accuracy (the selection metric: no validation split, so the training accuracy), best first (ties by trial number). On this data the
    // larger learning rate with the smaller batch learns most in 3 epochs.
    const byValue = [...state.trials].sort((a, b) => b.value! - a.value! || a.index - b.index).map((t) => t.index);
    const board = leaderboard(state);
    assert.deepEqual(
      board.map((r) => [r.rank, r.trial]),
      byValue.map((trial, i) => [i + 1, trial]),
    );
    assert.equal(board[0].trial, 3, JSON.stringify(state.trials.map((t) => [t.params, t.value])));
    // The sweep as a reference: ls lists its trials with the swept keys as the varying columns.
    const ls = listTable({ root, refs: ['tiny/sweeps/1'] });
    assert.deepEqual(
      ls.rows.map((r) => r.run),
      state.trials.map((t) => t.run),
    );
    assert.deepEqual(
      ls.columns.map((c) => c.key),
      [
        'trial',
        'run',
        'status',
        'started',
        'duration',
        'testAccuracy',
        'training.batchSize',
        'training.optimizer.learningRate',
      ],
    );
    assert.deepEqual(
      ls.columns.map((c) => c.header),
      ['trial', 'run', 'status', 'when', 'took', 'testAcc', 'batch', 'lr'],
    );
    // The experiment's own history does not mix the sweep in: it says where the trials are.
    const plain = spawnSync(process.execPath, [BIN, 'ls', 'tiny', '--runs-dir', root], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '80' },
    });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.stdout, '');
    assert.equal(plain.stderr, '4 runs of sweep tiny/sweeps/1 not listed: pipeline ls tiny/sweeps/1 (or --sweeps)\n');
    const lsSweep = spawnSync(process.execPath, [BIN, 'ls', 'tiny/sweeps/1', '--runs-dir', root], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '80' },
    });
    assert.equal(lsSweep.status, 0, lsSweep.stderr);
    const sweepLines = lsSweep.stdout.trimEnd().split('\n');
    assert.match(sweepLines[0], /^trial  run     status     when         took  testAcc  batch     lr$/);
    assert.deepEqual(
      sweepLines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3)),
      [1, 2, 3, 4].map((t) => [String(t), `tiny/${t}`, 'completed']),
    );
    // show takes the sweep too: its plan, then each trial beside its run.
    const show = spawnSync(process.execPath, [BIN, 'show', 'tiny/sweeps/1', '--runs-dir', root], { encoding: 'utf8' });
    assert.equal(show.status, 0, show.stderr);
    const shown = show.stdout.split('\n');
    assert.equal(shown[0], `sweep      tiny/sweeps/1  (${state.dir})`);
    assert.equal(shown[1], 'status     completed');
    assert.equal(shown[4], 'method     grid, 4 trials, 2 at a time, ranked by accuracy (max)');
    assert.deepEqual(shown.slice(5, 7), [
      'param      training.optimizer.learningRate: 0.001, 0.003',
      'param      training.batchSize: 32, 64',
    ]);
    for (const t of state.trials)
      assert.ok(
        shown.some((l) => new RegExp(`^  +\\S+ +${t.index}  ${t.run} +completed `).test(l)),
        `trial ${t.index} beside ${t.run}:\n${show.stdout}`,
      );
    // diff of two trials: exactly the changed key, old and new, and the metric deltas; --json parses.
    const d = spawnSync(
      process.execPath,
      [BIN, 'diff', state.trials[0].run!, state.trials[2].run!, '--runs-dir', root, '--json'],
      { encoding: 'utf8' },
    );
    assert.equal(d.status, 0, d.stderr);
    const report = JSON.parse(d.stdout);
    assert.deepEqual(report.config, [
      { key: 'training.optimizer.learningRate', kind: 'changed', old: 0.001, new: 0.003 },
    ]);
    const acc = report.metrics.final.find((m: { metric: string }) => m.metric === 'accuracy');
    assert.equal(acc.old, state.trials[0].value);
    assert.equal(acc.new, state.trials[2].value);
    assert.ok(Math.abs(acc.change - (state.trials[2].value! - state.trials[0].value!)) < 1e-12);

    // Nothing left to do: resuming a completed sweep runs nothing.
    const lines: string[] = [];
    await resumeSweep('tiny/sweeps/1', root, {}, runner(lines));
    assert.deepEqual(lines, ['sweep tiny/sweeps/1: every trial already completed']);
    assert.equal(listRuns(root).length, 4);

    // Two trials side by side, training.workers 'auto': one worker each.
    assert.deepEqual(trialArgs(state, state.trials[0], 2), [
      'run',
      TINY_SWEEP,
      '--set',
      'training.optimizer.learningRate=0.001',
      '--set',
      'training.batchSize=32',
      '--json',
      '--runs-dir',
      root,
      '--tag',
      'sweep=tiny/sweeps/1',
      '--tag',
      'trial=1',
      '--workers',
      '1',
      ...RUN_ARGS,
    ]);
    const tail = ['--tag', 'trial=1', ...RUN_ARGS];
    assert.deepEqual(
      trialArgs({ ...state, spec: { ...state.spec, parallel: 1 } }, state.trials[0], 2).slice(-tail.length),
      tail,
    );
    assert.deepEqual(trialArgs({ ...state, workersAuto: false }, state.trials[0], 8).slice(-tail.length), tail);
    assert.deepEqual(trialArgs(state, state.trials[0], 8).slice(-6), ['--workers', '4', ...RUN_ARGS]);
    // A trial that continues its run: the run keeps its own config, tags and worker count.
    assert.deepEqual(trialArgs(state, state.trials[0], 2, '/runs/tiny/3'), [
      'run',
      '--resume',
      '/runs/tiny/3',
      '--json',
      ...RUN_ARGS,
    ]);
  } finally {
    killLeftovers(root);
  }
});

test('sweep: a diverging and a crashed trial do not stop the others; resume reruns only what did not complete', async () => {
  const root = tempRoot();
  try {
    const lines: string[] = [];
    // Trial order (first key slowest): 1 (0.003, 2 epochs) completes; 2 (0.003, 12 epochs) is
    // SIGKILLed below while it trains; 3 and 4 (learning rate 1e20) diverge in their first epoch.
    const prepared = prepareSweep(TINY, [], {
      params: ['training.optimizer.learningRate=0.003,1e20', 'training.epochs=2,12'],
      parallel: 2,
    });
    const sweep = startSweep(prepared, root, RUN_ARGS, runner(lines));
    // Two epochs: the first one's checkpoint is then surely written (it precedes the second's metrics line).
    const victim = await waitFor('trial 2 to finish two epochs', () => {
      const r = trialRun(root, 2);
      return r && r.refreshMetrics().length >= 2 && r;
    });
    process.kill(victim.meta()!.pid!, 'SIGKILL');
    const state = await sweep;

    assert.equal(state.status, 'failed');
    assert.deepEqual(
      state.trials.map((t) => t.status),
      ['completed', 'failed', 'diverged', 'diverged'],
    );
    const [done, crashed, diverged] = state.trials;
    assert.equal(done.final!.epoch, 2);
    assert.equal(crashed.exitCode, 137);
    assert.equal(crashed.error, 'killed by SIGKILL');
    assert.ok(crashed.final!.epoch >= 1 && crashed.final!.epoch < 12, 'the metrics it wrote before the kill');
    assert.equal(victim.refreshMetrics().length, crashed.final!.epoch);
    assert.equal(trialRun(root, 2)!.status(), 'crashed', 'readers see the dead running run as crashed');
    assert.match(diverged.error!, /^loss became NaN at epoch 1, batch \d+ of 7$/);
    assert.equal(diverged.exitCode, 1);
    assert.equal(diverged.value, null);
    assert.ok(
      lines.includes(
        `[trial 3/4] diverged in ${diverged.durationSeconds!.toFixed(1)}s (${diverged.run}) — ${diverged.error}`,
      ),
      lines.join('\n'),
    );
    // Two at a time: trial 4 took the slot of a trial that had failed (crashed 2 or diverged 3) and still ran.
    assert.ok(
      Date.parse(state.trials[3].startedAt!) >= Math.min(Date.parse(crashed.endedAt!), Date.parse(diverged.endedAt!)),
      JSON.stringify(state.trials),
    );
    const board = leaderboard(state);
    assert.deepEqual(
      board.map((r) => [r.rank, r.trial, r.status]),
      [
        [1, 1, 'completed'],
        [null, 2, 'failed'],
        [null, 3, 'diverged'],
        [null, 4, 'diverged'],
      ],
    );

    // Resume: trial 1 is left alone; the crashed trial continues in its own run from its last
    // checkpoint and completes; the diverging ones start over and diverge again.
    const resumeLines: string[] = [];
    const resumed = await resumeSweep('tiny/sweeps/1', root, {}, runner(resumeLines));
    assert.deepEqual(
      resumed.trials.map((t) => t.status),
      ['completed', 'completed', 'diverged', 'diverged'],
    );
    assert.deepEqual(
      resumed.trials.map((t) => t.attempts),
      [1, 2, 2, 2],
    );
    assert.equal(resumed.trials[0].runDir, done.runDir, 'the completed trial keeps its run');
    assert.equal(resumed.trials[1].runDir, crashed.runDir, 'the crashed trial continues its own run');
    assert.ok(
      resumeLines.includes(`[trial 2/4] continues its run (${crashed.run}): ${crashed.overrides.join(' ')}`),
      resumeLines.join('\n'),
    );
    const continued = Run.fromDir(crashed.runDir!);
    const [resume] = continued.meta()!.resumes!;
    assert.equal(continued.meta()!.resumes!.length, 1);
    assert.equal(resume.previousStatus, 'running');
    // Checkpoints follow metrics lines, so a kill can fall between the two: the last checkpoint is then one epoch back.
    assert.ok(
      resume.epoch >= crashed.final!.epoch - 1 && resume.epoch >= 1,
      `resumed at epoch ${resume.epoch}, metrics up to ${crashed.final!.epoch}`,
    );
    assert.deepEqual(
      continued.refreshMetrics().map((r) => r.epoch),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    assert.equal(resumed.trials[1].final!.epoch, 12);
    assert.notEqual(resumed.trials[2].runDir, diverged.runDir, 'a diverged trial starts over in a new run');
    assert.equal(resumed.status, 'failed');
    assert.equal(listRuns(root).length, 6);
    assert.deepEqual(
      resolveSweep(state.dir, root).trials.map((t) => t.status),
      ['completed', 'completed', 'diverged', 'diverged'],
    );
  } finally {
    killLeftovers(root);
  }
});

test('resume after the sweep itself was killed: a trial that finished on its own is taken as it is, a killed one continues its run', async () => {
  const root = tempRoot();
  try {
    // Trial 2 (5 epochs, started once trial 1 has its folder) outlives the sweep and completes on its own;
    // trial 1 (12 epochs) is killed with it.
    const sweep = spawn(
      process.execPath,
      [BIN, 'sweep', TINY, '--param', 'training.epochs=12,5', '--parallel', '2', '--runs-dir', root, ...RUN_ARGS],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const closed = new Promise((resolve) => sweep.on('close', resolve));
    const victim = await waitFor('trial 1 to finish two epochs (so a checkpoint is written)', () => {
      const r = trialRun(root, 1);
      return r && r.refreshMetrics().length >= 2 && r;
    });
    sweep.kill('SIGKILL');
    process.kill(victim.meta()!.pid!, 'SIGKILL');
    await closed;
    const survivor = await waitFor('trial 2 to complete without its sweep', () => {
      const r = trialRun(root, 2);
      return r?.status() === 'completed' && r;
    });
    await waitFor('trial 1 to be seen dead', () => Run.fromDir(victim.dir).status() === 'crashed');
    const before = resolveSweep('tiny/sweeps/1', root);
    assert.deepEqual(
      before.trials.map((t) => [t.status, t.runDir]),
      [
        ['running', null],
        ['running', null],
      ],
      "the killed sweep never wrote down its trials' runs",
    );

    const lines: string[] = [];
    const resumed = await resumeSweep('tiny/sweeps/1', root, {}, runner(lines));
    assert.deepEqual(
      resumed.trials.map((t) => t.status),
      ['completed', 'completed'],
    );
    assert.deepEqual(
      resumed.trials.map((t) => t.runDir),
      [victim.dir, survivor.dir],
    );
    assert.equal(resumed.trials[1].value, survivor.refreshMetrics().at(-1)!.accuracy);
    assert.ok(
      lines.includes(
        `[trial 2/2] completed after the sweep stopped (${survivor.id}): accuracy ${resumed.trials[1].value!.toFixed(4)}`,
      ),
      lines.join('\n'),
    );
    assert.ok(lines.includes(`[trial 1/2] continues its run (${victim.id}): training.epochs=12`), lines.join('\n'));
    assert.deepEqual(
      Run.fromDir(victim.dir)
        .refreshMetrics()
        .map((r) => r.epoch),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    // Trial numbers and versions still agree.
    assert.deepEqual([victim.id, survivor.id], ['tiny/1', 'tiny/2']);
    assert.equal(listRuns(root).length, 2, 'no new run folder');
  } finally {
    killLeftovers(root);
  }
});

test('resume starts a trial over when its run cannot be continued (it resolves differently now, or a resume of it failed already)', async () => {
  const root = tempRoot();
  try {
    const first = await startSweep(
      prepareSweep(TINY, [], { params: ['training.epochs=2,3'], parallel: 1 }),
      root,
      RUN_ARGS,
      runner(),
    );
    assert.deepEqual(
      first.trials.map((t) => t.status),
      ['completed', 'completed'],
    );
    // Make both look stopped part-way: trial 1's run now hashes differently, trial 2's run failed after being resumed once.
    const edit = (dir: string, change: Record<string, unknown>) => {
      const file = path.join(dir, 'meta.json');
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...change }));
    };
    const [one, two] = first.trials;
    edit(one.runDir!, { status: 'interrupted', configHash: 'stale' });
    edit(two.runDir!, {
      status: 'failed',
      resumes: [{ at: two.startedAt, epoch: 1, batch: 0, previousStatus: 'interrupted', previousPid: 1 }],
    });
    const state = resolveSweep('tiny/sweeps/1', root);
    for (const t of state.trials) t.status = t.index === 1 ? 'interrupted' : 'failed';
    fs.writeFileSync(path.join(state.dir, 'sweep.json'), JSON.stringify(state));

    const lines: string[] = [];
    const resumed = await resumeSweep('tiny/sweeps/1', root, {}, runner(lines));
    assert.deepEqual(
      resumed.trials.map((t) => t.status),
      ['completed', 'completed'],
    );
    assert.deepEqual(
      lines.filter((l) => / (started|continues its run)/.test(l)),
      ['[trial 1/2] started: training.epochs=2', '[trial 2/2] started: training.epochs=3'],
    );
    assert.ok(
      resumed.trials.every((t, i) => t.runDir !== first.trials[i].runDir),
      'new runs',
    );
  } finally {
    killLeftovers(root);
  }
});

test('resume refuses while the sweep or a trial of a killed sweep still runs, a changed experiment file, and unknown sweeps', async () => {
  const root = tempRoot();
  try {
    const file = path.join(root, 'exp.yaml');
    fs.copyFileSync(TINY, file);
    // One long trial; the sweep process is then killed outright (SIGKILL: no chance to stop its trial).
    const sweep = spawn(
      process.execPath,
      [
        BIN,
        'sweep',
        file,
        '--set',
        'training.epochs=200',
        '--param',
        'training.batchSize=32',
        '--runs-dir',
        root,
        ...RUN_ARGS,
      ],
      {
        stdio: 'ignore',
      },
    );
    const closed = new Promise((resolve) => sweep.on('close', resolve));
    const trial = await waitFor('trial 1 to claim its run', () => {
      const r = trialRun(root, 1);
      return r?.meta()?.status === 'running' && r;
    });
    await assert.rejects(resumeSweep('tiny/sweeps/1', root, {}, runner()), {
      message: `sweep tiny/sweeps/1 is still running (pid ${sweep.pid}); stop it first, or wait`,
    });
    sweep.kill('SIGKILL');
    await closed;
    const pid = trial.meta()!.pid!;
    assert.equal(trial.status(), 'running', 'the trial outlives its sweep');
    await assert.rejects(resumeSweep('tiny/sweeps/1', root, {}, runner()), {
      message: `sweep tiny/sweeps/1: trial 1 is still running as tiny/1 (pid ${pid}); wait for it or stop it first`,
    });
    process.kill(pid, 'SIGKILL');
    await waitFor('the trial to die', () => Run.fromDir(trial.dir).status() === 'crashed');

    fs.appendFileSync(file, '# edited\n');
    const state = resolveSweep('tiny/sweeps/1', root);
    await assert.rejects(resumeSweep('tiny/sweeps/1', root, {}, runner()), {
      message: `sweep tiny/sweeps/1: ${file} changed since the sweep started, so new trials would not be comparable with the finished ones; restore it (the sweep's copy is ${path.join(state.dir, 'experiment.yaml')}) or start a new sweep`,
    });
    assert.equal(listRuns(root).length, 1, 'no trial started');
    assert.throws(() => resolveSweep('tiny/sweeps/9', root), { message: 'no sweep tiny/sweeps/9: tiny has sweeps 1' });
    assert.throws(() => resolveSweep('tin/sweeps/1', root), {
      message: `no experiment "tin" in ${root}; did you mean "tiny"?`,
    });
  } finally {
    killLeftovers(root);
  }
});

test('median early stopping stops a trial worse than the others (SIGINT, checkpoint, interrupted run) and records why', async () => {
  const root = tempRoot();
  try {
    // The file's sweep section: judged from epoch 2 on, against at least 3 other trials (the
    // default). One at a time, so only trial 4 ever has 3 others; lr 1e-5 stays at chance while
    // the others learn. 6 epochs leave the SIGINT 4 epochs to land in.
    const file = path.join(root, 'median.yaml');
    fs.writeFileSync(
      file,
      fs.readFileSync(TINY, 'utf8') +
        'sweep:\n  parameters:\n    training.optimizer.learningRate: [0.003, 0.002, 0.001, 0.00001]\n  earlyStopping: {type: median, minEpochs: 2}\n',
    );
    const prepared = prepareSweep(file, ['training.epochs=6'], {});
    assert.deepEqual(prepared.spec.earlyStopping, { type: 'median', minEpochs: 2, minTrials: 3 });
    const lines: string[] = [];
    const state = await startSweep(prepared, root, RUN_ARGS, runner(lines));
    assert.deepEqual(
      state.trials.map((t) => t.status),
      ['completed', 'completed', 'completed', 'pruned'],
      lines.join('\n'),
    );
    const pruned = state.trials[3];
    const p = pruned.pruned!;
    assert.equal(p.others, 3);
    assert.ok(p.epoch >= 2 && p.epoch < 6, JSON.stringify(p));
    // The median it was compared with is that of the others' best values up to that epoch.
    const bestUpTo = (rows: Array<Record<string, number>>) =>
      Math.max(...rows.slice(0, p.epoch).map((r) => r.accuracy));
    const others = state.trials
      .slice(0, 3)
      .map((t) =>
        bestUpTo(
          listRuns(root)
            .find((r) => r.dir === t.runDir)!
            .metrics(),
        ),
      )
      .sort((a, b) => a - b);
    assert.equal(p.median, others[1]);
    assert.ok(p.value < p.median, JSON.stringify(p));
    const run = listRuns(root).find((r) => r.dir === pruned.runDir)!;
    assert.equal(run.status(), 'interrupted');
    assert.ok(pruned.final!.epoch < 6 && run.metrics().length < 6, 'stopped before the end');
    assert.ok(fs.existsSync(path.join(run.dir, 'checkpoints', 'last', 'state.json')), 'it checkpointed on the way out');
    assert.equal(state.status, 'completed', 'a pruned trial is done, not failed');
    assert.ok(
      lines.some((l) =>
        l.startsWith(
          `[trial 4/4] stopping early: accuracy ${p.value.toFixed(4)} at epoch ${p.epoch} is worse than the median`,
        ),
      ),
      lines.join('\n'),
    );
    const ranked = state.trials
      .slice(0, 3)
      .sort((a, b) => b.value! - a.value! || a.index - b.index)
      .map((t, i) => [i + 1, t.index]);
    assert.deepEqual(
      leaderboard(state).map((r) => [r.rank, r.trial]),
      [...ranked, [null, 4]],
    );
  } finally {
    killLeftovers(root);
  }
});

test('pipeline sweep (CLI): SIGINT stops the running trials, marks the sweep interrupted, exits 130; --resume finishes it', async () => {
  const root = tempRoot();
  try {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'sweep',
        TINY,
        '--set',
        'training.epochs=100',
        '--param',
        'training.batchSize=32,64,16',
        '--parallel',
        '2',
        '--runs-dir',
        root,
        ...RUN_ARGS,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Both first trials are training (their stop handlers are in place; 100 epochs and the
    // saving after them are left, far longer than the signal takes to arrive, even on the
    // direct step, where a 200-example epoch takes milliseconds).
    await waitFor('trials 1 and 2 to start training', () =>
      [1, 2].every((i) => {
        const r = trialRun(root, i);
        return (
          r &&
          fs.existsSync(path.join(r.dir, 'log.jsonl')) &&
          fs.readFileSync(path.join(r.dir, 'log.jsonl'), 'utf8').includes('"msg":"training ')
        );
      }),
    );
    child.kill('SIGINT');
    const code = await closed;
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      /error: sweep tiny\/sweeps\/1 interrupted; resume with: pipeline sweep --resume tiny\/sweeps\/1\n$/,
    );
    const state = resolveSweep('tiny/sweeps/1', root);
    assert.equal(state.status, 'interrupted');
    assert.deepEqual(
      state.trials.map((t) => t.status),
      ['interrupted', 'interrupted', 'pending'],
    );
    assert.deepEqual(
      state.trials.map((t) => t.exitCode),
      [130, 130, null],
    );
    const runs = listRuns(root);
    assert.deepEqual(
      runs.map((r) => r.status()),
      ['interrupted', 'interrupted'],
    );
    for (const r of runs) assert.ok(r.metrics().length < 100, `${r.id} stopped early`);

    const resumed = spawnSync(process.execPath, [BIN, 'sweep', '--resume', 'tiny/sweeps/1', '--runs-dir', root], {
      encoding: 'utf8',
    });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /^sweep tiny\/sweeps\/1: resuming 3 of 3 trials \(1, 2, 3\), 2 at a time\n/);
    assert.match(resumed.stderr, /^\[trial 1\/3\] continues its run \(tiny\/\d\): training.batchSize=32$/m);
    assert.match(resumed.stderr, /^\[trial 3\/3\] started: training.batchSize=16$/m);
    assert.match(resumed.stdout, /^sweep tiny\/sweeps\/1: 3 trials, 3 completed; best: trial \d/m);
    const after = resolveSweep('tiny/sweeps/1', root);
    assert.deepEqual(
      after.trials.map((t) => t.status),
      ['completed', 'completed', 'completed'],
    );
    assert.deepEqual(
      after.trials.map((t) => t.final!.epoch),
      [100, 100, 100],
    );
    assert.deepEqual(
      listRuns(root).map((r) => r.meta()!.backend),
      ['wasm', 'wasm', 'wasm'],
      "the resumed trials kept the sweep's run flags, in their own runs",
    );
    assert.deepEqual(
      after.trials
        .slice(0, 2)
        .map((t) => t.runDir)
        .sort(),
      runs.map((r) => r.dir).sort(),
      'trials 1 and 2 continued the runs they had',
    );
  } finally {
    killLeftovers(root);
  }
});
