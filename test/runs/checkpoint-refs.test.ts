import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointNames, resolveRun, resolveRunRef, resolveRuns } from '../../src/runs/refs';
import { tempRoot, writeRun } from './fixture';

/** A run folder with checkpoint folders (a model.json each is what a reference needs). */
function setup(prefix = 'pipeline-runs-') {
  const root = tempRoot(prefix);
  const dir = writeRun(root, {});
  for (const c of ['best', 'last', 'epoch-0005', 'epoch-0010']) {
    fs.mkdirSync(path.join(dir, 'checkpoints', c), { recursive: true });
    fs.writeFileSync(path.join(dir, 'checkpoints', c, 'model.json'), '{}');
  }
  fs.mkdirSync(path.join(dir, 'checkpoints', 'early-stopping-best'));
  return { root, dir };
}

test('checkpoint references resolve to the run and the checkpoint folder, in every form', () => {
  const { root, dir } = setup();
  const cases: Array<[string, string, string]> = [
    ['cifar-lenet/1@best', 'best', 'cifar-lenet/1@best'],
    ['cifar-lenet/latest@last', 'last', 'cifar-lenet/1@last'],
    ['cifar-lenet/1@epoch-5', 'epoch-0005', 'cifar-lenet/1@epoch-5'],
    ['cifar-lenet/1@epoch-0010', 'epoch-0010', 'cifar-lenet/1@epoch-0010'],
    [`${dir}@best`, 'best', 'cifar-lenet/1@best'],
    [path.join(dir, 'checkpoints', 'epoch-0005'), 'epoch-0005', 'cifar-lenet/1@epoch-5'],
    [path.join(dir, 'checkpoints', 'last') + '/', 'last', 'cifar-lenet/1@last'],
  ];
  for (const [ref, name, label] of cases) {
    const r = resolveRunRef(ref, root);
    assert.equal(r.run.dir, dir, ref);
    assert.deepEqual(r.checkpoint, { name, dir: path.join(dir, 'checkpoints', name) }, ref);
    assert.equal(r.label, label, ref);
    assert.equal(resolveRun(ref, root).id, 'cifar-lenet/1', ref);
    assert.deepEqual(
      resolveRuns(ref, root).map((x) => x.id),
      ['cifar-lenet/1'],
      ref,
    );
  }
  assert.deepEqual(resolveRunRef('cifar-lenet/1', root), {
    run: resolveRun('cifar-lenet/1', root),
    label: 'cifar-lenet/1',
  });
  assert.deepEqual(checkpointNames(dir), ['best', 'last', 'epoch-5', 'epoch-10']);
});

test('checkpoint reference errors say what the run has', () => {
  const { root } = setup();
  const bare = writeRun(root, { name: 'bare' });
  const cases: Array<[string, string]> = [
    ['cifar-lenet/1@epoch-7', 'cifar-lenet/1 has no checkpoint "epoch-7"; it has @best, @last, @epoch-5, @epoch-10'],
    [
      'cifar-lenet/1@lats',
      '"@lats" in "cifar-lenet/1@lats" is not a checkpoint: use @best, @last or @epoch-N; did you mean "last"?',
    ],
    ['cifar-lenet/1@', '"@" in "cifar-lenet/1@" is not a checkpoint: use @best, @last or @epoch-N'],
    [`${bare}@best`, 'bare/1 has no checkpoint "best"; it has none yet'],
  ];
  for (const [ref, message] of cases)
    assert.throws(() => resolveRunRef(ref, root), { name: 'UsageError', message }, ref);
});

test("an '@' in a folder above the runs root is not a checkpoint", () => {
  const { root, dir } = setup('pipeline-runs@home-');
  assert.ok(dir.includes('@'));
  assert.equal(resolveRun(dir, root).id, 'cifar-lenet/1');
  assert.equal(resolveRunRef(`${dir}@best`, root).checkpoint?.name, 'best');
});
