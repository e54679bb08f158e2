import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { createRng } from '../../src/util/random';
import { planTrials, sampleRange, yamlValue } from '../../src/runs/sweep/plan';
import { buildSpec, parseParamFlag, type SweepSpec } from '../../src/runs/sweep/spec';
import { bestUpTo, median, medianRule } from '../../src/runs/sweep/median';

const spec = (s: Partial<SweepSpec>): SweepSpec => ({
  method: 'grid',
  parameters: {},
  metric: 'testAccuracy',
  goal: 'max',
  parallel: 1,
  ...s,
});

test('grid: every combination, first parameter slowest, overrides as --set takes them', () => {
  const plan = planTrials(
    spec({
      parameters: {
        'training.optimizer.learningRate': [0.001, 0.003],
        'training.batchSize': [32, 64],
        'training.optimizer.type': ['adam'],
      },
    }),
    0,
  );
  assert.equal(plan.gridSize, 4);
  assert.deepEqual(
    plan.trials.map((t) => t.overrides),
    [
      ['training.optimizer.learningRate=0.001', 'training.batchSize=32', 'training.optimizer.type=adam'],
      ['training.optimizer.learningRate=0.001', 'training.batchSize=64', 'training.optimizer.type=adam'],
      ['training.optimizer.learningRate=0.003', 'training.batchSize=32', 'training.optimizer.type=adam'],
      ['training.optimizer.learningRate=0.003', 'training.batchSize=64', 'training.optimizer.type=adam'],
    ],
  );
  assert.deepEqual(
    plan.trials.map((t) => t.index),
    [1, 2, 3, 4],
  );
  assert.deepEqual(plan.trials[3].params, {
    'training.optimizer.learningRate': 0.003,
    'training.batchSize': 64,
    'training.optimizer.type': 'adam',
  });
  const capped = planTrials(spec({ parameters: { a: [1, 2, 3], b: [1, 2] }, trials: 4 }), 0);
  assert.equal(capped.trials.length, 4);
  assert.equal(capped.gridSize, 6);
});

test('random: seeded (same seed, same trials), in range, no duplicate trials', () => {
  const s = spec({
    method: 'random',
    trials: 20,
    parameters: {
      lr: { min: 1e-4, max: 1e-1, scale: 'log', type: 'float' },
      units: { min: 16, max: 256, scale: 'log', type: 'int' },
      dropout: { min: 0, max: 0.5, scale: 'linear', type: 'float' },
      opt: ['adam', 'sgd'],
    },
  });
  const a = planTrials(s, 42).trials;
  assert.deepEqual(planTrials(s, 42).trials, a);
  assert.notDeepEqual(planTrials(s, 43).trials, a);
  assert.equal(a.length, 20);
  for (const t of a) {
    const p = t.params as { lr: number; units: number; dropout: number; opt: string };
    assert.ok(p.lr >= 1e-4 && p.lr <= 1e-1, `lr ${p.lr}`);
    assert.ok(Number.isInteger(p.units) && p.units >= 16 && p.units <= 256, `units ${p.units}`);
    assert.ok(p.dropout >= 0 && p.dropout <= 0.5);
    assert.ok(['adam', 'sgd'].includes(p.opt));
    assert.equal(Number(p.lr.toPrecision(4)), p.lr, 'floats keep 4 significant digits');
  }
  // A space of 2 x 2 points cannot give 10 distinct trials: it stops at 4.
  assert.equal(
    planTrials(spec({ method: 'random', trials: 10, parameters: { a: [1, 2], b: ['x', 'y'] } }), 1).trials.length,
    4,
  );
  assert.equal(
    planTrials(spec({ method: 'random', parameters: { a: { min: 0, max: 1, scale: 'linear', type: 'float' } } }), 1)
      .trials.length,
    10,
    'default 10',
  );
});

test('sampleRange: ends of the unit interval map to the ends of the range', () => {
  const cases: Array<[Parameters<typeof sampleRange>[0], number, number]> = [
    [{ min: 1, max: 10, scale: 'linear', type: 'int' }, 0, 1],
    [{ min: 1, max: 10, scale: 'linear', type: 'int' }, 0.999999, 10],
    [{ min: 16, max: 256, scale: 'log', type: 'int' }, 0, 16],
    [{ min: 16, max: 256, scale: 'log', type: 'int' }, 0.999999, 256],
    [{ min: 1e-4, max: 1e-2, scale: 'log', type: 'float' }, 0.5, 0.001],
    [{ min: 0, max: 2, scale: 'linear', type: 'float' }, 0.25, 0.5],
  ];
  for (const [r, u, want] of cases) assert.equal(sampleRange(r, u), want, `${JSON.stringify(r)} at ${u}`);
  // Uniform over integers: each of 1..4 about a quarter of the time.
  const rng = createRng(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++)
    counts[sampleRange({ min: 1, max: 4, scale: 'linear', type: 'int' }, rng.next()) - 1]++;
  for (const c of counts) assert.ok(c > 900 && c < 1100, String(counts));
});

test('yamlValue round-trips through a YAML scalar with the same type', () => {
  const values: unknown[] = [
    0.001,
    1e-7,
    32,
    -1,
    'adam',
    '32',
    'true',
    'null',
    '',
    'a,b',
    'x: y',
    true,
    null,
    [3, 3],
    { type: 'step', every: 2 },
  ];
  for (const v of values)
    assert.deepEqual(parseYaml(yamlValue(v), { schema: 'core' }), v, `${JSON.stringify(v)} -> ${yamlValue(v)}`);
  assert.equal(yamlValue('adam'), 'adam');
  assert.equal(yamlValue('32'), '"32"');
  assert.equal(yamlValue(0.001), '0.001');
});

test('parseParamFlag: value lists, ranges, and mistakes', () => {
  assert.deepEqual(parseParamFlag('training.optimizer.learningRate=0.001,0.003'), [
    'training.optimizer.learningRate',
    [0.001, 0.003],
  ]);
  assert.deepEqual(parseParamFlag('model.layers[0].kernelSize=[3,3],[5,5]'), [
    'model.layers[0].kernelSize',
    [
      [3, 3],
      [5, 5],
    ],
  ]);
  assert.deepEqual(parseParamFlag('training.optimizer.type=adam, sgd'), ['training.optimizer.type', ['adam', 'sgd']]);
  assert.deepEqual(parseParamFlag('x=1e-4..1e-2:log'), ['x', { min: 1e-4, max: 1e-2, scale: 'log', type: 'float' }]);
  assert.deepEqual(parseParamFlag('x=16..256:log:int'), ['x', { min: 16, max: 256, scale: 'log', type: 'int' }]);
  assert.deepEqual(parseParamFlag('x=0..1'), ['x', { min: 0, max: 1, scale: 'linear', type: 'float' }]);
  const errors: Array<[string, string]> = [
    ['lr', '--param lr: expected key=a,b,c or key=MIN..MAX[:log][:int]'],
    ['a..b=1', '--param a..b=1: "a..b" is not a dotted path like training.optimizer.learningRate'],
    ['x=', '--param x=: give at least one value'],
    ['x=2..1', '--param x=2..1: a range needs MIN < MAX'],
    ['x=0..1:log', 'sweep parameter x: a log-scale range needs min > 0, got 0'],
    ['x=[1,2', '--param x=[1,2: values are not valid YAML: Flow sequence must end with a ]'],
  ];
  for (const [raw, message] of errors) assert.throws(() => parseParamFlag(raw), { message }, raw);
});

test('buildSpec: file section, command line on top, metric defaults', () => {
  const experiment = {
    training: { metrics: ['accuracy'] },
    sweep: {
      method: 'grid',
      parameters: { 'training.batchSize': [32, 64], 'training.epochs': [1] },
      metric: 'testAccuracy',
      goal: 'max',
      parallel: 2,
    },
  };
  const s = buildSpec(experiment, { params: ['training.batchSize=16', 'seed=1,2'], trials: '3' });
  assert.deepEqual(s, {
    method: 'grid',
    parameters: { 'training.epochs': [1], 'training.batchSize': [16], seed: [1, 2] },
    trials: 3,
    metric: 'testAccuracy',
    goal: 'max',
    parallel: 2,
  });
  // Without a chosen metric trials rank by the selection metric: never a test metric.
  const reg = buildSpec({ training: { metrics: [] }, sweep: { parameters: { a: [1] } } }, {});
  assert.deepEqual([reg.metric, reg.goal], ['loss', 'min']);
  const split = buildSpec(
    { training: { metrics: ['accuracy'] }, dataset: { validationSplit: 0.1 }, sweep: { parameters: { a: [1] } } },
    {},
  );
  assert.deepEqual([split.metric, split.goal], ['valAccuracy', 'max']);
  const chosen = buildSpec(
    {
      training: { metrics: ['accuracy'], selectBy: { metric: 'valLoss', goal: 'auto' } },
      dataset: { validationSplit: 0.1 },
      sweep: { parameters: { a: [1] } },
    },
    {},
  );
  assert.deepEqual([chosen.metric, chosen.goal], ['valLoss', 'min']);
  // A metric named on the command line gets its natural goal.
  assert.equal(buildSpec({ training: {} }, { params: ['a=1'], metric: 'valLoss' }).goal, 'min');
  assert.deepEqual(buildSpec({ training: {} }, { params: ['a=1'], earlyStop: true }).earlyStopping, {
    type: 'median',
    minEpochs: 1,
    minTrials: 3,
  });
  assert.deepEqual(buildSpec({ training: {} }, { params: ['a=1'], earlyStop: 'asha' }).earlyStopping, {
    type: 'asha',
    minEpochs: 1,
    minTrials: 3,
    reductionFactor: 3,
  });
  assert.equal(buildSpec({ training: {} }, { params: ['a=1..2:log'], method: 'tpe' }).method, 'tpe');

  const errors: Array<[Parameters<typeof buildSpec>[1], string]> = [
    [{}, 'nothing to sweep: add a `sweep:` section with parameters to the file, or --param key=a,b'],
    [{ params: ['a=1'], method: 'bayes' }, '--method must be grid, random or tpe, got "bayes"'],
    [
      { params: ['a=1..2'] },
      'grid search needs a list of values for a; a {min, max} range is for --method random or tpe',
    ],
    [{ params: ['a=1'], parallel: '0' }, '--parallel must be a whole number >= 1, got "0"'],
    [{ params: ['a=1'], goal: 'up' }, '--goal must be max or min, got "up"'],
    [{ params: ['a=1'], earlyStop: 'hyperband' }, '--early-stop supports "median" or "asha", got "hyperband"'],
  ];
  for (const [flags, message] of errors) assert.throws(() => buildSpec({ training: {} }, flags), { message });
});

test('median rule: stops a trial worse than the median of others at the same epoch, only when it can judge', () => {
  const others = [
    [0.3, 0.4, 0.5],
    [0.2, 0.35, 0.45],
    [0.25, 0.3, 0.4],
  ];
  // Epoch 2: best so far 0.2 vs median(0.4, 0.35, 0.3) = 0.35 -> stop.
  assert.deepEqual(medianRule([0.1, 0.2], others, 2, 'max', 1, 3), {
    stop: true,
    epoch: 2,
    value: 0.2,
    median: 0.35,
    others: 3,
  });
  assert.equal(medianRule([0.1, 0.36], others, 2, 'max', 1, 3)?.stop, false);
  // Before minEpochs, or with fewer than minTrials peers at that epoch: no judgement.
  assert.equal(medianRule([0.1], others, 1, 'max', 2, 3), undefined);
  assert.equal(medianRule([0.1, 0.2], others.slice(0, 2), 2, 'max', 1, 3), undefined);
  assert.equal(medianRule([0.1, 0.2, 0.1, 0.1], others, 4, 'max', 1, 3), undefined, 'nobody else reached epoch 4');
  // Losses: lower is better.
  assert.equal(
    medianRule(
      [2.0, 1.9],
      [
        [1.5, 1.2],
        [1.6, 1.3],
        [2.2, 2.1],
      ],
      2,
      'min',
      1,
      3,
    )?.stop,
    true,
  );
  assert.equal(median([3, 1, 2, 10]), 2.5);
  assert.equal(bestUpTo([0.5, undefined, NaN, 0.7, 0.9], 4, 'max'), 0.7);
});
