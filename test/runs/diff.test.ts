import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { diffRuns, formatDiff, metricDeltas, seedSpread } from '../../src/runs/diff';
import { resolveRun } from '../../src/runs/refs';
import { regularizedBeta, welch } from '../../src/runs/stats';
import { alignLayers, describeLayerChange } from '../../src/runs/layers-diff';
import { curve, lenetConfig, tempRoot, writeRun } from './fixture';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

test('diff of two trials names exactly the changed keys with old and new values, and the metric deltas', () => {
  const root = tempRoot();
  writeRun(root, { metrics: curve(2, 0.5), tags: { sweep: 'cifar-lenet/sweeps/1', trial: 1 } });
  writeRun(root, {
    metrics: curve(2, 0.6),
    set: { 'training.optimizer.learningRate': 0.003, 'training.batchSize': 64 },
    tags: { sweep: 'cifar-lenet/sweeps/1', trial: 2 },
  });
  const r = diffRuns(resolveRun('cifar-lenet/1', root), resolveRun('cifar-lenet/2', root));
  assert.deepEqual(r.config, [
    { key: 'training.batchSize', kind: 'changed', old: 32, new: 64 },
    { key: 'training.optimizer.learningRate', kind: 'changed', old: 0.001, new: 0.003 },
  ]);
  assert.deepEqual(r.environment, []);
  const acc = r.metrics.final.find((m) => m.metric === 'testAccuracy')!;
  const a = curve(2, 0.5)[1].testAccuracy;
  const b = curve(2, 0.6)[1].testAccuracy;
  assert.deepEqual(acc, { metric: 'testAccuracy', old: a, new: b, change: b - a, relative: (b - a) / a });
  assert.deepEqual(r.epochMetrics, ['testAccuracy', 'testLoss']);
  assert.deepEqual(
    r.epochs.map((e) => [e.epoch, e.a?.epoch, e.b?.epoch]),
    [
      [1, 1, 1],
      [2, 2, 2],
    ],
  );
  assert.equal(r.seedSpread, null);

  const text = formatDiff(r);
  assert.match(
    text,
    /^cifar-lenet\/1 -> cifar-lenet\/2\n\nconfig \(2 changes\):\nkey +cifar-lenet\/1 +cifar-lenet\/2\ntraining\.batchSize +32 +64\ntraining\.optimizer\.learningRate +0\.001 +0\.003\n/,
  );
  assert.match(text, /\ntestAccuracy +0\.2946 +0\.3433 +\+0\.0487 +\+16\.5% /);

  const md = formatDiff(r, 'md');
  assert.ok(
    md.startsWith(
      '## `cifar-lenet/1` → `cifar-lenet/2`\n\n### config (2 changes)\n| key | cifar-lenet/1 | cifar-lenet/2 |\n| --- | --- | --- |\n| training.batchSize | 32 | 64 |\n',
    ),
    md,
  );
});

test('diff: typed values, added and removed keys, environment changes', () => {
  const root = tempRoot();
  writeRun(root, { backend: 'wasm' });
  writeRun(root, { backend: 'tensorflow', set: { 'training.batchSize': '32', 'training.optimizer.momentum': 0.9 } });
  const r = diffRuns(resolveRun('cifar-lenet/1', root), resolveRun('cifar-lenet/2', root));
  assert.deepEqual(r.config, [
    { key: 'training.batchSize', kind: 'changed', old: 32, new: '32', typeChange: 'number -> string' },
    { key: 'training.optimizer.momentum', kind: 'added', new: 0.9 },
  ]);
  assert.deepEqual(r.environment, [{ key: 'backend', old: 'wasm', new: 'tensorflow' }]);
  assert.match(
    formatDiff(r),
    /training\.batchSize +32 +"32" +type number -> string\ntraining\.optimizer\.momentum +\(absent\) +0\.9 *\n/,
  );
});

test('metricDeltas: missing sides and zero baselines give nulls, not NaN', () => {
  assert.deepEqual(metricDeltas({ epoch: 1, loss: 0, testAccuracy: 0.5 }, { epoch: 1, loss: 1 }), [
    { metric: 'loss', old: 0, new: 1, change: 1, relative: null },
    { metric: 'testAccuracy', old: 0.5, new: null, change: null, relative: null },
  ]);
});

test('seed spread: several seeds per side -> Welch test; same config or one seed -> none', () => {
  const root = tempRoot();
  // Side A: lr 0.001, seeds 1-3; side B: lr 0.003, seeds 1-3, clearly better.
  for (const s of [1, 2, 3]) writeRun(root, { set: { seed: s }, metrics: curve(2, 0.5 + s * 0.002) });
  for (const s of [1, 2, 3])
    writeRun(root, { set: { seed: s, 'training.optimizer.learningRate': 0.003 }, metrics: curve(2, 0.6 + s * 0.002) });
  // A failed run and a duplicate seed do not count.
  writeRun(root, { set: { seed: 4 }, status: 'failed', metrics: curve(2, 0.1) });
  writeRun(root, { set: { seed: 1 }, metrics: curve(2, 0.9) });
  const r = diffRuns(resolveRun('cifar-lenet/1', root), resolveRun('cifar-lenet/4', root));
  const s = r.seedSpread!;
  assert.ok(s);
  assert.deepEqual(s.a.runs, ['cifar-lenet/1', 'cifar-lenet/2', 'cifar-lenet/3']);
  assert.deepEqual(s.b.runs, ['cifar-lenet/4', 'cifar-lenet/5', 'cifar-lenet/6']);
  assert.deepEqual(s.a.seeds, [1, 2, 3]);
  assert.equal(s.exceeds, true);
  assert.equal(s.rangesOverlap, false);
  assert.ok(s.welch.p < 0.001);
  assert.match(
    formatDiff(r),
    /The difference of means, \+0\.0487, exceeds the seed-to-seed spread \(Welch's t-test p = [0-9.e-]+ < 0\.05\); the seed ranges do not overlap\./,
  );

  // Two seeds of the same config: the difference is the noise itself, no verdict.
  assert.equal(seedSpread(resolveRun('cifar-lenet/1', root), resolveRun('cifar-lenet/2', root), 'testAccuracy'), null);
  // Only one seed on a side: no verdict.
  const one = tempRoot();
  writeRun(one, {});
  for (const s of [1, 2]) writeRun(one, { set: { seed: s, 'training.batchSize': 64 } });
  assert.equal(seedSpread(resolveRun('cifar-lenet/1', one), resolveRun('cifar-lenet/2', one), 'testAccuracy'), null);
});

test('seed spread within the noise is said so', () => {
  const root = tempRoot();
  const q = [0.5, 0.56, 0.44];
  q.forEach((quality, i) => writeRun(root, { set: { seed: i }, metrics: curve(2, quality) }));
  q.forEach((quality, i) =>
    writeRun(root, { set: { seed: i, 'training.batchSize': 64 }, metrics: curve(2, quality + 0.01) }),
  );
  const r = diffRuns(resolveRun('cifar-lenet/1', root), resolveRun('cifar-lenet/4', root));
  assert.equal(r.seedSpread?.exceeds, false);
  assert.equal(r.seedSpread?.rangesOverlap, true);
  assert.match(
    formatDiff(r),
    /does not exceed the seed-to-seed spread \(Welch's t-test p = 0\.\d{4} >= 0\.05\); the seed ranges overlap\./,
  );
});

test("Welch's t-test matches scipy.stats.ttest_ind(b, a, equal_var=False)", () => {
  // Reference values computed with SciPy 1.17.
  const cases: Array<[number[], number[], number, number]> = [
    [[0.61, 0.62, 0.605], [0.63, 0.64, 0.628], 3.6433840713873136, 0.023008675556296616],
    [[1, 2, 3, 4], [2, 3, 4, 5, 9], 1.5329420047912072, 0.17649567015309295],
    [[0.5, 0.5001], [0.52, 0.49, 0.51], 0.7502474214723651, 0.5313537276487246],
    [[10, 11], [30, 31, 29, 28], 23.27015255644019, 3.849485046547724e-5],
  ];
  for (const [a, b, t, p] of cases) {
    const w = welch(a, b);
    assert.ok(Math.abs(w.t - t) < 1e-9, `t ${w.t} vs ${t}`);
    assert.ok(Math.abs(w.p - p) / p < 1e-7, `p ${w.p} vs ${p}`);
  }
  assert.deepEqual(welch([1, 1], [1, 1]), { t: 0, df: 2, p: 1 });
  assert.equal(welch([1, 1], [2, 2]).p, 0);
  assert.ok(Math.abs(regularizedBeta(0.5, 2, 2) - 0.5) < 1e-12);
});

test('pipeline diff (CLI): --json parses, --md prints Markdown, bad reference exits 2', () => {
  const root = tempRoot();
  writeRun(root, {});
  writeRun(root, { set: { 'training.epochs': 20 } });
  const json = spawnSync(
    process.execPath,
    [BIN, 'diff', 'cifar-lenet/1', 'cifar-lenet/latest', '--runs-dir', root, '--json'],
    { encoding: 'utf8' },
  );
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.deepEqual(report.config, [{ key: 'training.epochs', kind: 'changed', old: 10, new: 20 }]);
  assert.equal(report.b.run, 'cifar-lenet/2');

  const md = spawnSync(process.execPath, [BIN, 'diff', 'cifar-lenet/1', 'cifar-lenet/2', '--runs-dir', root, '--md'], {
    encoding: 'utf8',
  });
  assert.equal(md.status, 0, md.stderr);
  assert.ok(md.stdout.includes('| training.epochs | 10 | 20 |'));

  const bad = spawnSync(process.execPath, [BIN, 'diff', 'cifar-lenet/1', 'cifar-lenet/3', '--runs-dir', root], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'error: no run cifar-lenet/3: cifar-lenet has versions 1-2\n');
});

/** lenet/1, then lenet/2 with a dropout layer inserted before the last dense layer. */
function dropoutInserted(edit: (layers: Array<Record<string, unknown>>) => void = () => {}) {
  const root = tempRoot();
  writeRun(root, { name: 'lenet', metrics: curve(2, 0.5), mainMetric: { name: 'valAccuracy', goal: 'max' } });
  const config = lenetConfig('lenet');
  const layers = (config.model as { layers: Array<Record<string, unknown>> }).layers;
  layers.splice(7, 0, { type: 'dropout', rate: 0.5 });
  edit(layers);
  writeRun(root, { name: 'lenet', metrics: curve(2, 0.55), config });
  return diffRuns(resolveRun('lenet/1', root), resolveRun('lenet/2', root));
}

test('diff: an inserted layer is one change ("dropout inserted at 7"), not 13 shifted layers[7]/[8] keys; parameters compared', () => {
  const r = dropoutInserted();
  assert.deepEqual(r.config, []);
  assert.deepEqual(r.layers, [{ kind: 'inserted', at: 7, type: 'dropout', layer: { type: 'dropout', rate: 0.5 } }]);
  assert.deepEqual(r.parameters, { old: 81302, new: 81302, change: 0 });
  assert.ok(
    formatDiff(r).startsWith(
      'lenet/1 -> lenet/2\n\nconfig (1 change):\nmodel.layers: dropout inserted at 7 (rate 0.5)\n\nparameters: 81,302 (unchanged)\n\nmetrics:\n',
    ),
    formatDiff(r),
  );
  // A changed layer beside the insertion, and its parameter count.
  const r2 = dropoutInserted((layers) => (layers[5].units = 64));
  assert.ok(
    formatDiff(r2).startsWith(
      'lenet/1 -> lenet/2\n\nconfig (2 changes):\nmodel.layers: dense at 5: units 120 -> 64\nmodel.layers: dropout inserted at 7 (rate 0.5)\n\nparameters: 81,302 -> 44,286 (-37,016, -45.5%)\n',
    ),
    formatDiff(r2),
  );
  assert.ok(
    formatDiff(r2, 'md').includes(
      '### config (2 changes)\n- `model.layers`: dense at 5: units 120 -> 64\n- `model.layers`: dropout inserted at 7 (rate 0.5)\n',
    ),
  );
});

test('alignLayers: removals, type swaps, moved layers, and names', () => {
  const conv = (filters: number) => ({ type: 'conv2d', filters });
  const pool = { type: 'maxPooling2d', poolSize: 2 };
  const describe = (a: Array<Record<string, unknown>>, b: Array<Record<string, unknown>>) =>
    alignLayers(a, b).map(describeLayerChange);
  assert.deepEqual(describe([conv(6), pool, conv(16), pool], [conv(6), conv(16), pool]), [
    'maxPooling2d removed from 1 (poolSize 2)',
  ]);
  assert.deepEqual(describe([conv(6), pool], [conv(6), { type: 'averagePooling2d', poolSize: 2 }]), [
    'maxPooling2d at 1 replaced by averagePooling2d (poolSize 2)',
  ]);
  assert.deepEqual(describe([conv(6), pool, conv(16)], [{ type: 'batchNormalization' }, conv(6), pool, conv(32)]), [
    'batchNormalization inserted at 0',
    'conv2d at 3 (was 2): filters 16 -> 32',
  ]);
  // Named layers align by name: a renamed layer is a removal and an insertion, not a change.
  assert.deepEqual(describe([{ ...conv(6), name: 'a' }], [{ ...conv(8), name: 'a' }]), ['conv2d at 0: filters 6 -> 8']);
  assert.deepEqual(describe([{ ...conv(6), name: 'a' }], [{ ...conv(6), name: 'b' }]), [
    'conv2d removed from 0 (filters 6, name a)',
    'conv2d inserted at 0 (filters 6, name b)',
  ]);
});

test('diff: "best" columns are named by the metric the best epoch was chosen by; speed is not ranked with the metrics', () => {
  const r = dropoutInserted();
  assert.deepEqual(r.bestBy, { a: 'valAccuracy', b: 'testAccuracy' });
  assert.deepEqual(
    r.metrics.final.map((m) => m.metric),
    ['loss', 'accuracy', 'testLoss', 'testAccuracy', 'learningRate'],
  );
  assert.deepEqual(
    r.timing.map((m) => m.metric),
    ['seconds', 'samplesPerSecond'],
  );
  const text = formatDiff(r);
  assert.match(
    text,
    /\nmetric +final lenet\/1 +final lenet\/2 +change +rel\. +lenet\/1 at best valAccuracy +lenet\/2 at best testAccuracy +change +rel\.\n/,
  );
  assert.ok(text.includes('\nspeed (last epoch): 12.5 -> 12.5 s/epoch, 4,000 -> 4,000 samples/s\n'), text);
  assert.ok(!/\n(seconds|samplesPerSecond) /.test(text));
});
