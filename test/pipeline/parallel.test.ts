/**
 * Data-parallel training (src/pipeline/parallel/): shard splitting, the 'auto' rule, and real
 * worker threads on the generated problem: same numbers as one worker, determinism for a
 * given count, resume, early stopping, no tensor growth in any thread, and worker failures
 * that end the run with a clear RunError and leave no thread behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { buildModel } from '../../src/builders/model';
import { loadExperimentText } from '../../src/config/load';
import { batches } from '../../src/data';
import { buildOptimizer, createStepRunner, shardRows } from '../../src/engine';
import { ReplicaGroup, SpawnedWorkers } from '../../src/pipeline/parallel/group';
import { MIN_AUTO_SAMPLES, planWorkers } from '../../src/pipeline/parallel/plan';
import { PrefetchingSource } from '../../src/pipeline/parallel/prefetch';
import { runExperiment, type RunRequest } from '../../src/pipeline/run';
import { silentTerminal } from '../../src/pipeline/terminal';
import type { Batch, BatchSource, Callback } from '../../src/pipeline/types';
import {
  BACKEND,
  CLASSES,
  metricsWithoutTimings,
  readJson,
  syntheticDataset,
  tempDir,
  tinyExperiment,
  withEngineOff,
  writeExperiment,
  type TinyOptions,
} from './helpers';

test('shardRows: contiguous, sizes differ by at most one, larger shards first', () => {
  const cases: Array<[number, number, Array<[number, number]>]> = [
    [32, 1, [[0, 32]]],
    [
      32,
      2,
      [
        [0, 16],
        [16, 16],
      ],
    ],
    [
      33,
      2,
      [
        [0, 17],
        [17, 16],
      ],
    ],
    [
      10,
      3,
      [
        [0, 4],
        [4, 3],
        [7, 3],
      ],
    ],
    [
      1,
      2,
      [
        [0, 1],
        [1, 0],
      ],
    ],
    [
      0,
      2,
      [
        [0, 0],
        [0, 0],
      ],
    ],
  ];
  for (const [rows, replicas, expected] of cases) {
    assert.deepEqual(
      shardRows(rows, replicas).map((s) => [s.offset, s.size]),
      expected,
      `${rows} rows, ${replicas} replicas`,
    );
  }
  assert.throws(() => shardRows(4, 0), {
    name: 'RangeError',
    message: 'shardRows: replicas must be a positive integer, got 0',
  });
});

test("planWorkers: 'auto' takes the cores when it pays, an explicit count is honoured", () => {
  const experiment = (batchSize: number, layers = ['conv2d']) =>
    ({ training: { batchSize }, model: { layers: layers.map((type) => ({ type })) } }) as never;
  const big = MIN_AUTO_SAMPLES;
  const cases: Array<[Parameters<typeof planWorkers>[0], { count: number; reason: string; warning?: string }]> = [
    [
      { requested: 'auto', backend: 'wasm', experiment: experiment(32), samples: big, cores: 2 },
      { count: 2, reason: 'auto: 2 workers on 2 cores' },
    ],
    [
      { requested: 'auto', backend: 'wasm', experiment: experiment(32), samples: big, cores: 8 },
      { count: 4, reason: 'auto: 4 workers on 8 cores' },
    ],
    [
      { requested: 'auto', backend: 'wasm', experiment: experiment(32), samples: big, cores: 1 },
      { count: 1, reason: 'auto: 1 core' },
    ],
    [
      { requested: 'auto', backend: 'wasm', experiment: experiment(8), samples: big, cores: 2 },
      { count: 1, reason: 'auto: batch 8 is too small to split (shards under 8 rows cost more than they save)' },
    ],
    [
      { requested: 'auto', backend: 'wasm', experiment: experiment(32), samples: big - 1, cores: 2 },
      {
        count: 1,
        reason: `auto: ${big - 1} training samples (examples x epochs to train) are under the 20000 that pay for starting worker threads`,
      },
    ],
    [
      {
        requested: 'auto',
        backend: 'wasm',
        experiment: experiment(32, ['conv2d', 'batchNormalization']),
        samples: big,
        cores: 2,
      },
      {
        count: 1,
        reason:
          'auto: batch normalization would see per-worker statistics without the direct step; set training.workers to split anyway',
      },
    ],
    [
      {
        requested: 'auto',
        backend: 'wasm',
        experiment: experiment(32, ['conv2d', 'batchNormalization']),
        samples: big,
        cores: 2,
        wholeBatchStatistics: true,
      },
      { count: 2, reason: 'auto: 2 workers on 2 cores' },
    ],
    [
      { requested: 'auto', backend: 'tensorflow', experiment: experiment(32), samples: big, cores: 2 },
      { count: 1, reason: 'auto: native tensorflow runs its kernels on every core itself' },
    ],
    [
      { requested: 3, backend: 'wasm', experiment: experiment(32), samples: 1, cores: 2 },
      { count: 3, reason: 'requested 3 workers' },
    ],
    [
      { requested: 1, backend: 'wasm', experiment: experiment(32), samples: big, cores: 2 },
      { count: 1, reason: 'requested 1 worker' },
    ],
    [
      { requested: 4, backend: 'wasm', experiment: experiment(2), samples: big, cores: 2 },
      {
        count: 2,
        reason: 'requested 4, capped at the batch size',
        warning: '4 workers requested, but a batch of 2 gives at most 2 shards: training on 2',
      },
    ],
    [
      { requested: 2, backend: 'tensorflow', experiment: experiment(32), samples: big, cores: 2 },
      {
        count: 1,
        reason: 'native tensorflow runs its kernels on every core itself',
        warning:
          '2 workers requested, but data-parallel workers are for the wasm and cpu backends (native tensorflow already uses every core): training on 1',
      },
    ],
  ];
  for (const [input, expected] of cases) assert.deepEqual(planWorkers(input), expected);
});

test('PrefetchingSource yields the same batches, reading one ahead on request', () => {
  const made: number[] = [];
  function* gen(): Generator<Batch> {
    for (let i = 0; i < 3; i++) {
      made.push(i);
      yield { x: new Float32Array([i]), y: new Uint8Array([i]), size: 1 };
    }
  }
  const inner: BatchSource = { counts: { train: 3, test: 0 }, train: () => gen(), evaluate: () => gen() };
  const source = new PrefetchingSource(inner);
  const it = (source.train(0) as Iterable<Batch>)[Symbol.iterator]();
  assert.equal(it.next().value!.x[0], 0);
  assert.deepEqual(made, [0]);
  source.prefetch();
  source.prefetch(); // idempotent until consumed
  assert.deepEqual(made, [0, 1], 'the next batch is produced ahead, once');
  assert.equal(it.next().value!.x[0], 1);
  assert.equal(it.next().value!.x[0], 2);
  source.prefetch();
  assert.equal(it.next().done, true);
  assert.deepEqual(source.counts, inner.counts);
});

/** Threads of this process (Linux), to show that a run leaves none behind. */
function threadCount(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
}

async function run(
  o: TinyOptions & { workers?: number; runsDir?: string; extraReq?: Partial<RunRequest>; train?: number } = {},
) {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment(o));
  const outcome = await runExperiment({
    file,
    runsDir: o.runsDir ?? path.join(dir, 'runs'),
    backend: BACKEND,
    dataset: syntheticDataset({ train: o.train }),
    terminal: silentTerminal,
    workers: o.workers,
    ...o.extraReq,
  });
  return { ...outcome, dir };
}

const weightsOf = (runDir: string) => fs.readFileSync(path.join(runDir, 'model/weights.bin'));

test('2 workers train like 1, dropout included (the same bits on the direct step), recorded in meta.json; a given count is deterministic', async () => {
  const one = await run({ workers: 1, epochs: 2 });
  const two = await run({ workers: 2, epochs: 2 });
  const again = await run({ workers: 2, epochs: 2 });
  assert.equal(two.status, 'completed');
  assert.deepEqual(metricsWithoutTimings(two.runDir), metricsWithoutTimings(one.runDir));
  assert.ok(weightsOf(two.runDir).equals(weightsOf(one.runDir)), 'bit-identical final weights');
  assert.equal(readJson(path.join(one.runDir, 'meta.json')).workers, 1);
  assert.equal(readJson(path.join(two.runDir, 'meta.json')).workers, 2);
  assert.deepEqual(metricsWithoutTimings(again.runDir), metricsWithoutTimings(two.runDir), 'same count, same numbers');
  assert.deepEqual(weightsOf(again.runDir), weightsOf(two.runDir));
});

/** Trains `layers` with 1 and with 2 workers (batch 15: shards of 8 and 7) and requires the same metrics and weights. */
async function sameBitsOnOneAndTwo(layers: string[], train: number): Promise<void> {
  const one = await run({ workers: 1, epochs: 2, batchSize: 15, train, layers });
  const two = await run({ workers: 2, epochs: 2, batchSize: 15, train, layers });
  assert.equal(two.status, 'completed');
  assert.equal(readJson(path.join(two.runDir, 'meta.json')).workers, 2);
  assert.deepEqual(metricsWithoutTimings(two.runDir), metricsWithoutTimings(one.runDir));
  assert.ok(weightsOf(two.runDir).equals(weightsOf(one.runDir)), 'bit-identical final weights');
}

// [what, layers, training examples]
const SAME_BITS: Array<[string, string[], number]> = [
  [
    // Two convolutions (so an input gradient too), two dense layers, Adam; the last batch of 10 splits 5+5.
    'a LeNet-like stack, uneven shards included (batch 15 -> 8+7, last batch 10 -> 5+5)',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, activation: relu}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: conv2d, filters: 6, kernelSize: 2, activation: relu}',
      '{type: flatten}',
      '{type: dense, units: 12, activation: relu}',
      `{type: dense, units: ${CLASSES.length}}`,
    ],
    250,
  ],
  [
    // 241 examples: a last batch of 1, which leaves worker 1 without rows (it sits out the mid-step gathers).
    'batch normalization, statistics over the whole batch and moving statistics included (last batch 1 -> 1+0)',
    [
      '{type: conv2d, filters: 4, kernelSize: 3}',
      '{type: batchNormalization}',
      '{type: activation, activation: relu}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: flatten}',
      '{type: dense, units: 6}',
      '{type: batchNormalization, center: false}',
      `{type: dense, units: ${CLASSES.length}}`,
    ],
    241,
  ],
];

for (const [what, layers, train] of SAME_BITS) {
  test(`on the direct step, 1 and 2 workers train to the same bits: ${what}`, () => sameBitsOnOneAndTwo(layers, train));
}

test('a graph on the direct step (residual add, a branch, depthwise, prelu, spatial dropout; fused momentum): 1 and 2 workers train to the same bits, the same seed to the same metrics', async () => {
  const layers = [
    '{type: conv2d, filters: 4, kernelSize: 3, padding: same, activation: relu, name: stem}',
    '{type: depthwiseConv2d, kernelSize: 3, padding: same, name: dw}',
    '{type: prelu, sharedAxes: [1, 2], name: act}',
    '{type: add, inputs: [stem, act], name: res}',
    '{type: conv2d, filters: 2, kernelSize: 1, inputs: input, name: side}',
    '{type: concatenate, inputs: [res, side]}',
    '{type: spatialDropout2d, rate: 0.25}',
    '{type: maxPooling2d, poolSize: 2}',
    '{type: flatten}',
    `{type: dense, units: ${CLASSES.length}}`,
  ];
  const optimizer = '{type: sgd, learningRate: 0.05, momentum: 0.9}';
  const one = await run({ workers: 1, epochs: 2, batchSize: 15, train: 200, layers, optimizer });
  const two = await run({ workers: 2, epochs: 2, batchSize: 15, train: 200, layers, optimizer });
  const again = await run({ workers: 1, epochs: 2, batchSize: 15, train: 200, layers, optimizer });
  const log = fs.readFileSync(path.join(one.runDir, 'log.jsonl'), 'utf8');
  assert.match(log, /training step: direct wasm kernels/);
  assert.deepEqual(metricsWithoutTimings(two.runDir), metricsWithoutTimings(one.runDir));
  assert.ok(weightsOf(two.runDir).equals(weightsOf(one.runDir)), 'bit-identical final weights');
  assert.deepEqual(metricsWithoutTimings(again.runDir), metricsWithoutTimings(one.runDir));
});

test('3 workers with uneven shards (batch 16 -> 6+5+5, last batch 10 -> 4+3+3), through tfjs autograd (the engine off), also train like 1', async () => {
  // With the engine off the model trains through tfjs autograd: the generic path's data parallelism, dropout masks included.
  const layers = [
    '{type: conv2d, filters: 4, kernelSize: 3, activation: tanh}',
    '{type: maxPooling2d, poolSize: 2}',
    '{type: flatten}',
    '{type: dropout, rate: 0.25}',
    `{type: dense, units: ${CLASSES.length}}`,
  ];
  const [one, three] = await withEngineOff(async () => [
    await run({ workers: 1, epochs: 1, train: 250, layers }),
    await run({ workers: 3, epochs: 1, train: 250, layers }),
  ]);
  const [a, b] = [metricsWithoutTimings(one.runDir)[0], metricsWithoutTimings(three.runDir)[0]];
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss: 1 worker ${a.loss}, 3 workers ${b.loss}`);
  assert.ok(Math.abs(a.testLoss - b.testLoss) < 1e-5, `testLoss: 1 worker ${a.testLoss}, 3 workers ${b.testLoss}`);
});

/** Stops the loop once `after` batches of epoch `epoch` are done, like a signal arriving then. */
function stopAt(epoch: number, after: number): { stop: { requested: boolean; dispose(): void }; callback: Callback } {
  const stop = { requested: false, dispose() {} };
  return {
    stop,
    callback: {
      name: 'test-stop',
      onBatchEnd: (info) => void (info.epoch === epoch && info.batch === after && (stop.requested = true)),
    },
  };
}

test('with workers, a run stopped mid-epoch and resumed (with its recorded worker count) ends like a straight run', async () => {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment({ epochs: 3 }));
  const common = { backend: BACKEND, dataset: syntheticDataset(), terminal: silentTerminal };
  const straight = await runExperiment({ ...common, file, runsDir: path.join(dir, 'a'), workers: 2 });
  const { stop, callback } = stopAt(2, 5);
  const interrupted = await runExperiment({
    ...common,
    file,
    runsDir: path.join(dir, 'b'),
    workers: 2,
    stop,
    callbacks: [callback],
  });
  assert.equal(interrupted.status, 'interrupted');
  const resumed = await runExperiment({ ...common, resume: interrupted.runDir });
  assert.equal(resumed.status, 'completed');
  assert.equal(readJson(path.join(resumed.runDir, 'meta.json')).workers, 2);
  assert.deepEqual(metricsWithoutTimings(resumed.runDir), metricsWithoutTimings(straight.runDir));
  assert.deepEqual(weightsOf(resumed.runDir), weightsOf(straight.runDir), 'bit-identical final weights');
});

// Models the resume and tensor-count tests run: [what, layers (undefined: the tiny experiment's own)]
const STACKS: Array<[string, string[] | undefined]> = [
  ['the tiny stack', undefined],
  [
    'batch normalization (moving statistics in the checkpoint)',
    [
      '{type: conv2d, filters: 4, kernelSize: 3}',
      '{type: batchNormalization}',
      '{type: activation, activation: relu}',
      '{type: flatten}',
      `{type: dense, units: ${CLASSES.length}}`,
    ],
  ],
];

for (const [what, layers] of STACKS)
  test(`a run stopped with 1 worker and resumed with 2 (and the other way round) ends like a straight run, to the bit: ${what}`, async () => {
    const dir = tempDir();
    const file = writeExperiment(dir, tinyExperiment({ epochs: 3, layers }));
    const common = { backend: BACKEND, dataset: syntheticDataset(), terminal: silentTerminal };
    const straight = await runExperiment({ ...common, file, runsDir: path.join(dir, 'a'), workers: 1 });
    for (const [before, after] of [
      [1, 2],
      [2, 1],
    ]) {
      const { stop, callback } = stopAt(2, 5);
      const runsDir = path.join(dir, `${before}-${after}`);
      const interrupted = await runExperiment({
        ...common,
        file,
        runsDir,
        workers: before,
        stop,
        callbacks: [callback],
      });
      assert.equal(interrupted.status, 'interrupted');
      // The checkpoint's optimizer slots are in the order its run applied them; the other count lists gradients otherwise.
      const resumed = await runExperiment({ ...common, resume: interrupted.runDir, workers: after });
      assert.equal(resumed.status, 'completed', `${before} -> ${after}: ${resumed.message}`);
      assert.deepEqual(
        metricsWithoutTimings(resumed.runDir),
        metricsWithoutTimings(straight.runDir),
        `${before} -> ${after}`,
      );
      assert.deepEqual(weightsOf(resumed.runDir), weightsOf(straight.runDir), `${before} -> ${after}: final weights`);
    }
  });

test('with workers, early stopping stops and restores the best weights; a diverging loss ends the run as diverged', async () => {
  const r = await run({
    workers: 2,
    epochs: 6,
    extra: '  earlyStopping: {monitor: testLoss, patience: 2, minDelta: 100, restoreBestWeights: true}',
  });
  assert.equal(r.status, 'completed');
  assert.equal(metricsWithoutTimings(r.runDir).length, 3);
  assert.deepEqual(
    weightsOf(r.runDir),
    fs.readFileSync(path.join(r.runDir, 'checkpoints/early-stopping-best/weights.bin')),
  );
  const d = await run({ workers: 2, epochs: 2, optimizer: '{type: sgd, learningRate: 1e20}' });
  assert.equal(d.status, 'diverged');
  assert.match(d.message!, /^loss became (NaN|infinite) at epoch 1, batch \d+ of 16$/);
});

for (const [what, layers] of STACKS)
  test(`tensors do not accumulate in the main thread or the workers: ${what}`, async () => {
    await selectBackend(BACKEND);
    const e = loadExperimentText('tiny.yaml', tinyExperiment({ batchSize: 16, layers })).experiment;
    const data = syntheticDataset({ train: 160 });
    const model = buildModel(tf, e, data.shape, 4);
    const optimizer = buildOptimizer(tf, e, e.training.optimizer.learningRate);
    const steps = createStepRunner({ tf, model, optimizer, experiment: e, numClasses: 4, inputShape: data.shape });
    const before = tf.memory().numTensors;
    const group = await ReplicaGroup.start(new SpawnedWorkers({ replicas: 2, backend: BACKEND }), {
      tf,
      experiment: e,
      model,
      optimizer,
      steps,
      numClasses: 4,
      inputShape: data.shape,
    });
    try {
      await group.syncState(false);
      const epoch = async (n: number) => {
        let i = 0;
        for (const b of batches(data.train, data.shape, {
          batchSize: 16,
          epoch: n,
          seed: 1,
          shuffle: true,
          normalize: { type: 'scale' },
        }))
          await group.train(b, n, i++);
        for (const b of batches(data.test, data.shape, {
          batchSize: 64,
          epoch: 0,
          seed: 1,
          shuffle: false,
          normalize: { type: 'scale' },
        }))
          await group.evaluate(b);
        return { main: tf.memory().numTensors, workers: await group.workerTensorCounts() };
      };
      const first = await epoch(0);
      const second = await epoch(1);
      const third = await epoch(2);
      assert.deepEqual(
        [second, third],
        [first, first],
        `tensors after epochs: ${JSON.stringify([first, second, third])}`,
      );
      if (!layers)
        assert.equal(
          first.main,
          before + 12,
          'the main thread holds only the Adam slots it made (m and v of the 4 weights) and the 4 averaged gradients the exchange refills',
        );
    } finally {
      await group.close();
      optimizer.dispose();
      model.dispose();
    }
  });

const DIST = path.resolve(__dirname, '../../src');
/** A worker entry that is the real one, with its 3rd gradient computation replaced by `fault`. */
const faultyWorker = (fault: string) => ({
  code: `
    const step = require(${JSON.stringify(path.join(DIST, 'engine/step-runner.js'))});
    const create = step.createStepRunner;
    step.createStepRunner = (o) => {
      const r = create(o);
      const compute = r.computeGradients;
      let n = 0;
      r.computeGradients = (...a) => { if (++n === 3) { ${fault} } return compute(...a); };
      return r;
    };
    require(${JSON.stringify(path.join(DIST, 'pipeline/parallel/worker.js'))});`,
});

test('a worker that fails, or whose thread dies, fails the run with a RunError naming it, and no thread is left behind', async () => {
  await run({ workers: 2, epochs: 1 }); // warm-up: lazily started threads of this process (libuv pool) exist from here on
  const threads = threadCount();
  const cases: Array<[string, RegExp]> = [
    ["throw new Error('injected fault');", /^data-parallel worker 1 of 1 failed: injected fault$/],
    ['process.exit(3);', /^data-parallel worker 1 of 1 failed: its thread exited \(code 3\)$/],
  ];
  for (const [fault, message] of cases) {
    const started = Date.now();
    const r = await run({ workers: 2, epochs: 2, extraReq: { workerScript: faultyWorker(fault) } });
    assert.equal(r.status, 'failed');
    assert.equal((r.error as Error).name, 'RunError');
    assert.match(r.message!, message);
    assert.ok(Date.now() - started < 20_000, 'no hang');
    const meta = readJson(path.join(r.runDir, 'meta.json'));
    assert.equal(meta.status, 'failed');
    assert.match(meta.error, message);
    if (threads !== undefined) assert.equal(threadCount(), threads, 'the worker thread is gone when the run returns');
  }
});
