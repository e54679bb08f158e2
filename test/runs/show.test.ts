import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { resolveRun } from '../../src/runs/refs';
import { configYaml, formatShow, metricColumns, showReport } from '../../src/runs/show';
import { curve, tempRoot, writeRun } from './fixture';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

test('show: meta, resolved config as YAML, per-epoch table, final and best', () => {
  const root = tempRoot();
  const metrics = curve(3, 0.6);
  metrics[2].testAccuracy = 0.2; // the best epoch is 2, not the last
  writeRun(root, {
    metrics,
    set: { 'training.optimizer.learningRate': 0.003 },
    tags: { sweep: 'cifar-lenet/sweeps/1', trial: 2 },
  });
  const report = showReport(resolveRun('cifar-lenet/1', root));
  assert.equal(report.status, 'completed');
  assert.deepEqual(report.overrides, ['training.optimizer.learningRate=0.003']);
  assert.equal(report.final?.epoch, 3);
  assert.equal(report.best?.epoch, 2);
  const text = formatShow(report);
  const lines = text.split('\n');
  assert.equal(lines[0], `run        cifar-lenet/1  (${path.join(root, 'cifar-lenet', '1')})`);
  assert.equal(lines[1], 'status     completed');
  assert.ok(lines.includes('overrides  training.optimizer.learningRate=0.003'));
  assert.ok(lines.includes('tags       sweep=cifar-lenet/sweeps/1 trial=2'));
  assert.ok(lines.includes('    scale: [0, 1]'), 'scalar lists on one line');
  assert.ok(lines.includes('      learningRate: 0.003'));
  assert.ok(lines.includes('  epoch    loss  accuracy  testLoss  testAccuracy  learningRate  seconds  samples/s'));
  assert.ok(lines.includes('      2  2.1950    0.3833    2.2950        0.3433         0.001     12.5      4,000'));
  assert.ok(
    lines.includes(
      'best       epoch 2, loss 2.1950, accuracy 0.3833, testLoss 2.2950, testAccuracy 0.3433  (by testAccuracy)',
    ),
    text,
  );
});

test('show: a crashed run says why; a run without metrics says so', () => {
  const root = tempRoot();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  writeRun(root, { status: 'running', pid: dead, metrics: [], summary: false });
  const text = formatShow(showReport(resolveRun('cifar-lenet/1', root)));
  assert.ok(text.includes(`status     crashed (meta.json says running, but process ${dead} is gone)\n`));
  assert.ok(text.includes('metrics (0 epochs):\n  (none recorded)\n'));
  assert.ok(text.includes('final      —\nbest       —\n'));
});

test('metricColumns: fixed order first, then extra metrics', () => {
  assert.deepEqual(metricColumns([{ epoch: 1, testAccuracy: 1, auc: 1, loss: 1, valAuc: 1 }]), [
    'epoch',
    'loss',
    'testAccuracy',
    'auc',
    'valAuc',
  ]);
});

test('configYaml keeps lists of mappings in block style', () => {
  assert.equal(configYaml({ a: [1, 2], b: [{ c: 1 }] }), 'a: [1, 2]\nb:\n  - c: 1\n');
});

test('pipeline show (CLI): --json parses', () => {
  const root = tempRoot();
  writeRun(root, {});
  const r = spawnSync(process.execPath, [BIN, 'show', 'cifar-lenet/latest', '--runs-dir', root, '--json'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.run, 'cifar-lenet/1');
  assert.equal(j.metrics.length, 3);
  assert.equal(j.resolved.training.batchSize, 32);
});
