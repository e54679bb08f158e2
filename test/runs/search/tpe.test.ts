import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fitMixture,
  gamma,
  mixtureLogPdf,
  phi,
  proposeTpe,
  split,
  type Observation,
} from '../../../src/runs/sweep/search/tpe';
import { createRng } from '../../../src/util/random';
import type { ParamSpec } from '../../../src/runs/sweep/spec';

const SPACE: Record<string, ParamSpec> = {
  lr: { min: 1e-4, max: 1, scale: 'log', type: 'float' },
  units: { min: 8, max: 256, scale: 'log', type: 'int' },
  dropout: { min: 0, max: 0.5, scale: 'linear', type: 'float' },
  opt: ['adam', 'sgd', 'rmsprop'],
};

/** A synthetic objective with its best at lr 0.01, units 64, dropout 0.1, adam (higher is better). */
function objective(p: Record<string, unknown>): number {
  const lr = Math.log10(p.lr as number) + 2;
  const u = Math.log2(p.units as number) - 6;
  const d = (p.dropout as number) - 0.1;
  return -(lr * lr) - 0.3 * u * u - 4 * d * d - (p.opt === 'adam' ? 0 : 0.5);
}

function search(seed: number, trials: number, startup: number): Observation[] {
  const obs: Observation[] = [];
  for (let i = 1; i <= trials; i++) {
    const params = proposeTpe(SPACE, obs, i, { goal: 'max', seed, startup });
    obs.push({ params, value: objective(params) });
  }
  return obs;
}

test('proposals stay in their ranges: log and int ranges, choices', () => {
  for (const o of search(3, 30, 5)) {
    const p = o.params;
    assert.ok((p.lr as number) >= 1e-4 && (p.lr as number) <= 1, `lr ${p.lr}`);
    assert.ok(Number.isInteger(p.units) && (p.units as number) >= 8 && (p.units as number) <= 256, `units ${p.units}`);
    assert.ok((p.dropout as number) >= 0 && (p.dropout as number) <= 0.5, `dropout ${p.dropout}`);
    assert.ok(['adam', 'sgd', 'rmsprop'].includes(p.opt as string));
  }
});

test('the same seed and the same results in the same order propose the same trials; another seed does not', () => {
  assert.deepEqual(search(7, 20, 5), search(7, 20, 5));
  assert.notDeepEqual(
    search(7, 20, 5).map((o) => o.params),
    search(8, 20, 5).map((o) => o.params),
  );
});

test('TPE beats its own random startup on a smooth objective (median best over 5 seeds)', () => {
  const bests = (startup: number) =>
    [1, 2, 3, 4, 5].map((s) => Math.max(...search(s, 30, startup).map((o) => o.value!)));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
  const tpe = med(bests(10));
  const random = med(bests(30)); // startup = budget: every trial random
  assert.ok(tpe > random, `tpe ${tpe} vs random ${random}`);
});

test('gamma, the good/bad split and trials without a value', () => {
  assert.deepEqual([1, 10, 11, 100, 300].map(gamma), [1, 1, 2, 10, 25]);
  const obs: Observation[] = [
    { params: { a: 1 }, value: 0.5 },
    { params: { a: 2 }, value: undefined },
    { params: { a: 3 }, value: 0.9 },
  ];
  assert.deepEqual(
    split(obs, 'max').good.map((o) => o.params.a),
    [3],
  );
  assert.deepEqual(
    split(obs, 'min').good.map((o) => o.params.a),
    [1],
  );
  assert.deepEqual(
    split(obs, 'min').bad.map((o) => o.params.a),
    [2, 3],
  );
});

test('the Parzen estimator is a density over its range, peaked at the observations', () => {
  const m = fitMixture([0.2, 0.25], 0, 1);
  let area = 0;
  for (let i = 0; i < 1000; i++) area += Math.exp(mixtureLogPdf(m, (i + 0.5) / 1000)) / 1000;
  assert.ok(Math.abs(area - 1) < 0.01, `area ${area}`);
  assert.ok(mixtureLogPdf(m, 0.22) > mixtureLogPdf(m, 0.8));
  assert.ok(Math.abs(phi(1.959964) - 0.975) < 1e-6);
  assert.ok(createRng(1).next() >= 0);
});
