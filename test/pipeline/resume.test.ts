/**
 * Exact resume, in process: optimizer state round-trips bit-for-bit for every optimizer,
 * and a run stopped mid-epoch then resumed writes the same metrics.jsonl as a straight run.
 * (The same through a real SIGINT to a child process is in process.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { OPTIMIZER_NAMES_FOR_TEST } from './optimizer-list';
import { loadExperimentText } from '../../src/config/load';
import { buildModel } from '../../src/builders/model';
import { buildOptimizer, captureOptimizerState, createStepRunner, restoreOptimizerState } from '../../src/engine';
import { batches } from '../../src/data';
import { selectBackend } from '../../src/backend';
import { runExperiment } from '../../src/pipeline/run';
import { silentTerminal } from '../../src/pipeline/terminal';
import type { Callback } from '../../src/pipeline/types';
import {
  BACKEND,
  metricsWithoutTimings,
  readJson,
  syntheticDataset,
  tempDir,
  tinyExperiment,
  writeExperiment,
} from './helpers';

async function backend(): Promise<void> {
  await selectBackend(BACKEND);
}

for (const optimizer of OPTIMIZER_NAMES_FOR_TEST) {
  test(`optimizer state round-trips exactly: ${optimizer}`, async () => {
    await backend();
    const e = loadExperimentText('tiny.yaml', tinyExperiment({ optimizer, dropout: true })).experiment;
    const data = syntheticDataset({ train: 96 });
    const all = [
      ...batches(data.train, data.shape, {
        batchSize: 16,
        epoch: 0,
        seed: 1,
        shuffle: true,
        normalize: { type: 'scale' },
      }),
    ];
    const setup = () => {
      const model = buildModel(tf, e, data.shape, 4);
      const opt = buildOptimizer(tf, e, e.training.optimizer.learningRate);
      return {
        model,
        opt,
        steps: createStepRunner({ tf, model, optimizer: opt, experiment: e, numClasses: 4, inputShape: data.shape }),
      };
    };
    const straight = setup();
    all.forEach((b, i) => straight.steps.train(b, 0, i));
    const expected = straight.model.getWeights().map((w) => Array.from(w.dataSync()));

    const first = setup();
    all.slice(0, 3).forEach((b, i) => first.steps.train(b, 0, i));
    const state = await captureOptimizerState(tf, first.opt);
    const weights = first.model.getWeights().map((w) => w.clone());
    const second = setup();
    second.model.setWeights(weights);
    await restoreOptimizerState(tf, second.opt, state.tensors);
    all.slice(3).forEach((b, i) => second.steps.train(b, 0, i + 3));
    const got = second.model.getWeights().map((w) => Array.from(w.dataSync()));

    assert.notDeepEqual(
      expected,
      first.model.getWeights().map((w) => Array.from(w.dataSync())),
      'the later steps changed the weights',
    );
    assert.deepEqual(got, expected);
    for (const s of [straight, first, second]) {
      s.model.dispose();
      s.opt.dispose();
    }
    tf.dispose([...weights, ...state.tensors.map((t) => t.tensor)]);
  });
}

/** Stops the loop once `after` batches of epoch `epoch` are done, like a signal arriving then. */
function stopAt(epoch: number, after: number): { stop: { requested: boolean; dispose(): void }; callback: Callback } {
  const stop = { requested: false, dispose() {} };
  return {
    stop,
    callback: {
      name: 'test-stop',
      onBatchEnd(info) {
        if (info.epoch === epoch && info.batch === after) stop.requested = true;
      },
    },
  };
}

test('a run stopped mid-epoch and resumed writes the same metrics as a straight run', async () => {
  const dir = tempDir();
  const file = writeExperiment(
    dir,
    tinyExperiment({ epochs: 3, extra: '  earlyStopping: {monitor: testLoss, patience: 5}' }),
  );
  const common = { backend: BACKEND, dataset: syntheticDataset(), terminal: silentTerminal };

  const straight = await runExperiment({ ...common, file, runsDir: path.join(dir, 'a') });
  assert.equal(straight.status, 'completed');

  const { stop, callback } = stopAt(2, 5);
  const interrupted = await runExperiment({
    ...common,
    file,
    runsDir: path.join(dir, 'b'),
    stop,
    callbacks: [callback],
  });
  assert.equal(interrupted.status, 'interrupted');
  assert.equal(interrupted.message, 'interrupted at epoch 2, after batch 5 of 16');
  const meta = readJson(path.join(interrupted.runDir, 'meta.json'));
  assert.equal(meta.status, 'interrupted');
  const state = readJson(path.join(interrupted.runDir, 'checkpoints/last/state.json'));
  assert.equal(state.position.epoch, 1);
  assert.equal(state.position.batch, 5);
  assert.equal(metricsWithoutTimings(interrupted.runDir).length, 1);
  assert.equal(fs.existsSync(path.join(interrupted.runDir, 'model')), false, 'no final model for an interrupted run');

  const resumed = await runExperiment({ ...common, resume: interrupted.runDir });
  assert.equal(resumed.status, 'completed');
  assert.equal(resumed.runDir, interrupted.runDir);
  assert.deepEqual(metricsWithoutTimings(resumed.runDir), metricsWithoutTimings(straight.runDir));
  assert.deepEqual(
    fs.readFileSync(path.join(resumed.runDir, 'model/weights.bin')),
    fs.readFileSync(path.join(straight.runDir, 'model/weights.bin')),
    'the final weights are bit-identical',
  );
  const after = readJson(path.join(resumed.runDir, 'meta.json'));
  assert.equal(after.status, 'completed');
  assert.equal(after.resumes.length, 1);
  assert.deepEqual(
    { epoch: after.resumes[0].epoch, batch: after.resumes[0].batch, previousStatus: after.resumes[0].previousStatus },
    { epoch: 1, batch: 5, previousStatus: 'interrupted' },
  );
});

test('resume refuses a completed run and a folder that is not a run', async () => {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment({ epochs: 1 }));
  const done = await runExperiment({
    file,
    runsDir: dir,
    backend: BACKEND,
    dataset: syntheticDataset(),
    terminal: silentTerminal,
  });
  await assert.rejects(runExperiment({ resume: done.runDir, dataset: syntheticDataset(), terminal: silentTerminal }), {
    name: 'UsageError',
    message:
      'cannot resume tiny/1: it is completed; to train it further, give it more epochs: pipeline run --resume tiny/1 --set training.epochs=N',
  });
  await assert.rejects(runExperiment({ resume: dir, terminal: silentTerminal }), {
    name: 'UsageError',
    message: `cannot resume ${dir}: it has no readable meta.json (is it a run folder?)`,
  });
});
