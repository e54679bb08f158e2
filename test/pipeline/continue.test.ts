/**
 * Using what a run chose and training further, through bin/pipeline.js on a generated PNG
 * image folder: checkpoint references (@best, @epoch-N, the folder itself), extending a
 * completed run in place, warm starts from another run's weights, and the data checks
 * that run before a run folder exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readWeights } from '../../src/pipeline/snapshot';
import { metricsWithoutTimings, readJson, tempDir, tinyExperiment, writeExperiment, writePngDataset } from './helpers';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');
const work = tempDir();
const data = writePngDataset(path.join(work, 'data'), { train: 96, test: 48 });
const runs = path.join(work, 'runs');
const env = { ...process.env, PIPELINE_CACHE_DIR: path.join(work, 'cache'), PIPELINE_RUNS_DIR: runs };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pipeline(args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const lastLine = (s: string) => s.trim().split('\n').pop()!;
const file = (text: string, name = 'tiny.yaml') => writeExperiment(tempDir(), text, name);
const base = (o: Parameters<typeof tinyExperiment>[0] = {}) =>
  tinyExperiment({ dataPath: data, extra: '  checkpoints: {every: 1}', ...o });

/** The first run every test here builds on: 2 epochs, a checkpoint each epoch. */
const first = (async () => {
  const r = await pipeline(['run', file(base({ epochs: 2 })), '--backend', 'wasm', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(lastLine(r.stdout)) as { runDir: string; best: Record<string, number> };
})();

test('checkpoint references: NAME/V@best, @epoch-N and the checkpoint folder evaluate that checkpoint', async () => {
  const { runDir } = await first;
  const rows = metricsWithoutTimings(runDir);
  const summary = readJson(path.join(runDir, 'summary.json'));
  const cases: Array<[string, string, number]> = [
    ['tiny/1@best', 'tiny/1@best', summary.best.testAccuracy],
    ['tiny/1@epoch-1', 'tiny/1@epoch-1', rows[0].testAccuracy],
    [path.join(runDir, 'checkpoints', 'epoch-0001'), 'tiny/1@epoch-1', rows[0].testAccuracy],
    [path.join(runDir, 'checkpoints', 'best') + '/', 'tiny/1@best', summary.best.testAccuracy],
    ['tiny/latest@last', 'tiny/1@last', rows[1].testAccuracy],
  ];
  for (const [ref, label, accuracy] of cases) {
    const e = await pipeline(['eval', ref, '--backend', 'wasm', '--json']);
    assert.equal(e.code, 0, `${ref}: ${e.stderr}`);
    const report = JSON.parse(lastLine(e.stdout));
    assert.equal(report.run, label, ref);
    assert.equal(report.accuracy, accuracy, ref);
  }
  const show = await pipeline(['show', 'tiny/1@best']);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^run +tiny\/1 /);

  const errors: Array<[string, string]> = [
    ['tiny/1@epoch-7', 'error: tiny/1 has no checkpoint "epoch-7"; it has @best, @last, @epoch-1, @epoch-2\n'],
    [
      'tiny/1@bset',
      'error: "@bset" in "tiny/1@bset" is not a checkpoint: use @best, @last or @epoch-N; did you mean "best"?\n',
    ],
  ];
  for (const [ref, stderr] of errors) {
    const e = await pipeline(['eval', ref]);
    assert.equal(e.code, 2);
    assert.equal(e.stderr, stderr);
  }
});

test('run --resume RUN --set training.epochs=N extends a completed run in place, as if it had been started with N', async () => {
  await first;
  // A copy, so the other tests keep their 2-epoch run.
  const r = await pipeline(['run', file(base({ epochs: 2, name: 'ext' })), '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = path.join(runs, 'ext', '1');

  const refused = await pipeline(['run', '--resume', 'ext/1']);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    'error: cannot resume ext/1: it is completed; to train it further, give it more epochs: pipeline run --resume ext/1 --set training.epochs=N\n',
  );

  const extended = await pipeline(['run', '--resume', 'ext/1', '--set', 'training.epochs=3']);
  assert.equal(extended.code, 0, extended.stderr);
  assert.equal(lastLine(extended.stdout), `completed: ${runDir}`);
  const meta = readJson(path.join(runDir, 'meta.json'));
  assert.equal(meta.status, 'completed');
  assert.equal(meta.extensions.length, 1);
  assert.deepEqual(
    { ...meta.extensions[0], at: undefined },
    { at: undefined, fromEpochs: 2, toEpochs: 3, epochsDone: 2, previousStatus: 'completed' },
  );
  assert.deepEqual(readJson(path.join(runDir, 'overrides.json')), ['training.epochs=3']);
  assert.equal(readJson(path.join(runDir, 'resolved.json')).training.epochs, 3);
  const show = await pipeline(['show', 'ext/1']);
  assert.match(show.stdout, /^extended {3}2 -> 3 epochs \(\d{4}-\d\d-\d\d \d\d:\d\d\)$/m);

  // The same numbers as a run started with 3 epochs: the metrics continue, nothing restarts.
  const straight = await pipeline([
    'run',
    file(base({ epochs: 2, name: 'ext' })),
    '--set',
    'training.epochs=3',
    '--backend',
    'wasm',
  ]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.deepEqual(metricsWithoutTimings(runDir), metricsWithoutTimings(path.join(runs, 'ext', '2')));
  assert.equal(meta.configHash, readJson(path.join(runs, 'ext', '2', 'meta.json')).configHash);

  const errors: Array<[string[], string]> = [
    [
      ['--set', 'training.epochs=3'],
      'error: cannot extend ext/1 to 3 epochs: it has trained 3 already; training.epochs must be more than that\n',
    ],
    [
      ['--set', 'training.batchSize=8'],
      'error: --resume takes only --set training.epochs=N (to train the run further); --set training.batchSize=8 would make a different run: start a new one, or warm-start it with model.init\n',
    ],
  ];
  for (const [args, stderr] of errors) {
    const e = await pipeline(['run', '--resume', 'ext/1', ...args]);
    assert.equal(e.code, 2);
    assert.equal(e.stderr, stderr);
  }
});

test('model.init warm-starts the named layers from another run; wrong layers or shapes stop it at the line, before a run folder', async () => {
  const { runDir } = await first;
  const init = (from: string, layers: string) => `  init: {from: ${from}, layers: [${layers}]}\n  layers:`;
  const warm = base({ name: 'warm', epochs: 1, optimizer: '{type: sgd, learningRate: 1e-30}' }).replace(
    '  layers:',
    init('tiny/1@best', 'conv2d_1'),
  );
  const r = await pipeline(['run', file(warm), '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const meta = readJson(path.join(runs, 'warm', '1', 'meta.json'));
  assert.deepEqual(meta.init, {
    from: 'tiny/1@best',
    dir: path.join(runDir, 'checkpoints', 'best'),
    layers: ['conv2d_1'],
  });
  assert.match((await pipeline(['show', 'warm/1'])).stdout, /^warm start from tiny\/1@best: conv2d_1$/m);
  // Learning rate 1e-30 is below float32 resolution: the final weights are the starting ones. conv2d_1 came from tiny/1, dense_1 is this run's own.
  const source = readWeights(tf, path.join(runDir, 'checkpoints', 'best'));
  const mine = readWeights(tf, path.join(runs, 'warm', '1', 'model'));
  assert.deepEqual(Array.from(mine['conv2d_1/kernel'].dataSync()), Array.from(source['conv2d_1/kernel'].dataSync()));
  assert.deepEqual(Array.from(mine['conv2d_1/bias'].dataSync()), Array.from(source['conv2d_1/bias'].dataSync()));
  assert.notDeepEqual(Array.from(mine['dense_1/kernel'].dataSync()), Array.from(source['dense_1/kernel'].dataSync()));
  tf.dispose([...Object.values(source), ...Object.values(mine)]);

  const wider = base({
    name: 'wide',
    layers: ['{type: conv2d, filters: 8, kernelSize: 3}', '{type: flatten}', '{type: dense, units: 4}'],
  }).replace('  layers:', init('tiny/1@best', 'conv2d_1, dense_9'));
  const bad = await pipeline(['run', file(wider, 'wide.yaml'), '--backend', 'wasm']);
  assert.equal(bad.code, 2);
  const at = bad.stderr
    .split('\n')
    .filter((l) => /^\S+wide\.yaml:/.test(l))
    .map((l) => l.slice(l.indexOf('wide.yaml:')));
  assert.deepEqual(at, [
    "wide.yaml:11:38: model.init.layers[0]: conv2d_1: this model's weights are kernel [3, 3, 3, 8], bias [8], tiny/1@best's are kernel [3, 3, 3, 4], bias [4]; copy only layers of the same shape",
    'wide.yaml:11:48: model.init.layers[1]: no layer "dense_9" in this model; did you mean "dense_1"?; its layers with weights: conv2d_1, dense_1',
  ]);
  const missing = await pipeline([
    'run',
    file(warm.replace('tiny/1@best', 'tiny/9'), 'gone.yaml'),
    '--backend',
    'wasm',
  ]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /gone\.yaml:11:16: model\.init\.from: no run tiny\/9: tiny has versions? 1/);
  assert.ok(!fs.existsSync(path.join(runs, 'wide')), 'no run folder for a warm start that cannot work');
});

test('data checks before the run folder: class count and image size against the model (validate --data, run); a missing class folder warns', async () => {
  // No dataset.classes and no dataset.imageSize: only the folder knows 4 classes of 8x8 images.
  const open = base({ name: 'open' })
    .replace(/ {2}classes: .*\n/, '')
    .replace(/ {2}imageSize: .*\n/, '');
  const f = file(open, 'open.yaml');
  const head = `--set model.layers[4].units=3: model.layers[4].units: the model outputs [3] but imageFolder has 4 classes, so it must output [4]: the last layer needs 4 units (${data}/train has 4 classes of 8x8x3 images)\n1 error\n`;
  const fine = await pipeline(['validate', f, '--data']);
  assert.equal(
    fine.stdout,
    `${f}: ok (open: 5 layers, 260 parameters; the data matches: 4 classes, 8x8x3 images)\n`,
    'with --data the input shape is known',
  );
  const plain = await pipeline(['validate', f, '--set', 'model.layers[4].units=3']);
  assert.equal(plain.code, 0, 'without --data the file alone is valid');
  const checked = await pipeline(['validate', f, '--set', 'model.layers[4].units=3', '--data']);
  assert.equal(checked.code, 2);
  assert.equal(checked.stderr, head);
  const run = await pipeline(['run', f, '--set', 'model.layers[4].units=3', '--backend', 'wasm']);
  assert.equal(run.code, 2);
  assert.equal(run.stderr, head);
  const big = await pipeline([
    'run',
    file(open.replace('kernelSize: 3', 'kernelSize: 9'), 'big.yaml'),
    '--backend',
    'wasm',
  ]);
  assert.equal(big.code, 2);
  assert.match(
    big.stderr,
    /big\.yaml:10:46: model\.layers\[0\]\.kernelSize: conv2d turns input \[8, 8, 3\] into \[0, 0, 4\]: every dimension must be at least 1 \(layer 0, conv2d\) \(.*\/train has 4 classes of 8x8x3 images\)\n/,
  );
  assert.ok(!fs.existsSync(path.join(runs, 'open')), 'no failed run folder');

  // test/south-east/ missing: data, validate --data and run say so.
  const partial = path.join(work, 'partial');
  fs.cpSync(data, partial, { recursive: true });
  fs.rmSync(path.join(partial, 'test', 'south-east'), { recursive: true });
  const p = file(base({ name: 'partial', dataPath: partial, epochs: 1 }), 'partial.yaml');
  const warning =
    'the test split has no examples of class "south-east" (a missing or empty test/south-east/ folder?); its test metrics say nothing about that class';
  const d = await pipeline(['data', p, '--json']);
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(JSON.parse(d.stdout).warnings, [warning]);
  assert.ok(d.stderr.includes(`warning: ${warning}\n`), d.stderr);
  const v = await pipeline(['validate', p, '--data']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(
    v.stderr,
    `warning: ${partial}/test: no images of class "south-east" (a missing or empty folder): the test split has no examples of it\n`,
  );
  const r = await pipeline(['run', p, '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const warned = fs
    .readFileSync(path.join(runs, 'partial', '1', 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.level === 40)
    .map((l) => l.msg);
  assert.ok(warned.includes(warning), warned.join('\n'));

  // An empty test/<class>/ folder is the same: a warning, not an error (an empty train/ one stays an error).
  fs.mkdirSync(path.join(partial, 'test', 'south-east'));
  const empty = await pipeline(['data', p, '--json']);
  assert.equal(empty.code, 0, empty.stderr);
  assert.deepEqual(JSON.parse(empty.stdout).warnings, [warning]);
});
