import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planTrials } from '../../../src/runs/sweep/plan';
import { proposeTrial, type FinishedTrial } from '../../../src/runs/sweep/search/propose';
import type { SweepSpec } from '../../../src/runs/sweep/spec';

/** TPE inside a sweep: planned draws first, then proposals validated against the experiment file. */

const FILE = path.resolve(__dirname, '../../../../test/fixtures/runs/tiny.yaml');
const TEXT = fs.readFileSync(FILE, 'utf8');

function spec(parameters: SweepSpec['parameters']): SweepSpec {
  return { method: 'tpe', parameters, trials: 14, metric: 'testAccuracy', goal: 'max', parallel: 1 };
}

function finished(s: SweepSpec, n: number): FinishedTrial[] {
  return planTrials(s, 7)
    .trials.slice(0, n)
    .map((t, i) => ({
      params: t.params,
      status: 'completed',
      value: i / 10,
      endedAt: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`,
    }));
}

test('before 10 trials have finished a TPE trial keeps its planned random draw; after, TPE chooses and the overrides follow', () => {
  const s = spec({
    'training.optimizer.learningRate': { min: 1e-4, max: 0.1, scale: 'log', type: 'float' },
    'training.batchSize': [16, 32, 64],
  });
  const planned = planTrials(s, 7).trials[11];
  const early = proposeTrial(s, 7, planned, finished(s, 9), { file: FILE, text: TEXT, baseOverrides: [] });
  assert.deepEqual(early, { params: planned.params, overrides: planned.overrides, byTpe: false });
  const later = proposeTrial(s, 7, planned, finished(s, 10), { file: FILE, text: TEXT, baseOverrides: [] });
  assert.equal(later.byTpe, true);
  assert.deepEqual(later.overrides, [
    `training.optimizer.learningRate=${later.params['training.optimizer.learningRate']}`,
    `training.batchSize=${later.params['training.batchSize']}`,
  ]);
  assert.deepEqual(
    proposeTrial(s, 7, planned, finished(s, 10), { file: FILE, text: TEXT, baseOverrides: [] }),
    later,
    'reproducible',
  );
});

test('a TPE proposal that does not validate falls back to the planned draw, saying why', () => {
  const s = spec({ 'model.layers[0].filters': { min: -9, max: -1, scale: 'linear', type: 'int' } });
  const planned = { index: 12, params: { 'model.layers[0].filters': 4 }, overrides: ['model.layers[0].filters=4'] };
  const obs = Array.from({ length: 10 }, (_, i) => ({
    params: { 'model.layers[0].filters': -1 - (i % 9) },
    status: 'completed',
    value: i,
    endedAt: i,
  }));
  const p = proposeTrial(s, 7, planned, obs, { file: FILE, text: TEXT, baseOverrides: [] });
  assert.deepEqual(p.params, planned.params);
  assert.equal(p.byTpe, false);
  assert.match(
    p.fallback!,
    /^TPE proposed model\.layers\[0\]\.filters=-\d, which does not validate: .*model\.layers\[0\]\.filters: expected an integer >= 1, found -\d/,
  );
});
