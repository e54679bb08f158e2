import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { listRuns } from '../../../src/runs/read';
import { resolveSweep } from '../../../src/runs/sweep/state';
import { TRIAL_FORMAT, TRIAL_KIND, type TrialJob } from '../../../src/runs/sweep/queue/payload';
import { parseQueueUrl } from '../../../src/runs/sweep/queue/url';
import { TRIAL_QUEUE } from '../../../src/runs/sweep/queue/store';
import { tempRoot } from '../fixture';
import { tinyCifarDataDir } from '../tiny-cifar';
import { FIXTURES, killAll, pipeline, waitFor, type Proc } from './helpers';
import { RedisServer, redisMissing } from './redis-server';

/**
 * A password-protected Redis: the password reaches no log, no sweep.json or run folder,
 * and neither the command line nor the environment of a trial process (read from
 * /proc, as `ps` would). A worker given the address on its command line hides the
 * password from its own. Jobs that are not trials this worker understands, and a trial
 * that does not validate on the worker's machine, are failed with the reason while the
 * worker goes on to run a real trial.
 */

const PASSWORD = 'hunter2-Zq9';
const TINY = path.join(FIXTURES, 'tiny.yaml');

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

function trialJob(over: Partial<TrialJob>): TrialJob {
  const text = fs.readFileSync(TINY, 'utf8');
  return {
    kind: TRIAL_KIND,
    format: TRIAL_FORMAT,
    sweep: 'tiny/sweeps/99',
    name: 'tiny',
    trial: 1,
    total: 1,
    params: {},
    overrides: [],
    baseOverrides: [],
    experiment: { fileName: 'experiment.yaml', text, sha256: 'x' },
    runArgs: [],
    workersAuto: true,
    metric: 'testAccuracy',
    goal: 'max',
    earlyStopping: null,
    enqueuedAt: Date.now(),
    ...over,
  };
}

test('the password stays secret; a worker refuses foreign jobs and trials that do not validate here, and keeps working', {
  skip: redisMissing(),
  timeout: 120_000,
}, async () => {
  const data = tinyCifarDataDir();
  const redis = await RedisServer.start(PASSWORD);
  const sweepRoot = tempRoot('pipeline-secret-sweep-');
  const workerRoot = tempRoot('pipeline-secret-w-');
  const procs: Proc[] = [];
  const queue = new Queue(TRIAL_QUEUE, { connection: parseQueueUrl(redis.url()).connection });
  try {
    // A wrong password: a clear error that does not echo it.
    const wrong = pipeline(['sweep', TINY, '--runs-dir', sweepRoot, '--param', 'training.batchSize=32'], {
      PIPELINE_QUEUE: `redis://:nope-${PASSWORD}@127.0.0.1:${redis.port}`,
    });
    assert.equal(await wrong.exit, 1);
    assert.match(
      wrong.err(),
      new RegExp(`^error: cannot reach the queue at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}: WRONGPASS`, 'm'),
    );
    assert.ok(!wrong.err().includes(PASSWORD));

    const foreign = await queue.add('not ours', { hello: 'world' });
    const newer = await queue.add('newer', { ...trialJob({}), format: 2 });
    const invalid = await queue.add('invalid here', trialJob({ overrides: ['model.layers[0].filters=0'] }));

    const worker = pipeline(['worker', '--queue', redis.url(), '--runs-dir', workerRoot, '--data-dir', data]);
    procs.push(worker);
    const failed = async (id: string | undefined) => {
      const job = await queue.getJob(id!);
      return job && (await job.getState()) === 'failed' ? job.failedReason : undefined;
    };
    const who = `worker ${os.hostname()}:${worker.child.pid}`;
    assert.equal(
      await waitFor('the foreign job to fail', () => failed(foreign.id)),
      `refused by ${who}: the payload is not a pipeline sweep trial (kind null, expected "${TRIAL_KIND}")`,
    );
    assert.equal(
      await waitFor('the newer job to fail', () => failed(newer.id)),
      `refused by ${who}: the trial payload has format 2; this worker reads format 1 (upgrade the worker or the sweep)`,
    );
    const why = await waitFor('the invalid trial to fail', () => failed(invalid.id));
    assert.equal(
      why,
      `the trial does not validate on ${os.hostname()}: --param model.layers[0].filters=0: model.layers[0].filters: expected an integer >= 1, found 0 (in every trial)\n1 error`,
    );
    assert.equal(worker.child.exitCode, null, 'the worker keeps running');

    // The password-protected sweep with a real trial: its process's command line and environment hold no password.
    const sweep = pipeline(
      [
        'sweep',
        TINY,
        '--runs-dir',
        sweepRoot,
        '--backend',
        'wasm',
        '--param',
        'training.batchSize=32',
        '--set',
        'training.epochs=2',
      ],
      { PIPELINE_QUEUE: redis.url() },
    );
    procs.push(sweep);
    const trial = await waitFor('the trial process', () =>
      listRuns(workerRoot).find((r) => r.meta()?.status === 'running' && r.meta()?.pid),
    );
    const pid = trial.meta()!.pid!;
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    assert.match(cmdline, /\brun\b/);
    assert.ok(!cmdline.includes(PASSWORD) && !environ.includes(PASSWORD), 'the trial process sees no password');
    assert.ok(
      !fs.readFileSync(`/proc/${worker.child.pid}/cmdline`, 'utf8').includes(PASSWORD),
      'the worker hid the password from its own command line',
    );
    assert.equal(await sweep.exit, 0, sweep.err());

    const state = resolveSweep('tiny/sweeps/1', sweepRoot);
    assert.equal(state.trials[0].status, 'completed');
    assert.equal(
      (state as unknown as { queue: { address: string } }).queue.address,
      `redis://:***@127.0.0.1:${redis.port}`,
    );
    for (const f of [...filesUnder(sweepRoot), ...filesUnder(workerRoot)])
      assert.ok(!fs.readFileSync(f, 'utf8').includes(PASSWORD), `${f} holds the password`);
    for (const p of procs) assert.ok(!(p.out() + p.err()).includes(PASSWORD), 'output holds the password');
  } finally {
    await queue.close();
    killAll(procs, [sweepRoot, workerRoot]);
    await redis.stop();
  }
});
