/**
 * The training loop and the run folder, in process, with generated data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment, type RunRequest } from '../../src/pipeline/run';
import { silentTerminal } from '../../src/pipeline/terminal';
import { FORMAT_VERSION } from '../../src/run-format/types';
import { PIPELINE_VERSION } from '../../src/util/version';
import { hashExperiment, loadExperimentText } from '../../src/config/load';
import type { Callback } from '../../src/pipeline/types';
import { buildModel } from '../../src/builders/model';
import { selectBackend } from '../../src/backend';
import { createStepRunner } from '../../src/engine';
import {
  BACKEND,
  metricsWithoutTimings,
  readJson,
  syntheticDataset,
  tempDir,
  tinyExperiment,
  withEngineOff,
  writeExperiment,
  type TinyOptions,
} from './helpers';

async function run(o: TinyOptions & { seedOverride?: number; runsDir?: string; extraReq?: Partial<RunRequest> } = {}) {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment(o));
  const overrides = o.seedOverride !== undefined ? [`seed=${o.seedOverride}`] : [];
  const outcome = await runExperiment({
    file,
    overrides,
    runsDir: o.runsDir ?? path.join(dir, 'runs'),
    backend: BACKEND,
    dataset: syntheticDataset({ validation: /validationSplit/.test(o.extra ?? '') ? 64 : undefined }),
    terminal: silentTerminal,
    ...o.extraReq,
  });
  return { ...outcome, file, dir };
}

test('a tiny run writes every file of the run folder contract', async () => {
  const r = await run({ epochs: 3 });
  assert.equal(r.status, 'completed');
  assert.match(r.runDir, /[/]runs[/]tiny[/]1$/);
  const ls = (p: string) => fs.readdirSync(path.join(r.runDir, p)).sort();
  assert.deepEqual(ls('.'), [
    'checkpoints',
    'config.yaml',
    'curves.svg',
    'log.jsonl',
    'meta.json',
    'metrics.jsonl',
    'model',
    'overrides.json',
    'resolved.json',
    'summary.json',
  ]);
  assert.deepEqual(ls('model'), ['model.json', 'weights.bin']);
  assert.match(fs.readFileSync(path.join(r.runDir, 'curves.svg'), 'utf8'), /^<svg/);
  assert.deepEqual(ls('checkpoints'), ['best', 'last']);
  assert.deepEqual(ls('checkpoints/last'), [
    'model.json',
    'optimizer.bin',
    'optimizer.json',
    'state.json',
    'weights.bin',
  ]);

  assert.equal(fs.readFileSync(path.join(r.runDir, 'config.yaml'), 'utf8'), fs.readFileSync(r.file, 'utf8'));
  assert.deepEqual(readJson(path.join(r.runDir, 'overrides.json')), []);
  const resolved = readJson(path.join(r.runDir, 'resolved.json'));
  assert.deepEqual(
    resolved,
    JSON.parse(JSON.stringify(loadExperimentText(r.file, fs.readFileSync(r.file, 'utf8')).experiment)),
  );

  const meta = readJson(path.join(r.runDir, 'meta.json'));
  assert.deepEqual(Object.keys(meta).sort(), [
    'backend',
    'backendReason',
    'command',
    'configHash',
    'cpus',
    'dataset',
    'durationSeconds',
    'endedAt',
    'formatVersion',
    'git',
    'host',
    'mainMetric',
    'name',
    'pid',
    'runDir',
    'seed',
    'startedAt',
    'status',
    'version',
    'versions',
    'workers',
  ]);
  assert.equal(meta.status, 'completed');
  assert.equal(meta.name, 'tiny');
  assert.equal(meta.version, 1);
  assert.equal(meta.formatVersion, FORMAT_VERSION);
  assert.equal(Object.keys(meta)[0], 'formatVersion', 'the format version comes first');
  assert.equal(meta.runDir, r.runDir);
  assert.equal(meta.pid, process.pid);
  assert.equal(meta.backend, BACKEND);
  assert.equal(meta.backendReason, `requested ${BACKEND}`);
  assert.equal(meta.seed, 7);
  assert.equal(meta.configHash, hashExperiment(resolved));
  assert.deepEqual(meta.versions, { pipeline: PIPELINE_VERSION, tfjs: '4.22.0', node: process.version });
  assert.deepEqual(meta.dataset, {
    name: 'imageFolder',
    source: { format: 'image-folder', path: '(generated in memory)', downloaded: false },
    fingerprint: 'synthetic',
    counts: { train: 256, test: 128 },
    classes: ['north-west', 'north-east', 'south-west', 'south-east'],
  });
  // No validation split: the best epoch is selected on the training accuracy, never on test data.
  assert.deepEqual(meta.mainMetric, { name: 'accuracy', goal: 'max' });
  assert.ok(meta.git === null || (/^[0-9a-f]{40}$/.test(meta.git.commit) && typeof meta.git.dirty === 'boolean'));
  assert.ok(meta.durationSeconds > 0 && Date.parse(meta.endedAt) >= Date.parse(meta.startedAt));

  const rows = fs
    .readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  for (const [i, row] of rows.entries()) {
    assert.deepEqual(Object.keys(row), [
      'epoch',
      'loss',
      'accuracy',
      'testLoss',
      'testAccuracy',
      'learningRate',
      'seconds',
      'samplesPerSecond',
    ]);
    assert.equal(row.epoch, i + 1);
    assert.equal(row.learningRate, 0.01);
    assert.ok(row.samplesPerSecond > 0 && row.seconds > 0);
  }
  assert.ok(rows[2].loss < rows[0].loss, `train loss falls: ${rows.map((x) => x.loss)}`);
  assert.ok(rows[2].testAccuracy > 0.6, `the model learns the problem: testAccuracy ${rows[2].testAccuracy}`);

  const summary = readJson(path.join(r.runDir, 'summary.json'));
  assert.deepEqual(summary.final, rows[2]);
  assert.equal(summary.bestBy, 'accuracy');
  assert.equal(summary.bestGoal, 'max');
  assert.equal(summary.epochs, 3);
  assert.equal(summary.best.accuracy, Math.max(...rows.map((x) => x.accuracy)));
  assert.deepEqual(r.metrics, rows[2]);
  assert.deepEqual(r.best, summary.best);

  const log = fs
    .readFileSync(path.join(r.runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(log.some((l) => l.msg === 'epoch' && l.row.epoch === 3));
  assert.ok(log.some((l) => /^run completed/.test(l.msg)));
  assert.ok(log.every((l) => typeof l.level === 'number' && typeof l.time === 'number'));
});

test('the same seed gives identical metrics and weights; another seed does not', async () => {
  const a = await run({ epochs: 2 });
  const b = await run({ epochs: 2 });
  const c = await run({ epochs: 2, seedOverride: 8 });
  assert.deepEqual(metricsWithoutTimings(b.runDir), metricsWithoutTimings(a.runDir));
  assert.deepEqual(
    fs.readFileSync(path.join(b.runDir, 'model/weights.bin')),
    fs.readFileSync(path.join(a.runDir, 'model/weights.bin')),
  );
  assert.notDeepEqual(metricsWithoutTimings(c.runDir), metricsWithoutTimings(a.runDir));
  assert.deepEqual(readJson(path.join(c.runDir, 'overrides.json')), ['seed=8']);
});

test('dropout draws a new mask every step, reproducibly, on the direct step and through tfjs autograd alike', async () => {
  await selectBackend(BACKEND);
  const e = loadExperimentText('tiny.yaml', tinyExperiment()).experiment;
  const data = syntheticDataset();
  const b = {
    x: Float32Array.from(data.train.x.subarray(0, 16 * 192), (v) => v / 255),
    y: data.train.y.subarray(0, 16),
    size: 16,
  };
  for (const direct of [true, false]) {
    const model = buildModel(tf, e, data.shape, data.classes.length);
    try {
      const steps = createStepRunner({
        tf,
        model,
        experiment: e,
        numClasses: data.classes.length,
        inputShape: data.shape,
        direct,
      });
      assert.equal(steps.implementation.direct, direct);
      const kernelGrad = (epoch: number, index: number) => {
        const { grads } = steps.computeGradients(b, epoch, index);
        const values = Array.from(grads[Object.keys(grads).find((k) => k.includes('dense'))!].dataSync());
        tf.dispose(grads);
        return values;
      };
      const first = kernelGrad(0, 0);
      assert.deepEqual(kernelGrad(0, 0), first, `${direct ? 'direct' : 'autograd'}: the same step, the same mask`);
      assert.notDeepEqual(kernelGrad(0, 1), first, `${direct ? 'direct' : 'autograd'}: the next batch, another mask`);
      assert.notDeepEqual(kernelGrad(1, 0), first, `${direct ? 'direct' : 'autograd'}: the next epoch, another mask`);
    } finally {
      model.dispose();
    }
  }
});

test('every training step draws its dropout masks from its own (epoch, batch) seed, on the direct step and through tfjs autograd', async () => {
  // Both paths derive each step's seed with builders/model.ts dropoutSeed: record its calls for whole runs.
  const builders = require('../../src/builders/model') as {
    dropoutSeed: (base: number, epoch: number, batch: number) => number;
  };
  const original = builders.dropoutSeed;
  const calls: string[] = [];
  builders.dropoutSeed = (base, epoch, batch) => (calls.push(`${epoch}/${batch}`), original(base, epoch, batch));
  try {
    const expected = [0, 1].flatMap((epoch) => Array.from({ length: 16 }, (_, batch) => `${epoch}/${batch}`));
    // The tiny model: the direct step; with the engine off: tfjs autograd.
    for (const which of ['direct', 'autograd']) {
      calls.length = 0;
      const r = which === 'direct' ? await run({ epochs: 2 }) : await withEngineOff(() => run({ epochs: 2 }));
      assert.equal(r.status, 'completed');
      assert.deepEqual([...new Set(calls)], expected, `${which}: one seed per (epoch, batch), 16 batches per epoch`);
    }
  } finally {
    builders.dropoutSeed = original;
  }
});

test('tensors do not accumulate across epochs, and a run releases what it allocated', async () => {
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  const counter: Callback = { name: 'count', onEpochEnd: () => void counts.push(tf.memory().numTensors) };
  await run({ epochs: 4, extraReq: { callbacks: [counter] } });
  assert.equal(counts.length, 4);
  assert.deepEqual(counts.slice(1), [counts[1], counts[1], counts[1]], `numTensors per epoch: ${counts}`);
  assert.equal(tf.memory().numTensors, before);
});

test('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
  // minDelta 100: only the first epoch counts as an improvement.
  const r = await run({
    epochs: 6,
    extra: '  earlyStopping: {monitor: testLoss, patience: 2, minDelta: 100, restoreBestWeights: true}',
  });
  assert.equal(r.status, 'completed');
  assert.equal(metricsWithoutTimings(r.runDir).length, 3);
  const meta = readJson(path.join(r.runDir, 'meta.json'));
  assert.equal(meta.stopReason, 'earlyStopping stopped training after epoch 3');
  assert.deepEqual(
    fs.readFileSync(path.join(r.runDir, 'model/weights.bin')),
    fs.readFileSync(path.join(r.runDir, 'checkpoints/early-stopping-best/weights.bin')),
    'the final model has the best epoch weights',
  );
  assert.notDeepEqual(
    fs.readFileSync(path.join(r.runDir, 'model/weights.bin')),
    fs.readFileSync(path.join(r.runDir, 'checkpoints/last/weights.bin')),
  );
  const state = readJson(path.join(r.runDir, 'checkpoints/last/state.json'));
  assert.deepEqual(state.callbacks.earlyStopping, {
    best: metricsWithoutTimings(r.runDir)[0].testLoss,
    bestEpoch: 1,
    wait: 2,
    lastEpoch: 3,
  });
});

test('a loss that becomes NaN or infinite ends the run as diverged, naming epoch and batch', async () => {
  const r = await run({ epochs: 2, optimizer: '{type: sgd, learningRate: 1e20}' });
  assert.equal(r.status, 'diverged');
  assert.match(r.message!, /^loss became (NaN|infinite) at epoch 1, batch \d+ of 16$/);
  const meta = readJson(path.join(r.runDir, 'meta.json'));
  assert.equal(meta.status, 'diverged');
  assert.equal(meta.error, r.message);
  assert.equal(fs.existsSync(path.join(r.runDir, 'model')), false);
});

test('validation split, schedule and periodic checkpoints', async () => {
  const r = await run({
    epochs: 4,
    extra: ['  schedule: {type: step, stepSize: 2, gamma: 0.5}', '  checkpoints: {every: 2}'].join('\n'),
    // validationSplit goes in the dataset section; TinyOptions has no slot, so patch the text.
    extraReq: {},
  });
  assert.deepEqual(
    metricsWithoutTimings(r.runDir).map((x) => x.learningRate),
    [0.01, 0.01, 0.005, 0.005],
  );
  assert.deepEqual(fs.readdirSync(path.join(r.runDir, 'checkpoints')).sort(), [
    'best',
    'epoch-0002',
    'epoch-0004',
    'last',
  ]);
  assert.equal(readJson(path.join(r.runDir, 'checkpoints/epoch-0002/state.json')).position.epoch, 2);

  const dir = tempDir();
  const text = tinyExperiment({ epochs: 1 }).replace('  channels: 3\n', '  channels: 3\n  validationSplit: 0.2\n');
  const file = writeExperiment(dir, text);
  const v = await runExperiment({
    file,
    runsDir: dir,
    backend: BACKEND,
    dataset: syntheticDataset({ validation: 64 }),
    terminal: silentTerminal,
  });
  const [row] = metricsWithoutTimings(v.runDir);
  assert.deepEqual(Object.keys(row), [
    'epoch',
    'loss',
    'accuracy',
    'valLoss',
    'valAccuracy',
    'testLoss',
    'testAccuracy',
    'learningRate',
  ]);
  assert.deepEqual(readJson(path.join(v.runDir, 'meta.json')).dataset.counts, {
    train: 256,
    test: 128,
    validation: 64,
  });
});

test('versions count up per experiment name', async () => {
  const dir = tempDir();
  const a = await run({ epochs: 1, runsDir: dir });
  const b = await run({ epochs: 1, runsDir: dir });
  const c = await run({ epochs: 1, runsDir: dir, name: 'other' });
  assert.deepEqual(
    [a.runDir, b.runDir, c.runDir],
    [path.join(dir, 'tiny/1'), path.join(dir, 'tiny/2'), path.join(dir, 'other/1')],
  );
});
