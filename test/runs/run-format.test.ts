/**
 * The run folder's facts, each decided once in src/run-format/: which way a metric is better,
 * which epoch is best, which metric a run was judged by, and how its files read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bestEpoch, bestValue, metricGoal, runMainMetric, summarize } from '../../src/run-format/metrics';
import { DamagedRunFile, readMetricCurve, readMetricsRows, readSummaryIfExists } from '../../src/run-format/read';
import type { MetricsRow } from '../../src/run-format/types';
import {
  compileRunFileValidators,
  GENERATED_RUN_FILE_VALIDATORS,
  type RunFileSchema,
} from '../../src/run-format/validators';
import { truncateMetrics } from '../../src/run-format/write';
import { Run } from '../../src/runs/read';
import { runDamage } from '../../src/ui/damage';
import { tempRoot, writeRun } from './fixture';

test('metricGoal: losses down, registry metrics their way, other names by what they measure', () => {
  const cases: Array<[string, 'max' | 'min']> = [
    ['loss', 'min'],
    ['valLoss', 'min'],
    ['testAccuracy', 'max'],
    ['accuracy', 'max'],
    ['valTop5Accuracy', 'max'],
    ['seconds', 'min'],
    ['samplesPerSecond', 'max'],
    ['valMeanSquaredError', 'min'],
    ['learningRate', 'max'],
    ['someNewMetric', 'max'],
  ];
  assert.deepEqual(
    cases.map(([name]) => [name, metricGoal(name)]),
    cases,
  );
});

const rows = (values: Array<number | undefined>): MetricsRow[] =>
  values.map((v, i) => ({ epoch: i + 1, ...(v === undefined ? {} : { m: v }) }) as MetricsRow);

test('bestEpoch: the first epoch with the best finite value; summarize falls back to the last row', () => {
  const max = { name: 'm', goal: 'max' as const };
  const min = { name: 'm', goal: 'min' as const };
  assert.equal(bestEpoch(rows([0.2, 0.5, 0.5, 0.1]), max)?.epoch, 2);
  assert.equal(bestEpoch(rows([0.2, 0.5, 0.5, 0.1]), min)?.epoch, 4);
  assert.equal(bestEpoch(rows([Number.NaN, Number.POSITIVE_INFINITY, 0.3, undefined]), max)?.epoch, 3);
  assert.equal(bestEpoch(rows([Number.NaN, undefined]), max), undefined);
  assert.deepEqual(summarize(rows([Number.NaN, undefined]), max), {
    final: { epoch: 2 },
    best: { epoch: 2 },
    bestBy: 'm',
    bestGoal: 'max',
    epochs: 2,
  });
  assert.equal(summarize([], max), undefined);
  assert.equal(bestValue([0.4, undefined, Number.NaN, 0.9, 0.7], 'max'), 0.9);
  assert.equal(bestValue([undefined, Number.NEGATIVE_INFINITY], 'min'), undefined);
});

test('runMainMetric: summary.json bestBy, else meta.json mainMetric, else the old default', () => {
  const meta = {
    name: 'x',
    version: 1,
    status: 'running' as const,
    mainMetric: { name: 'valLoss', goal: 'min' as const },
  };
  assert.deepEqual(runMainMetric({ bestBy: 'valAccuracy', bestGoal: 'max' }, meta), {
    name: 'valAccuracy',
    goal: 'max',
  });
  assert.deepEqual(runMainMetric({ bestBy: 'valLoss' }, undefined), { name: 'valLoss', goal: 'min' });
  assert.deepEqual(runMainMetric(undefined, meta), { name: 'valLoss', goal: 'min' });
  assert.deepEqual(runMainMetric(undefined, undefined), { name: 'testAccuracy', goal: 'max' });
});

test('metrics.jsonl: a cut last line is skipped, a missing file has no rows, a resume cuts it back', () => {
  const root = tempRoot('pipeline-run-format-');
  const dir = writeRun(root, { status: 'running', partialLine: true, summary: false });
  assert.deepEqual(
    readMetricsRows(dir).map((r) => r.epoch),
    [1, 2, 3],
  );
  assert.equal(readMetricCurve(dir, 'testAccuracy').length, 3);
  assert.deepEqual(readMetricsRows(path.join(root, 'nothing-here')), []);
  fs.writeFileSync(path.join(dir, 'summary.json'), '{}');
  truncateMetrics(dir, readMetricsRows(dir).slice(0, 1));
  assert.equal(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').length, 2);
  assert.ok(fs.existsSync(path.join(dir, 'summary.json')), 'summary.json stays while rows remain');
  truncateMetrics(dir, []);
  assert.equal(fs.existsSync(path.join(dir, 'summary.json')), false);
});

test('summary.json: damaged is a DamagedRunFile naming the file and field; absent is undefined', () => {
  const root = tempRoot('pipeline-run-format-');
  const dir = writeRun(root);
  const file = path.join(dir, 'summary.json');
  fs.writeFileSync(file, JSON.stringify({ bestGoal: 'up' }));
  assert.throws(
    () => readSummaryIfExists(dir),
    (err: unknown) =>
      err instanceof DamagedRunFile &&
      err.message === `${file}: bestGoal: expected "max" or "min", found "up"` &&
      !err.notJson,
  );
  fs.writeFileSync(file, '{"final": ');
  assert.throws(
    () => readSummaryIfExists(dir),
    (err: unknown) => err instanceof DamagedRunFile && err.notJson,
  );
  fs.rmSync(file);
  assert.equal(readSummaryIfExists(dir), undefined);
});

test('meta.json with a wrong field: listings show the run as unknown, the dashboard names the field', () => {
  const root = tempRoot('pipeline-run-format-');
  const dir = writeRun(root);
  const file = path.join(dir, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...meta, status: 'paused', pid: -1 }));
  const run = Run.fromDir(dir);
  assert.equal(run.status(), 'unknown');
  assert.deepEqual(runDamage(run), [
    'meta.json: status: expected "running" or "completed" or "failed" or "interrupted" or "diverged", found "paused"; pid: expected an integer >= 0, found -1',
  ]);
});

test('the build-time validators and the ones compiled at run time agree', () => {
  const generated = require(GENERATED_RUN_FILE_VALIDATORS) as Record<string, (v: unknown) => boolean>;
  const fresh = compileRunFileValidators();
  const cases: Array<[RunFileSchema, unknown]> = [
    [
      'meta',
      { name: 'x', version: 1, status: 'completed', pid: 1, host: 'h', startedAt: 't', backend: 'b', configHash: 'c' },
    ],
    ['meta', { name: 'x', version: 0, status: 'paused' }],
    ['summary', { bestGoal: 'max', epochs: 2 }],
    ['summary', { bestGoal: 'up' }],
    ['overrides', ['a=1']],
    ['overrides', { a: 1 }],
  ];
  for (const [name, value] of cases)
    assert.equal(generated[name](value), fresh[name](value), `${name} ${JSON.stringify(value)}`);
  assert.deepEqual(
    cases.map(([name, value]) => fresh[name](value)),
    [true, false, true, false, true, false],
  );
});
