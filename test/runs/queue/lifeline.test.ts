import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CHECKPOINTS_DIR, LAST_CHECKPOINT } from '../../../src/run-format/names';
import { processLiveness } from '../../../src/runs/liveness';
import { listRuns } from '../../../src/runs/read';
import { resolveAtomicDir } from '../../../src/util/atomic-dir';
import { tempRoot } from '../fixture';
import { tinyCifarDataDir } from '../tiny-cifar';
import { BIN, FIXTURES, waitFor } from './helpers';

/**
 * A worker's trial process stops itself when its worker dies, however early or late: a real
 * `pipeline run` started the way a worker starts it (standin-worker.ts), the stand-in
 * SIGKILLed, the orphan followed through its run folder. What it must never do is train on
 * to the end for a worker that is gone (the queue hands the trial to another worker).
 */

function startTrial(when: 'now' | 'later', epochs: number) {
  const runsDir = tempRoot('pipeline-lifeline-');
  const args = ['run', path.join(FIXTURES, 'tiny.yaml'), '--set', `training.epochs=${epochs}`, '--set'];
  args.push('training.workers=1', '--runs-dir', runsDir, '--data-dir', tinyCifarDataDir(), '--backend', 'wasm');
  const standin = spawn(
    process.execPath,
    [path.join(__dirname, 'standin-worker.js'), BIN, path.join(runsDir, 'trial.log'), when, ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = new Promise<number>((resolve) => standin.stdout!.once('data', (b: Buffer) => resolve(Number(String(b)))));
  const exited = new Promise<void>((resolve) => standin.on('exit', () => resolve()));
  return { runsDir, standin, pid, exited };
}

/** The orphan has ended (a zombie too: its new parent may never collect it). */
const ended = (pid: number) => processLiveness(pid, undefined, undefined) === 'dead';

test('a worker killed before its trial process started: the trial ends without training', async () => {
  const t = startTrial('now', 3);
  const pid = await t.pid;
  await t.exited;
  await waitFor('the orphaned trial process to end', () => ended(pid));
  // Stopped while it was starting: before it made a run folder, or (a slow start) before its first epoch ended.
  const trained = listRuns(t.runsDir).map((r) => [r.status(), r.refreshMetrics().length]);
  assert.deepEqual(
    trained.filter(([status, epochs]) => status !== 'interrupted' || epochs !== 0),
    [],
  );
});

test('a worker killed mid-trial: its trial checkpoints and ends interrupted, resumable', async () => {
  const epochs = 20;
  const t = startTrial('later', epochs);
  const pid = await t.pid;
  try {
    const run = await waitFor('the trial to finish an epoch', () =>
      listRuns(t.runsDir).find((r) => r.refreshMetrics().length >= 1),
    );
    t.standin.kill('SIGKILL');
    await t.exited;
    await waitFor('the orphaned trial process to end', () => ended(pid));
    const after = listRuns(t.runsDir).find((r) => r.dir === run.dir)!;
    assert.equal(after.status(), 'interrupted');
    assert.ok(after.refreshMetrics().length < epochs, 'it stopped before the end');
    assert.notEqual(resolveAtomicDir(path.join(run.dir, CHECKPOINTS_DIR, LAST_CHECKPOINT)), undefined);
  } finally {
    t.standin.kill('SIGKILL');
    if (!ended(pid)) process.kill(pid, 'SIGKILL');
  }
});
