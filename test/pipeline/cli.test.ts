/**
 * `pipeline run` and `pipeline eval` through bin/pipeline.js, on a generated PNG image
 * folder: stdout contract, exit codes (0, 1 failed/diverged, 2 usage/config, 130 interrupt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, tempDir, tinyExperiment, writeExperiment, writePngDataset } from './helpers';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');
const work = tempDir();
const data = writePngDataset(path.join(work, 'data'), { train: 128, test: 64 });
const env = {
  ...process.env,
  PIPELINE_CACHE_DIR: path.join(work, 'cache'),
  PIPELINE_RUNS_DIR: path.join(work, 'runs-env'),
};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pipeline(args: string[], onStart?: (child: ChildProcess) => void): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  onStart?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const lastLine = (s: string) => s.trim().split('\n').pop()!;
const experiment = (o: Parameters<typeof tinyExperiment>[0] = {}) =>
  writeExperiment(tempDir(), tinyExperiment({ dataPath: data, ...o }));

test('run --json: last stdout line is {runDir, status, metrics, best}; eval reproduces testAccuracy', async () => {
  const runs = path.join(work, 'runs-ok');
  const r = await pipeline([
    'run',
    experiment({ epochs: 2 }),
    '--runs-dir',
    runs,
    '--backend',
    'wasm',
    '--json',
    '--tag',
    'sweep=s1',
    '--tag',
    'trial=3',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(lastLine(r.stdout));
  assert.deepEqual(Object.keys(out), ['runDir', 'status', 'metrics', 'best']);
  assert.equal(out.runDir, path.join(runs, 'tiny', '1'));
  assert.equal(out.status, 'completed');
  assert.equal(out.metrics.epoch, 2);
  assert.deepEqual(out.metrics, readJson(path.join(out.runDir, 'summary.json')).final);
  const meta = readJson(path.join(out.runDir, 'meta.json'));
  assert.deepEqual(meta.tags, { sweep: 's1', trial: 3 });
  assert.deepEqual(meta.command.slice(0, 2), ['pipeline', 'run']);
  assert.equal(meta.dataset.counts.train, 128);
  assert.match(
    r.stderr,
    /epoch 2\/2  loss \d\.\d{4}  accuracy \d\.\d{4}  testLoss \d\.\d{4}  testAccuracy \d\.\d{4}  learningRate 0\.01  \d+\.\ds  [\d,]+ samples\/s/,
  );

  const e = await pipeline(['eval', 'tiny/1', '--runs-dir', runs, '--backend', 'wasm', '--json']);
  assert.equal(e.code, 0, e.stderr);
  const report = JSON.parse(lastLine(e.stdout));
  assert.equal(report.accuracy, out.metrics.testAccuracy);
  assert.ok(Math.abs(report.loss - out.metrics.testLoss) < 1e-6, `${report.loss} vs ${out.metrics.testLoss}`);
  assert.equal(report.dataset.examples, 64);
  assert.deepEqual(report.classes, ['north-west', 'north-east', 'south-west', 'south-east']);
  assert.equal(
    report.confusion.flat().reduce((a: number, b: number) => a + b, 0),
    64,
  );
  assert.equal(
    report.perClass.reduce((a: number, c: { correct: number }) => a + c.correct, 0),
    Math.round(report.accuracy * 64),
  );

  const text = await pipeline([
    'eval',
    path.join(runs, 'tiny', '1'),
    '--backend',
    'wasm',
    '--set',
    'dataset.limit.test=20',
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^tiny\/1 on imageFolder test \(20 examples\), model .*model, backend wasm\nloss \d\.\d{4}  accuracy \d\.\d{4}\n\nclass       examples  correct  accuracy\nnorth-west  /,
  );
  const matrix = text.stdout.slice(text.stdout.indexOf('confusion matrix'));
  assert.match(
    matrix,
    /^confusion matrix \(rows: true class, columns: predicted class\)\n {16}0    1    2    3\n0 north-west +\d+ +\d+ +\d+ +\d+\n1 north-east +\d/,
  );

  const bad = await pipeline(['eval', 'tiny/1', '--runs-dir', runs, '--set', 'training.epochs=3']);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    'error: --set training.epochs=3: eval can only change dataset.* (the model and training are fixed by the run)\n',
  );
});

test('without --json the last stdout line names the run folder; PIPELINE_RUNS_DIR is the default root', async () => {
  const r = await pipeline(['run', experiment({ epochs: 1 }), '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastLine(r.stdout), `completed: ${path.join(work, 'runs-env', 'tiny', '1')}`);
});

test('exit 2 for a bad config, usage mistakes and an unknown backend, before any run folder exists', async () => {
  const runs = path.join(work, 'runs-bad');
  const cases: Array<[string[], RegExp]> = [
    [['run', experiment({ batchSize: 0 }), '--runs-dir', runs], /training\.batchSize/],
    [['run', '--runs-dir', runs], /^error: pipeline run needs an experiment file/],
    [
      ['run', experiment(), '--runs-dir', runs, '--backend', 'gpu'],
      /^error: unknown backend 'gpu': expected one of auto, tensorflow, wasm, cpu/,
    ],
    [
      ['run', experiment(), '--runs-dir', runs, '--workers', '0'],
      /^error: --workers 0: expected auto or an integer from 1 to 64/,
    ],
    [['run', experiment(), '--runs-dir', runs, '--tag', 'oops'], /^error: --tag oops: expected key=value/],
    [['run', experiment(), '--runs-dir', runs, '--set', 'training.epochz=3'], /training\.epochz/],
  ];
  for (const [args, message] of cases) {
    const r = await pipeline(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  assert.equal(fs.existsSync(runs), false, 'no run folder for a request that was never valid');
});

test('exit 1 for a failed run (missing data) and a diverged one, both recorded', async () => {
  const runs = path.join(work, 'runs-fail');
  const missing = await pipeline([
    'run',
    experiment({ dataPath: path.join(work, 'nowhere') }),
    '--runs-dir',
    runs,
    '--backend',
    'wasm',
    '--json',
  ]);
  assert.equal(missing.code, 1, missing.stderr);
  const out = JSON.parse(lastLine(missing.stdout));
  assert.deepEqual(out, { runDir: path.join(runs, 'tiny', '1'), status: 'failed', metrics: null, best: null });
  assert.equal(lastLine(missing.stderr), `error: ${path.join(work, 'nowhere')}: no such directory`);
  const meta = readJson(path.join(out.runDir, 'meta.json'));
  assert.equal(meta.status, 'failed');
  assert.equal(meta.error, `${path.join(work, 'nowhere')}: no such directory`);

  const diverged = await pipeline([
    'run',
    experiment({ optimizer: '{type: sgd, learningRate: 1e20}' }),
    '--runs-dir',
    runs,
    '--backend',
    'wasm',
  ]);
  assert.equal(diverged.code, 1, diverged.stderr);
  assert.equal(lastLine(diverged.stdout), `diverged: ${path.join(runs, 'tiny', '2')}`);
  assert.match(lastLine(diverged.stderr), /^error: diverged: loss became (NaN|infinite) at epoch 1, batch \d+ of 8$/);
});

test('exit 130 on SIGINT; --resume NAME/VERSION continues it; --resume refuses --set', async () => {
  const runs = path.join(work, 'runs-int');
  const file = experiment({ epochs: 200 });
  const r = await pipeline(['run', file, '--runs-dir', runs, '--backend', 'wasm'], (child) => {
    const metrics = path.join(runs, 'tiny', '1', 'metrics.jsonl');
    const poll = setInterval(() => {
      if (fs.existsSync(metrics)) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 20);
  });
  assert.equal(r.code, 130, r.stderr);
  assert.equal(lastLine(r.stdout), `interrupted: ${path.join(runs, 'tiny', '1')}`);
  assert.match(
    lastLine(r.stderr),
    new RegExp(
      `^error: interrupted at epoch \\d+, after batch \\d+ of 8; continue with: pipeline run --resume ${path.join(runs, 'tiny', '1')}$`,
    ),
  );
  assert.equal(readJson(path.join(runs, 'tiny', '1', 'meta.json')).status, 'interrupted');

  const noModel = await pipeline(['eval', 'tiny/1', '--runs-dir', runs]);
  assert.equal(noModel.code, 2);
  assert.equal(
    noModel.stderr,
    'error: tiny/1 has no saved model (it is interrupted); only completed runs have model/; continue it with: pipeline run --resume tiny/1\n',
  );

  const refused = await pipeline(['run', '--resume', 'tiny/1', '--runs-dir', runs, '--set', 'training.batchSize=8']);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    'error: --resume takes only --set training.epochs=N (to train the run further); --set training.batchSize=8 would make a different run: start a new one, or warm-start it with model.init\n',
  );

  // Continue it, and stop it again at once: the resume path runs through the CLI, and a second interrupt works the same.
  // (Signalled once the resumed process has logged its start, i.e. its handlers are in place.)
  const log = path.join(runs, 'tiny', '1', 'log.jsonl');
  const starts = () =>
    fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"run tiny/1 in ')).length;
  const again = await pipeline(['run', '--resume', 'tiny/1', '--runs-dir', runs], (child) => {
    const poll = setInterval(() => {
      if (starts() === 2) {
        clearInterval(poll);
        child.kill('SIGTERM');
      }
    }, 20);
  });
  assert.equal(again.code, 130, again.stderr);
  const meta = readJson(path.join(runs, 'tiny', '1', 'meta.json'));
  assert.equal(meta.status, 'interrupted');
  assert.equal(meta.resumes.length, 1);
  assert.match(again.stderr, /SIGTERM: finishing the current batch/);
});

test('a reader that goes away (| head) does not kill the run: it completes, writes its files and exits 0', async () => {
  const runs = path.join(work, 'runs-closed-pipe');
  // Close both pipes at the first byte, as `pipeline run ... 2>&1 | head -1` does.
  const r = await pipeline(['run', experiment({ epochs: 3 }), '--runs-dir', runs, '--backend', 'wasm'], (child) => {
    for (const s of [child.stdout!, child.stderr!])
      s.once('data', () => (child.stdout!.destroy(), child.stderr!.destroy()));
  });
  assert.equal(r.code, 0);
  const meta = readJson(path.join(runs, 'tiny', '1', 'meta.json'));
  assert.equal(meta.status, 'completed');
  assert.equal(
    fs
      .readFileSync(path.join(runs, 'tiny', '1', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n').length,
    3,
  );
  assert.ok(fs.existsSync(path.join(runs, 'tiny', '1', 'model', 'weights.bin')));
});
