/**
 * `workers: auto` switching between 2 replicas and the main thread alone
 * (src/pipeline/parallel/adaptive.ts): the schedule picks the faster mode from timed probes,
 * and a run that switches back and forth trains to the same bits as one worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { buildModel } from '../../src/builders/model';
import { loadExperimentText } from '../../src/config/load';
import { batches } from '../../src/data';
import { buildOptimizer, createStepRunner, type TrainSteps } from '../../src/engine';
import { AdaptiveReplicas, ReplicaSchedule, reshardable, type Mode } from '../../src/pipeline/parallel/adaptive';
import { ReplicaGroup, SpawnedWorkers } from '../../src/pipeline/parallel/group';
import { gradientShardsFor } from '../../src/pipeline/parallel/plan';
import { BACKEND, syntheticDataset, tinyExperiment } from './helpers';

/** The modes a schedule runs `steps` steps in, each step taking 1 / rate[mode] seconds per sample. */
function modes(rate: (step: number) => Record<Mode, number>, steps: number): string {
  const s = new ReplicaSchedule({ warmup: 2, window: 2, period: 4, maxPeriod: 8, margin: 1.1 });
  let out = '';
  for (let i = 0; i < steps; i++) {
    const m = s.mode;
    out += m === 'group' ? 'G' : 's';
    s.record(10, 10 / rate(i)[m]);
  }
  return out;
}

test('the schedule: warm up on both replicas, probe each mode, keep the faster (the main thread alone only by a margin), probe again', () => {
  const CASES: Array<[string, (i: number) => Record<Mode, number>, string]> = [
    // Two replicas clearly faster: keeps them; the period doubles (to at most 8) while they keep winning clearly.
    ['2 faster', () => ({ group: 200, solo: 100 }), 'GG' + 'GGss' + 'GGGGGGGG' + 'GGss' + 'GGGGGGGG' + 'GGss'],
    // The main thread alone clearly faster: switches after the first probe, probes from there.
    ['1 faster', () => ({ group: 50, solo: 100 }), 'GG' + 'GGss' + 'ssss' + 'ssGG' + 'ssssssss' + 'ssGG' + 'ss'],
    // Alone only 5% faster: under the margin, stays on 2; not clear, so the period stays 4.
    ['within the margin', () => ({ group: 100, solo: 105 }), 'GG' + 'GGss' + 'GGGG' + 'GGss' + 'GGGG' + 'GGss'],
    // The load changes after step 10: back to 2 replicas at the next probe.
    [
      'load goes away',
      (i) => (i < 10 ? { group: 50, solo: 100 } : { group: 200, solo: 100 }),
      'GG' + 'GGss' + 'ssss' + 'ssGG' + 'GGGG' + 'GGss' + 'GGGG',
    ],
  ];
  for (const [name, rate, expected] of CASES) assert.equal(modes(rate, expected.length), expected, name);
});

test('a run switching between 2 replicas and the main thread alone trains to the same bits as 1 worker', async () => {
  await selectBackend(BACKEND);
  const e = loadExperimentText('tiny.yaml', tinyExperiment({ batchSize: 16 })).experiment;
  const data = syntheticDataset({ train: 160 });
  const build = (replicas: number) => {
    const model = buildModel(tf, e, data.shape, 4);
    const optimizer = buildOptimizer(tf, e, e.training.optimizer.learningRate);
    const steps = createStepRunner({
      tf,
      model,
      optimizer,
      experiment: e,
      numClasses: 4,
      inputShape: data.shape,
      gradientShards: gradientShardsFor(replicas),
    });
    return { model, optimizer, steps };
  };
  const train = async (steps: TrainSteps) => {
    const sums: number[][] = [];
    for (const epoch of [0, 1, 2]) {
      let i = 0;
      const options = { batchSize: 16, epoch, seed: 1, shuffle: true, normalize: { type: 'scale' as const } };
      for (const b of batches(data.train, data.shape, options)) sums.push(await steps.train(b, epoch, i++));
      const test = { ...options, batchSize: 64, shuffle: false };
      for (const b of batches(data.test, data.shape, test)) sums.push((await steps.evaluate(b)).sums);
    }
    return sums;
  };
  const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

  const one = build(1);
  const expected = await train(one.steps);

  const two = build(2);
  const group = await ReplicaGroup.start(new SpawnedWorkers({ replicas: 2, backend: BACKEND }), {
    tf,
    experiment: e,
    model: two.model,
    optimizer: two.optimizer,
    steps: two.steps,
    numClasses: 4,
    inputShape: data.shape,
  });
  const switches: Mode[] = [];
  try {
    await group.syncState(false);
    // A margin of 0: alone is always "faster", so every probe switches to 2 replicas and back.
    const schedule = new ReplicaSchedule({ warmup: 1, window: 1, period: 2, maxPeriod: 2, margin: 0 });
    const solo = reshardable(two.steps);
    assert.ok(solo, 'the direct step can change its shard count');
    const adaptive = new AdaptiveReplicas(group, solo, schedule, (to) => switches.push(to));
    const got = await train(adaptive);
    assert.ok(switches.filter((m) => m === 'group').length >= 5, `switches: ${switches.join(' ')}`);
    assert.deepEqual(got, expected, 'the same loss and metric sums, step by step and in evaluation');
    assert.deepEqual(weights(two.model), weights(one.model), 'bit-identical weights');
    // Each return to 2 replicas restores the worker's optimizer state: its old slots must not pile up.
    const counts = await group.workerTensorCounts();
    await train(adaptive);
    assert.deepEqual(await group.workerTensorCounts(), counts, 'worker tensors after 3 more epochs of switching');
  } finally {
    await group.close();
    for (const r of [one, two]) {
      r.optimizer.dispose();
      r.model.dispose();
    }
  }
});
