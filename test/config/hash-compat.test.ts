import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadExperimentFile } from '../../src/config/load';
import { REPO } from './helpers';

/**
 * Every file written before graphs, blocks and the newer layers existed must
 * mean exactly what it meant: the same resolved experiment, so the same hash
 * (runs, `ls` and `diff` compare by it). These are the hashes the loader gave
 * these files before any of that was added; a new key with a default, or a
 * change in how defaults fill in, changes them.
 */
const PINNED: Record<string, string> = {
  'configs/cifar-lenet.yaml': '85ff71e124c1b002568e9ce1b859ca99b8553ea1abb5c7e88235420473628d2b',
  'test/fixtures/config/good/lenet-commented.yaml': '85ff71e124c1b002568e9ce1b859ca99b8553ea1abb5c7e88235420473628d2b',
  'test/fixtures/config/good/lenet-explicit-defaults.yaml':
    '85ff71e124c1b002568e9ce1b859ca99b8553ea1abb5c7e88235420473628d2b',
  'test/fixtures/config/good/lenet-flow.yaml': '85ff71e124c1b002568e9ce1b859ca99b8553ea1abb5c7e88235420473628d2b',
  'test/fixtures/config/good/minimal.yaml': '1abc47ab22ecbfa4dc5a957e3f024e9c594cefd2286b6a6d62630c5abd4481c0',
  'test/fixtures/runs/sweep-bad-values.yaml': 'b0add5a37e4cb8ed8a6230192ebe0c4d628845fa2cc3d8cdb16a2e98f57f5a21',
  'test/fixtures/runs/tiny-sweep.yaml': 'fb4c2de973a8bc233a765d1cdfe245e7926aefd5589d62f1184f42ce5a8a8323',
  'test/fixtures/runs/tiny.yaml': '68b5e829d805818981a7e377fb97c740a0094e962d396ffa282d6e6868acb87c',
};

describe('files without graph keys resolve as before', () => {
  for (const [file, hash] of Object.entries(PINNED)) {
    it(`${file} keeps its resolved-config hash`, () => {
      const loaded = loadExperimentFile(path.join(REPO, file));
      assert.equal(loaded.hash, hash);
      assert.equal('blocks' in loaded.experiment, false);
      assert.equal('outputs' in loaded.experiment.model, false);
    });
  }
});
