import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { listTable, lsNotes, lsTable, resolveKey } from '../../src/runs/ls';
import { renderCsv, renderMarkdown, renderText } from '../../src/runs/table';
import { curve, lenetConfig, tempRoot, writeRun } from './fixture';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

/** A history of hand edits: each version changed one thing. */
function history() {
  const root = tempRoot();
  writeRun(root, { metrics: curve(2, 0.5) });
  writeRun(root, { metrics: curve(2, 0.55), set: { 'training.optimizer.learningRate': 0.003 } });
  writeRun(root, {
    metrics: curve(2, 0.45),
    set: { 'training.optimizer.learningRate': 0.003, 'model.layers[5].units': 64 },
  });
  writeRun(root, {
    status: 'failed',
    metrics: curve(1, 0.3),
    set: { 'training.batchSize': 128, description: 'big batch' },
  });
  return root;
}

test('ls: a history of edits reads as a sweep — only the values that changed are columns, layers as one architecture', () => {
  const root = history();
  const text = renderText(lsTable(listTable({ root, refs: ['cifar-lenet'] })));
  assert.equal(
    text,
    [
      'run            status     when          took  testAcc  arch                                 batch     lr',
      `cifar-lenet/1  completed  ${started(1)}  2m05s   0.2946  conv6-pool-conv16-pool-d120-d84-d10     32  0.001`,
      `cifar-lenet/2  completed  ${started(2)}  2m05s   0.3190  conv6-pool-conv16-pool-d120-d84-d10     32  0.003`,
      `cifar-lenet/3  completed  ${started(3)}  2m05s   0.2703  conv6-pool-conv16-pool-d64-d84-d10      32  0.003`,
      `cifar-lenet/4  failed     ${started(4)}  2m05s   0.1567  conv6-pool-conv16-pool-d120-d84-d10    128  0.001`,
    ].join('\n'),
  );
});

test('ls in an 80-column terminal: columns that do not fit are left out and named; the architecture keeps what differs', () => {
  const root = history();
  const result = listTable({ root, refs: ['cifar-lenet'], width: 80 });
  assert.equal(
    renderText(lsTable(result)),
    [
      'run            status     when          took  testAcc  arch                batch',
      `cifar-lenet/1  completed  ${started(1)}  2m05s   0.2946  …pool-d120-d84-d10     32`,
      `cifar-lenet/2  completed  ${started(2)}  2m05s   0.3190  …pool-d120-d84-d10     32`,
      `cifar-lenet/3  completed  ${started(3)}  2m05s   0.2703  …pool-d64-d84-d10      32`,
      `cifar-lenet/4  failed     ${started(4)}  2m05s   0.1567  …pool-d120-d84-d10    128`,
    ].join('\n'),
  );
  assert.deepEqual(lsNotes(result), ['1 more column did not fit: lr (--columns to choose, --all-columns for all)']);
});

/** Five experiments on three datasets, as an afternoon of trying things leaves them. */
function afternoon(): string {
  const root = tempRoot();
  const mlp = (name: string, units: number[], dataset: Record<string, unknown>) => ({
    ...lenetConfig(name),
    dataset,
    model: {
      layers: [
        { type: 'flatten' },
        ...units.map((u) => ({ type: 'dense', units: u, activation: 'relu' })),
        { type: 'dense', units: 10 },
      ],
    },
  });
  writeRun(root, { name: 'cifar-lenet', metrics: curve(2, 0.5) });
  writeRun(root, {
    name: 'cifar-lenet',
    metrics: curve(2, 0.52),
    set: { 'training.optimizer.learningRate': 0.003 },
    tags: { note: 'wider' },
  });
  writeRun(root, {
    name: 'cifar-wide',
    metrics: curve(2, 0.55),
    set: { 'model.layers[0].filters': 32, 'model.layers[2].filters': 64, 'dataset.validationSplit': 0.1 },
  });
  writeRun(root, {
    name: 'fashion-mlp',
    metrics: curve(2, 0.8),
    config: mlp('fashion-mlp', [256, 128], {
      name: 'fashionMnist',
      scale: [0, 1],
      validationSplit: 0.1,
      limit: { train: 500 },
    }),
  });
  writeRun(root, {
    name: 'mnist-mlp',
    metrics: curve(2, 0.9),
    config: mlp('mnist-mlp', [128], { name: 'mnist', scale: [0, 1], validationSplit: 0 }),
  });
  writeRun(root, {
    name: 'pets',
    status: 'failed',
    metrics: [],
    config: { ...lenetConfig('pets'), dataset: { name: 'imageFolder', path: 'data/pets', imageSize: [32, 32] } },
  });
  return root;
}

test('ls with no arguments over five experiments fits 80 columns (it printed ~150 dotted keys)', () => {
  const root = afternoon();
  const all = listTable({ root });
  assert.ok(all.columns.length >= 10, `without a width every differing group is a column (${all.columns.length})`);
  const result = listTable({ root, width: 80 });
  const text = renderText(lsTable(result));
  assert.equal(
    text,
    [
      'run            status     when          took  testAcc  tags        arch',
      `cifar-lenet/1  completed  ${started(1)}  2m05s   0.2946  —           conv6-pool-c…`,
      `cifar-lenet/2  completed  ${started(2)}  2m05s   0.3044  note=wider  conv6-pool-c…`,
      `cifar-wide/1   completed  ${started(1)}  2m05s   0.3190  —           conv32-pool-…`,
      `fashion-mlp/1  completed  ${started(1)}  2m05s   0.4406  —           d256-d128-d10`,
      `mnist-mlp/1    completed  ${started(1)}  2m05s   0.4893  —           d128-d10`,
      `pets/1         failed     ${started(1)}  2m05s        —  —           conv6-pool-c…`,
    ].join('\n'),
  );
  for (const line of text.split('\n')) assert.ok([...line].length <= 80, line);
  assert.deepEqual(lsNotes(result), [
    '7 more columns did not fit: data, valSplit, scale, limit.train, path, imageSize, lr (--columns to choose, --all-columns for all)',
  ]);
});

test('ls --columns chooses exactly (headers, metrics, tags, dotted keys); unknown names get a suggestion', () => {
  const root = afternoon();
  const pick = (columns: string[], refs?: string[]) => renderText(lsTable(listTable({ root, refs, columns })));
  assert.equal(
    pick(['run', 'lr', 'batch', 'best.testAccuracy', 'tag.note', 'dataset.name'], ['cifar-lenet', 'mnist-mlp']),
    [
      'run               lr  batch  best testAcc  tag note  data',
      'cifar-lenet/1  0.001     32        0.2946  —         cifar10',
      'cifar-lenet/2  0.003     32        0.3044  wider     cifar10',
      'mnist-mlp/1    0.001     32        0.4893  —         mnist',
    ].join('\n'),
  );
  assert.equal(
    pick(['run', 'arch', 'model.layers[0].filters'], ['cifar-wide']),
    [
      'run           arch                                  model.layers[0].filters',
      'cifar-wide/1  conv32-pool-conv64-pool-d120-d84-d10                       32',
    ].join('\n'),
  );
  assert.throws(() => pick(['run', 'learningrat']), {
    message: 'no column or config key "learningrat"; did you mean "training.optimizer.learningRate"?',
  });
});

test('ls --filter and --tag select runs; the columns then show what differs among those', () => {
  const root = afternoon();
  const runs = (o: { filters?: string[]; tags?: string[] }) => listTable({ root, ...o }).rows.map((r) => r.run);
  assert.deepEqual(runs({ filters: ['status=failed'] }), ['pets/1']);
  assert.deepEqual(runs({ filters: ['status!=completed'] }), ['pets/1']);
  assert.deepEqual(runs({ filters: ['lr=3e-3'] }), ['cifar-lenet/2']);
  assert.deepEqual(runs({ filters: ['data=cifar10', 'valSplit=0.1'] }), ['cifar-wide/1']);
  assert.deepEqual(runs({ filters: ['dataset.name=mnist'] }), ['mnist-mlp/1']);
  assert.deepEqual(runs({ tags: ['note=wider'] }), ['cifar-lenet/2']);
  assert.deepEqual(runs({ tags: ['note'] }), ['cifar-lenet/2']);
  assert.deepEqual(runs({ tags: ['note=narrow'] }), []);
  const lenet = listTable({ root, refs: ['cifar-lenet'] });
  assert.deepEqual(
    lenet.columns.map((c) => c.header),
    ['run', 'status', 'when', 'took', 'testAcc', 'tags', 'lr'],
  );
  assert.throws(() => runs({ filters: ['lr'] }), {
    message: '--filter lr: expected key=value or key!=value, e.g. --filter status=completed',
  });
});

/** The fixture starts version v at 12:0v UTC; the table shows local time. */
function started(v: number): string {
  const d = new Date(Date.UTC(2025, 0, 1, 12, v, 0));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

test('ls --sort: columns, config keys, unique last parts, descending, missing last', () => {
  const root = history();
  writeRun(root, {
    status: 'running',
    metrics: [],
    summary: false,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  const order = (sort: string) => listTable({ root, sort }).rows.map((r) => r.version);
  assert.deepEqual(order('testAccuracy'), [4, 3, 1, 2, 5]);
  assert.deepEqual(order('testAccuracy:desc'), [2, 1, 3, 4, 5]);
  assert.deepEqual(order('-testAccuracy'), [2, 1, 3, 4, 5]);
  assert.deepEqual(order('-learningRate'), [2, 3, 1, 4, 5]);
  assert.deepEqual(order('training.batchSize:desc'), [4, 1, 2, 3, 5]);
  assert.deepEqual(order('status'), [1, 2, 3, 4, 5]);
  // A config key that is the same everywhere still sorts (stable).
  assert.deepEqual(order('training.epochs'), [1, 2, 3, 4, 5]);
  assert.throws(() => order('lerningRate'), {
    message: 'no column or config key "lerningRate"; did you mean "training.optimizer.learningRate"?',
  });
  assert.throws(() => order('units'), {
    message: '"units" is ambiguous: model.layers[5].units, model.layers[6].units, model.layers[7].units',
  });
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
    ['run', 'status', 'started', 'duration', 'testAccuracy', 'training.optimizer.learningRate'],
  );
  const md = renderMarkdown(lsTable(result)).split('\n');
  assert.equal(md[0], '| run | status | when | took | testAcc | lr |');
  assert.equal(md[1], '| --- | --- | --- | ---: | ---: | ---: |');
  assert.equal(md.length, 4);
  const csv = renderCsv(lsTable(result, { csv: true })).split('\n');
  assert.equal(csv[1], `cifar-lenet/1,completed,2025-01-01T12:01:00.000Z,125,${curve(2, 0.5)[1].testAccuracy},0.001`);
});

test('ls: metric columns nobody has are dropped; --all-columns shows every key', () => {
  const root = tempRoot();
  const rows = curve(2).map(({ epoch, loss, testLoss }) => ({ epoch, loss, testLoss }));
  writeRun(root, { name: 'reg', metrics: rows, mainMetric: { name: 'testLoss', goal: 'min' } });
  const cols = listTable({ root }).columns.map((c) => c.key);
  assert.deepEqual(cols, ['run', 'status', 'started', 'duration', 'testLoss']);
  const all = listTable({ root, allColumns: true }).columns.map((c) => c.key);
  assert.ok(
    all.includes('epochs') &&
      all.includes('loss') &&
      all.includes('training.optimizer.learningRate') &&
      all.includes('model.layers[7].units'),
  );
  assert.ok(!all.includes('name'));
});

test('pipeline ls (CLI): --json parses, unknown experiment exits 2 with a suggestion', () => {
  const root = history();
  const ok = spawnSync(process.execPath, [BIN, 'ls', '--runs-dir', root, '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const rows = JSON.parse(ok.stdout);
  assert.equal(rows.length, 4);
  assert.equal(rows[1].run, 'cifar-lenet/2');
  assert.deepEqual(rows[1].config, {
    'model.layers[5].units': 120,
    'training.batchSize': 32,
    'training.optimizer.learningRate': 0.003,
  });
  assert.equal(rows[3].status, 'failed');

  const bad = spawnSync(process.execPath, [BIN, 'ls', '--runs-dir', root, 'cifar-lent'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, `error: no experiment "cifar-lent" in ${root}; did you mean "cifar-lenet"?\n`);
  assert.equal(bad.stdout, '');
});

test('ls after inserting a dropout layer: one arch column, not a dozen shifted model.layers[i] keys', () => {
  const root = tempRoot();
  writeRun(root, { name: 'lenet', metrics: curve(2, 0.5) });
  const config = lenetConfig('lenet');
  (config.model as { layers: unknown[] }).layers.splice(7, 0, { type: 'dropout', rate: 0.5 });
  writeRun(root, { name: 'lenet', metrics: curve(2, 0.5), config });
  const result = listTable({ root, refs: ['lenet'] });
  assert.deepEqual(
    result.columns.map((c) => c.key),
    ['run', 'status', 'started', 'duration', 'testAccuracy', 'arch'],
  );
  assert.deepEqual(
    result.rows.map((r) => r.arch),
    ['conv6-pool-conv16-pool-d120-d84-d10', 'conv6-pool-conv16-pool-d120-d84-drop0.5-d10'],
  );
  // --json keeps the layer keys that differ, for scripts.
  assert.deepEqual(result.rows[0].config, { 'model.layers[7].type': 'dense', 'model.layers[7].units': 10 });
  assert.deepEqual(result.rows[1].config, {
    'model.layers[7].type': 'dropout',
    'model.layers[7].rate': 0.5,
    'model.layers[8].type': 'dense',
    'model.layers[8].units': 10,
  });
});

test('pipeline ls (CLI): COLUMNS=80 fits, tags show, and the notes go to stderr', () => {
  const root = tempRoot();
  writeRun(root, { metrics: curve(2, 0.5) });
  writeRun(root, {
    metrics: curve(2, 0.55),
    set: { 'training.optimizer.learningRate': 0.003, 'training.batchSize': 64, 'training.epochs': 20 },
    tags: { note: 'wider' },
  });
  const r = spawnSync(process.execPath, [BIN, 'ls', '--runs-dir', root], {
    encoding: 'utf8',
    env: { ...process.env, COLUMNS: '80' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'run            status     when          took  testAcc  tags        epochs  batch',
      `cifar-lenet/1  completed  ${started(1)}  2m05s   0.2946  —               10     32`,
      `cifar-lenet/2  completed  ${started(2)}  2m05s   0.3190  note=wider      20     64`,
      '',
    ].join('\n'),
  );
  assert.equal(r.stderr, '1 more column did not fit: lr (--columns to choose, --all-columns for all)\n');
});
