import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffFlat, flatten, formatValue, mergeKeyOrder, sameValue, varyingKeys } from '../../src/runs/flatten';
import { lenetConfig } from './fixture';

test('flatten: dotted keys, indexed layers, scalar lists as one value', () => {
  const flat = flatten(lenetConfig());
  assert.equal(flat.get('model.layers[5].units'), 120);
  assert.equal(flat.get('training.optimizer.learningRate'), 0.001);
  assert.deepEqual(flat.get('training.metrics'), ['accuracy']);
  assert.deepEqual(flat.get('dataset.scale'), [0, 1]);
  assert.equal(flat.get('model.layers[4].type'), 'flatten');
  assert.equal(flat.has('model.layers'), false);
  assert.deepEqual([...flat.keys()].slice(0, 3), ['version', 'name', 'seed']);
});

test('flatten: empty containers and odd keys are leaves with unambiguous paths', () => {
  const flat = flatten({ a: {}, b: [], 'c.d': 1, e: { 'x y': 2 } });
  assert.deepEqual(
    [...flat.entries()],
    [
      ['a', {}],
      ['b', []],
      ['["c.d"]', 1],
      ['e["x y"]', 2],
    ],
  );
});

test('sameValue: typed — numbers as numbers, strings differ from numbers', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [0.001, 1e-3, true],
    [32, 32.0, true],
    ['32', 32, false],
    [NaN, NaN, true],
    [[3, 3], [3, 3], true],
    [[3, 3], [3, 5], false],
    [{ a: 1 }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [null, undefined, false],
    [true, 'true', false],
  ];
  for (const [a, b, want] of cases) assert.equal(sameValue(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

test('diffFlat: changed, added, removed, with type changes named, in document order', () => {
  const a = flatten({
    training: { batchSize: 32, optimizer: { type: 'adam', learningRate: 0.001 }, epochs: 10 },
    model: { layers: [{ units: 120 }, { units: 84 }] },
  });
  const b = flatten({
    training: { batchSize: '32', optimizer: { type: 'adam', learningRate: 1e-3, momentum: 0.9 }, epochs: 10 },
    model: { layers: [{ units: 64 }] },
  });
  assert.deepEqual(diffFlat(a, b), [
    { key: 'training.batchSize', kind: 'changed', old: 32, new: '32', typeChange: 'number -> string' },
    { key: 'training.optimizer.momentum', kind: 'added', new: 0.9 },
    { key: 'model.layers[0].units', kind: 'changed', old: 120, new: 64 },
    { key: 'model.layers[1].units', kind: 'removed', old: 84 },
  ]);
  assert.deepEqual(diffFlat(a, a), []);
});

test('mergeKeyOrder keeps each list in order and places removed keys where they were', () => {
  assert.deepEqual(mergeKeyOrder(['a', 'b', 'c', 'd'], ['a', 'c', 'x', 'd']), ['a', 'b', 'c', 'x', 'd']);
  assert.deepEqual(mergeKeyOrder(['a', 'b'], ['c'], ['a', 'c']), ['a', 'b', 'c']);
  assert.deepEqual(mergeKeyOrder(), []);
});

test('varyingKeys: only keys whose values differ, missing counts as different', () => {
  const base = lenetConfig();
  const lr = lenetConfig();
  (lr.training as any).optimizer.learningRate = 0.003;
  const more = lenetConfig();
  (more as any).description = 'wider';
  (more as any).name = 'other';
  const keys = varyingKeys([flatten(base), flatten(lr), flatten(more)], (k) => k === 'name');
  // description was added last to its document, so it comes after the keys the first config has.
  assert.deepEqual(keys, ['training.optimizer.learningRate', 'description']);
  assert.deepEqual(varyingKeys([flatten(base)]), []);
});

test('formatValue: strings that would read as other types are quoted', () => {
  const cases: Array<[unknown, string]> = [
    [undefined, '—'],
    ['adam', 'adam'],
    ['32', '"32"'],
    ['true', '"true"'],
    [0.1 + 0.2, '0.3'],
    [1e-7, '1e-7'],
    [[3, 3], '[3, 3]'],
    [null, 'null'],
    [false, 'false'],
  ];
  for (const [v, want] of cases) assert.equal(formatValue(v), want);
});
