import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../src/errors';
import { formatRanges, resolveRun, resolveRuns } from '../../src/runs/refs';
import { curve, tempRoot, writeRun } from './fixture';

function setup() {
  const root = tempRoot();
  writeRun(root, { metrics: curve(3, 0.5) }); // 1
  writeRun(root, { metrics: curve(3, 0.7) }); // 2: best
  writeRun(root, { metrics: curve(3, 0.6) }); // 3: latest
  writeRun(root, { name: 'fashion-mlp' });
  fs.mkdirSync(path.join(root, 'cifar-lenet', 'sweeps', '1'), { recursive: true }); // not a run
  return root;
}

test('run references: every form resolves to the right folder', () => {
  const root = setup();
  const cwd = process.cwd();
  try {
    process.chdir(path.dirname(root));
    const rel = path.basename(root);
    const cases: Array<[string, string]> = [
      ['cifar-lenet/2', 'cifar-lenet/2'],
      ['cifar-lenet/latest', 'cifar-lenet/3'],
      ['cifar-lenet/best', 'cifar-lenet/2'],
      ['cifar-lenet', 'cifar-lenet/3'],
      ['cifar-lenet/', 'cifar-lenet/3'],
      [`${rel}/cifar-lenet/1`, 'cifar-lenet/1'],
      [`${rel}/cifar-lenet/best`, 'cifar-lenet/2'],
      [`${rel}/cifar-lenet`, 'cifar-lenet/3'],
      [path.join(root, 'fashion-mlp', '1'), 'fashion-mlp/1'],
    ];
    for (const [ref, want] of cases) {
      const run = resolveRun(ref, root);
      assert.equal(run.id, want, ref);
      assert.equal(run.dir, path.join(root, want), ref);
    }
  } finally {
    process.chdir(cwd);
  }
});

test('resolveRuns: a bare experiment means all its versions; sweeps/ is not a version', () => {
  const root = setup();
  assert.deepEqual(
    resolveRuns('cifar-lenet', root).map((r) => r.id),
    ['cifar-lenet/1', 'cifar-lenet/2', 'cifar-lenet/3'],
  );
  assert.deepEqual(
    resolveRuns('cifar-lenet/best', root).map((r) => r.id),
    ['cifar-lenet/2'],
  );
});

test('unknown references: UsageError with a suggestion or the choices', () => {
  const root = setup();
  const cases: Array<[string, string]> = [
    ['cifar-lent/1', `no experiment "cifar-lent" in ${root}; did you mean "cifar-lenet"?`],
    ['zzz', `no experiment "zzz" in ${root}; experiments: cifar-lenet, fashion-mlp`],
    ['cifar-lenet/9', 'no run cifar-lenet/9: cifar-lenet has versions 1-3'],
    [
      'cifar-lenet/lates',
      '"lates" in "cifar-lenet/lates" is not a version: use a number, latest or best; did you mean "latest"?',
    ],
    ['cifar-lenet/0', '"0" in "cifar-lenet/0" is not a version: use a number, latest or best'],
    [
      'a/b/c',
      `no run folder "a/b/c"; expected a path to a run folder, or NAME/VERSION, NAME/latest, NAME/best under ${root}`,
    ],
    ['', 'empty run reference; expected e.g. cifar-lenet/3, cifar-lenet/latest or runs/cifar-lenet/3'],
  ];
  for (const [ref, message] of cases) {
    assert.throws(
      () => resolveRun(ref, root),
      (err: unknown) => err instanceof UsageError && err.message === message,
      ref,
    );
  }
  const empty = tempRoot();
  assert.throws(() => resolveRun('x/1', empty), { message: `no experiment "x" (${empty} has no runs)` });
});

test('best skips runs without the main metric and uses min for loss-like main metrics', () => {
  const root = tempRoot();
  const main = { name: 'testLoss', goal: 'min' as const };
  writeRun(root, { name: 'reg', mainMetric: main, metrics: curve(2, 0.5, 0) });
  writeRun(root, { name: 'reg', mainMetric: main, metrics: curve(4, 0.5, 0) }); // lower loss at epoch 4
  writeRun(root, { name: 'reg', mainMetric: main, metrics: [], summary: false, status: 'failed' });
  assert.equal(resolveRun('reg/best', root).id, 'reg/2');

  const none = tempRoot();
  writeRun(none, { metrics: [], summary: false, status: 'failed' });
  assert.throws(() => resolveRun('cifar-lenet/best', none), {
    message: 'cifar-lenet/best: no run has a testAccuracy value yet',
  });
});

test('formatRanges', () => {
  assert.equal(formatRanges([1, 2, 3, 5, 7, 8]), '1-3, 5, 7-8');
  assert.equal(formatRanges([4]), '4');
});
