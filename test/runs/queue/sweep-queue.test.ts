import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listRuns, Run } from '../../../src/runs/read';
import { leaderboard } from '../../../src/runs/sweep/leaderboard';
import { resolveSweep, type SweepState } from '../../../src/runs/sweep/state';
import { prepareSweep, startSweep } from '../../../src/runs/sweep/sweep';
import type { QueuedSweepState } from '../../../src/runs/sweep/queue/records';
import { tempRoot } from '../fixture';
import { tinyCifarDataDir } from '../tiny-cifar';
import { BIN, FIXTURES, killAll, pipeline, sleep, waitFor, type Proc } from './helpers';
import { RedisServer, redisMissing } from './redis-server';

/**
 * The queue end to end, with real parts: a redis-server of the test's own, three
 * `pipeline worker` processes with separate runs folders (three machines), a
 * `pipeline sweep --queue` process following 12 real trials on generated CIFAR-10
 * data. Mid-sweep one worker is SIGKILLed while it trains a trial, and Redis is stopped
 * and started again. Every trial must still complete exactly once, with the leaderboard
 * a single-machine sweep of the same trials reports.
 */

const TINY = path.join(FIXTURES, 'tiny.yaml');
const PARAMS = ['training.optimizer.learningRate=0.001,0.002,0.003,0.005,0.01,0.02', 'training.batchSize=32,64'];
// Three epochs: a worker killed after the first (its trial held there: freezeMidTrial) leaves two to go.
const SETS = ['training.epochs=3', 'training.workers=1'];

/** What must match between the two sweeps: the ranking, each trial's parameters and metrics. */
function board(state: SweepState) {
  return leaderboard(state).map((r) => ({
    rank: r.rank,
    trial: r.trial,
    status: r.status,
    params: r.params,
    value: r.value,
    bestValue: r.bestValue,
  }));
}

function lines(text: string): string {
  return text.split('\n').slice(-30).join('\n');
}

/**
 * A running run in `runsDir`, stopped (SIGSTOP) with at least one epoch trained and two or more
 * of its `epochs` to go, so that it stays there while the test kills its worker: these trials
 * train an epoch in a tenth of a second, less than a loaded machine may take between two looks,
 * and a trial whose worker is killed late finishes before it can notice. A run seen further on
 * is let go and not looked at again.
 */
function freezeMidTrial(runsDir: string, epochs: number, seen: Set<string>): Run | undefined {
  for (const r of listRuns(runsDir)) {
    const pid = r.meta()?.pid;
    if (seen.has(r.dir) || r.meta()?.status !== 'running' || !pid || r.refreshMetrics().length < 1) continue;
    seen.add(r.dir);
    try {
      process.kill(pid, 'SIGSTOP');
      waitStopped(pid);
    } catch {
      continue; // it ended meanwhile
    }
    const now = Run.fromDir(r.dir);
    const done = now.refreshMetrics().length;
    if (now.meta()?.status === 'running' && done <= epochs - 2) return now;
    process.kill(pid, 'SIGCONT');
  }
  return undefined;
}

/** SIGSTOP takes effect when the process is next scheduled: wait for /proc to say it is stopped. */
function waitStopped(pid: number): void {
  const state = () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
  for (const until = Date.now() + 5000; state() !== 'T'; ) {
    if (Date.now() > until) throw new Error(`pid ${pid} did not stop`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

test('12 trials on 3 workers: one worker SIGKILLed mid-trial, Redis restarted; every trial completes once, same leaderboard as one machine', {
  skip: redisMissing() || (process.platform !== 'linux' && 'reads process states in /proc'),
  timeout: 240_000,
}, async () => {
  const data = tinyCifarDataDir();
  const redis = await RedisServer.start();
  const sweepRoot = tempRoot('pipeline-queue-sweep-');
  const workerRoots = [0, 1, 2].map((i) => tempRoot(`pipeline-queue-w${i}-`));
  const procs: Proc[] = [];
  try {
    const workers = workerRoots.map((dir) =>
      pipeline(['worker', '--queue', redis.url(), '--runs-dir', dir, '--data-dir', data, '--lock-seconds', '4']),
    );
    procs.push(...workers);
    const sweepArgs = [
      'sweep',
      TINY,
      '--runs-dir',
      sweepRoot,
      '--backend',
      'wasm',
      ...PARAMS.flatMap((p) => ['--param', p]),
      ...SETS.flatMap((s) => ['--set', s]),
    ];
    const sweep = pipeline([...sweepArgs, '--queue', redis.url(), '--json']);
    procs.push(sweep);

    // The same trials on one machine, meanwhile (same seeds, so the same metrics).
    const localRoot = tempRoot('pipeline-queue-local-');
    const prepared = prepareSweep(TINY, SETS, { params: PARAMS, parallel: 1 });
    const local = startSweep(prepared, localRoot, ['--data-dir', data, '--backend', 'wasm'], {
      script: BIN,
      log: () => {},
    });

    // Kill worker 0 while its trial has trained one epoch of three (a checkpoint exists): mid-trial.
    const seen = new Set<string>();
    const victim = await waitFor('worker 0 to finish the first epoch of a trial', () =>
      freezeMidTrial(workerRoots[0], 3, seen),
    );
    const killedTrial = Number(victim.meta()!.tags!.trial);
    workers[0].child.kill('SIGKILL');
    await workers[0].exit;
    process.kill(victim.meta()!.pid!, 'SIGCONT');

    // Then Redis goes away and comes back (its append-only file keeps everything).
    const sweepJson = path.join(sweepRoot, 'tiny', 'sweeps', '1', 'sweep.json');
    await waitFor(
      '4 trials to finish',
      () =>
        fs.existsSync(sweepJson) &&
        resolveSweep(sweepJson, sweepRoot).trials.filter((t) => t.status === 'completed').length >= 4,
    );
    await redis.stop();
    await sleep(1000);
    await redis.start();

    const code = await sweep.exit;
    assert.equal(
      code,
      0,
      `sweep failed:\n${lines(sweep.err())}\nworkers:\n${workers.map((w) => lines(w.err())).join('\n---\n')}`,
    );
    const state = resolveSweep(sweepJson, sweepRoot) as QueuedSweepState;
    assert.equal(state.status, 'completed');
    assert.deepEqual(
      state.trials.map((t) => t.index),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    for (const t of state.trials) {
      assert.equal(t.status, 'completed', `trial ${t.index}: ${t.error}`);
      assert.equal(typeof t.value, 'number');
      assert.equal(typeof t.final?.testLoss, 'number');
    }
    // The killed worker's trial: its run there stopped itself (checkpointed); another worker started it over.
    const killed = state.trials[killedTrial - 1];
    assert.equal(killed.takeover, 'started over');
    assert.notEqual(killed.worker, undefined);
    assert.ok(!killed.worker!.endsWith(`:${workers[0].child.pid}`), 'the killed worker cannot have finished it');
    // The orphan noticed its worker gone and stopped as Ctrl-C stops a run: checkpointed, resumable.
    const orphanStatus = () =>
      listRuns(workerRoots[0])
        .find((r) => r.dir === victim.dir)!
        .status();
    await waitFor('the orphaned trial to stop itself', () => orphanStatus() !== 'running');
    assert.equal(orphanStatus(), 'interrupted');

    // Exactly one completed run per trial over the three machines' folders.
    const completed = workerRoots.flatMap((d) => listRuns(d)).filter((r) => r.status() === 'completed');
    assert.deepEqual(
      completed.map((r) => Number(r.meta()!.tags!.trial)).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );

    const localState = await local;
    assert.equal(localState.status, 'completed');
    assert.deepEqual(board(state), board(localState));
    const printed = JSON.parse(sweep.out());
    assert.deepEqual(
      printed.leaderboard.map((r: { trial: number; value: number }) => [r.trial, r.value]),
      leaderboard(localState).map((r) => [r.trial, r.value]),
    );
    assert.match(workers[1].err() + workers[2].err(), /connected again to redis:\/\/127\.0\.0\.1/);

    // The runs gathered from the three machines' folders: the sweep lists its 12 trial runs here.
    const collect = pipeline(['collect', ...workerRoots, '--runs-dir', sweepRoot]);
    assert.equal(await collect.exit, 0, collect.err());
    // 12 completed, and the orphan's interrupted run.
    assert.match(collect.out(), /^collected 13 runs into /m);
    const ls = pipeline(['ls', 'tiny/sweeps/1', '--runs-dir', sweepRoot, '--json']);
    assert.equal(await ls.exit, 0, ls.err());
    const rows = JSON.parse(ls.out()) as Array<{ status: string; run: string }>;
    assert.deepEqual(
      rows.map((r) => r.status),
      new Array(12).fill('completed'),
    );
    const again = pipeline(['collect', ...workerRoots, '--runs-dir', sweepRoot]);
    assert.equal(await again.exit, 0);
    assert.match(again.out(), /^collected 0 runs into /m);
  } finally {
    killAll(procs, [sweepRoot, ...workerRoots]);
    await redis.stop();
  }
});

test("shared runs folder: a SIGKILLed worker's trial and a Ctrl-C'd worker's trial continue from their checkpoints; the sweep stops following and resumes", {
  skip: redisMissing() || (process.platform !== 'linux' && 'reads process states in /proc'),
  timeout: 120_000,
}, async () => {
  const data = tinyCifarDataDir();
  const redis = await RedisServer.start();
  const shared = tempRoot('pipeline-queue-shared-');
  const procs: Proc[] = [];
  const worker = () => {
    const w = pipeline([
      'worker',
      '--queue',
      redis.url(),
      '--runs-dir',
      shared,
      '--data-dir',
      data,
      '--lock-seconds',
      '3',
    ]);
    procs.push(w);
    return w;
  };
  const epochs = (run: { dir: string }) =>
    listRuns(shared)
      .find((r) => r.dir === run.dir)!
      .refreshMetrics().length;
  try {
    const a = worker();
    const sweep = pipeline([
      'sweep',
      TINY,
      '--queue',
      redis.url(),
      '--runs-dir',
      shared,
      '--backend',
      'wasm',
      '--param',
      'training.batchSize=32',
      '--set',
      'training.epochs=6',
      '--set',
      'training.workers=1',
    ]);
    procs.push(sweep);
    const seen = new Set<string>();
    const run = await waitFor('the trial to finish an epoch', () => freezeMidTrial(shared, 6, seen));
    a.child.kill('SIGKILL');
    await a.exit;
    process.kill(run.meta()!.pid!, 'SIGCONT');

    // The sweep stops following (Ctrl-C); the trial stays on the queue.
    sweep.child.kill('SIGINT');
    assert.equal(await sweep.exit, 130);
    assert.match(
      sweep.err(),
      /stopped following; its queued trials still run on the workers; follow them again with: pipeline sweep --resume tiny\/sweeps\/1/,
    );

    const b = worker();
    await waitFor(
      'worker b to continue the run',
      () => listRuns(shared)[0].meta()?.resumes?.length === 1 && listRuns(shared)[0].status() === 'running',
    );
    const reached = epochs(run);
    await waitFor('worker b to train an epoch of it', () => epochs(run) > reached).catch((e) => {
      throw new Error(`${e.message}\nworker b:\n${b.err()}\nrun: ${JSON.stringify(listRuns(shared)[0].meta())}`);
    });
    b.child.kill('SIGINT');
    assert.equal(await b.exit, 130);
    assert.match(b.err(), /checkpointed and handed back to the queue/);

    // From another machine (an empty runs folder): the status, from Redis.
    const elsewhere = tempRoot('pipeline-queue-elsewhere-');
    const status = pipeline(['sweep', '--status', 'tiny/sweeps/1', '--runs-dir', elsewhere], {
      PIPELINE_QUEUE: redis.url(),
    });
    assert.equal(await status.exit, 0, status.err());
    assert.match(status.out(), /^sweep tiny\/sweeps\/1: 1 trial, 1 pending/m);

    worker();
    const resumed = pipeline(['sweep', '--resume', 'tiny/sweeps/1', '--runs-dir', shared, '--queue', redis.url()]);
    procs.push(resumed);
    assert.equal(await resumed.exit, 0, resumed.err());
    const state = resolveSweep('tiny/sweeps/1', shared) as QueuedSweepState;
    const t = state.trials[0];
    assert.equal(t.status, 'completed');
    assert.equal(t.takeover, 'continued from checkpoint');
    assert.equal(t.run, run.id, 'the same run folder, continued');
    const meta = listRuns(shared)
      .find((r) => r.dir === run.dir)!
      .meta()!;
    assert.equal(meta.status, 'completed');
    assert.equal(meta.resumes?.length, 2);
    assert.equal(listRuns(shared).length, 1, 'no second run of the trial');
    assert.match(
      resumed.err(),
      /\[trial 1\/1\] completed on .* \(tiny\/1\), continued from checkpoint\nsweep tiny\/sweeps\/1: 1\/1 trials done; best so far: trial 1 accuracy 0\.\d{4}\n/,
    );

    const after = pipeline([
      'sweep',
      '--status',
      'tiny/sweeps/1',
      '--runs-dir',
      elsewhere,
      '--queue',
      redis.url(),
      '--json',
    ]);
    assert.equal(await after.exit, 0, after.err());
    const board = JSON.parse(after.out());
    assert.equal(board.leaderboard[0].status, 'completed');
    assert.equal(board.leaderboard[0].value, t.value);
  } finally {
    killAll(procs, [shared]);
    await redis.stop();
  }
});
