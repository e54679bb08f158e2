/**
 * A dataset whose training (or test) split is empty is an error naming the split and the
 * source, exit 1, and the run is marked failed with that cause: before, an MNIST folder with
 * no training images "completed" with null metrics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { idxFiles, tempDir, writeFiles } from '../data/fixtures';
import { readJson } from '../pipeline/helpers';
import { assertClean, cli, errorLines } from './harness';

const experiment = (dir: string) => {
  const p = path.join(dir, 'mnist.yaml');
  const lines = [
    'version: 1',
    'name: digits',
    'dataset:',
    '  name: mnist',
    'model:',
    '  layers:',
    '    - {type: flatten}',
    '    - {type: dense, units: 10}',
    'training:',
    '  epochs: 2',
    '  optimizer: {type: sgd, learningRate: 0.01}',
    '',
  ];
  fs.writeFileSync(p, lines.join('\n'));
  return p;
};

describe('empty splits', () => {
  for (const [split, train, test] of [
    ['train', 0, 10],
    ['test', 20, 0],
  ] as const) {
    it(`an MNIST folder with no ${split} images: exit 1 naming the split and the folder; the run is failed, not completed`, async () => {
      const root = tempDir('pipeline-empty-');
      const home = path.join(root, 'data', 'mnist');
      writeFiles(home, idxFiles(train, test));
      const runs = path.join(root, 'runs');
      const r = await cli(
        ['run', experiment(root), '--data-dir', path.join(root, 'data'), '--runs-dir', runs, '--backend', 'cpu'],
        { timeoutMs: 60_000 },
      );
      assert.equal(r.code, 1, r.stderr);
      const cause = `mnist: the ${split} split of ${home} (idx) has no examples; add some, or point the dataset at a folder that has them`;
      assert.equal(errorLines(r.stderr), `error: ${cause}`);
      const meta = readJson(path.join(runs, 'digits', '1', 'meta.json'));
      assert.deepEqual([meta.status, meta.error], ['failed', cause]);
      assertClean(root);
    });
  }
});
