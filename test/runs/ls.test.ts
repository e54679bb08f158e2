import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { listTable, lsTable, resolveKey } from '../../src/runs/ls';
import { renderCsv, renderMarkdown, renderText } from '../../src/runs/table';
import { curve, tempRoot, writeRun } from './fixture';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

/** A history of hand edits: each version changed one thing. */
function history() {
  const root = tempRoot();
  writeRun(root, { metrics: curve(2, 0.50) });
  writeRun(root, { metrics: curve(2, 0.55), set: { 'training.optimizer.learningRate': 0.003 } });
  writeRun(root, { metrics: curve(2, 0.45), set: { 'training.optimizer.learningRate': 0.003, 'model.layers[5].units': 64 } });
  writeRun(root, { status: 'failed', metrics: curve(1, 0.3), set: { 'training.batchSize': 128, description: 'big batch' } });
  return root;
}

test('ls: a history of edits reads as a sweep — only the values that changed are columns', () => {
  const root = history();
  const text = renderText(lsTable(listTable({ root, refs: ['cifar-lenet'] })));
  assert.equal(
    text,
    [
      'run            status     started           duration  backend  testAccuracy  best testAccuracy  testLoss  best testLoss  model.layers[5].units  training.batchSize  training.optimizer.learningRate',
      'cifar-lenet/1  completed  ' + started(1) + '     2m05s  wasm           0.2946             0.2946    2.2950         2.2950                    120                  32                            0.001',
      'cifar-lenet/2  completed  ' + started(2) + '     2m05s  wasm           0.3190             0.3190    2.2950         2.2950                    120                  32                            0.003',
      'cifar-lenet/3  completed  ' + started(3) + '     2m05s  wasm           0.2703             0.2703    2.2950         2.2950                     64                  32                            0.003',
      'cifar-lenet/4  failed     ' + started(4) + '     2m05s  wasm           0.1567             0.1567    2.6912         2.6912                    120                 128                            0.001',
    ].join('\n'),
  );
});

/** The fixture starts version v at 12:0v UTC; the table shows local time. */
function started(v: number): string {
  const d = new Date(Date.UTC(2025, 0, 1, 12, v, 0));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

test('ls --sort: columns, config keys, unique last parts, descending, missing last', () => {
  const root = history();
  writeRun(root, { status: 'running', metrics: [], summary: false, pid: process.pid, startedAt: new Date().toISOString() });
  const order = (sort: string) => listTable({ root, sort }).rows.map((r) => r.version);
  assert.deepEqual(order('testAccuracy'), [4, 3, 1, 2, 5]);
  assert.deepEqual(order('testAccuracy:desc'), [2, 1, 3, 4, 5]);
  assert.deepEqual(order('-testAccuracy'), [2, 1, 3, 4, 5]);
  assert.deepEqual(order('-learningRate'), [2, 3, 1, 4, 5]);
  assert.deepEqual(order('training.batchSize:desc'), [4, 1, 2, 3, 5]);
  assert.deepEqual(order('status'), [1, 2, 3, 4, 5]);
  // A config key that is the same everywhere still sorts (stable).
  assert.deepEqual(order('training.epochs'), [1, 2, 3, 4, 5]);
  assert.throws(() => order('lerningRate'), { message: 'no column or config key "lerningRate"; did you mean "training.optimizer.learningRate"?' });
  assert.throws(() => order('units'), { message: '"units" is ambiguous: model.layers[5].units, model.layers[6].units, model.layers[7].units' });
});

test('resolveKey', () => {
  assert.equal(resolveKey('batchSize', ['training.batchSize', 'run']), 'training.batchSize');
  assert.equal(resolveKey('run', ['training.batchSize', 'run']), 'run');
  assert.throws(() => resolveKey('qqq', ['run']), { message: 'no column or config key "qqq"' });
});

test('ls --md and --csv render the same rows', () => {
  const root = history();
  const result = listTable({ root, refs: ['cifar-lenet/1', 'cifar-lenet/2'] });
  assert.deepEqual(
    result.columns.map((c) => c.key),
    ['run', 'status', 'started', 'duration', 'backend', 'testAccuracy', 'best.testAccuracy', 'testLoss', 'best.testLoss', 'training.optimizer.learningRate'],
  );
  const md = renderMarkdown(lsTable(result)).split('\n');
  assert.equal(md[0], '| run | status | started | duration | backend | testAccuracy | best testAccuracy | testLoss | best testLoss | training.optimizer.learningRate |');
  assert.equal(md[1], '| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  assert.equal(md.length, 4);
  const csv = renderCsv(lsTable(result, { csv: true })).split('\n');
  assert.equal(csv[1], `cifar-lenet/1,completed,2025-01-01T12:01:00.000Z,125,wasm,${curve(2, 0.5)[1].testAccuracy},${curve(2, 0.5)[1].testAccuracy},${curve(2, 0.5)[1].testLoss},${curve(2, 0.5)[1].testLoss},0.001`);
});

test('ls: metric columns nobody has are dropped; --all-columns shows every key', () => {
  const root = tempRoot();
  const rows = curve(2).map(({ epoch, loss, testLoss }) => ({ epoch, loss, testLoss }));
  writeRun(root, { name: 'reg', metrics: rows, mainMetric: { name: 'testLoss', goal: 'min' } });
  const cols = listTable({ root }).columns.map((c) => c.key);
  assert.deepEqual(cols, ['run', 'status', 'started', 'duration', 'backend', 'testLoss', 'best.testLoss']);
  const all = listTable({ root, allColumns: true }).columns.map((c) => c.key);
  assert.ok(all.includes('epochs') && all.includes('loss') && all.includes('training.optimizer.learningRate') && all.includes('model.layers[7].units'));
  assert.ok(!all.includes('name'));
});

test('pipeline ls (CLI): --json parses, unknown experiment exits 2 with a suggestion', () => {
  const root = history();
  const ok = spawnSync(process.execPath, [BIN, 'ls', '--runs-dir', root, '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const rows = JSON.parse(ok.stdout);
  assert.equal(rows.length, 4);
  assert.equal(rows[1].run, 'cifar-lenet/2');
  assert.deepEqual(rows[1].config, { 'model.layers[5].units': 120, 'training.batchSize': 32, 'training.optimizer.learningRate': 0.003 });
  assert.equal(rows[3].status, 'failed');

  const bad = spawnSync(process.execPath, [BIN, 'ls', '--runs-dir', root, 'cifar-lent'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, `error: no experiment "cifar-lent" in ${root}; did you mean "cifar-lenet"?\n`);
  assert.equal(bad.stdout, '');
});
