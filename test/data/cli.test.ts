import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cifarFiles, tempDir, writeFiles } from './fixtures';

/** `pipeline data` end to end: the real CLI on the project's seed experiment and a tiny CIFAR-10. */

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin/pipeline.js');
const CONFIG = path.join(ROOT, 'configs/cifar-lenet.yaml');

function pipeline(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PIPELINE_CACHE_DIR: tempDir(), PIPELINE_DATA_DIR: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pipeline data', () => {
  const dataDir = tempDir();
  writeFiles(path.join(dataDir, 'cifar10'), cifarFiles(10)); // 50 train, 10 test

  it('describes the data as JSON: source, counts per split and class, shape, classes, fingerprint, cache', () => {
    const r = pipeline(['data', CONFIG, '--data-dir', dataDir, '--set', 'dataset.validationSplit=0.2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.name, 'cifar10');
    assert.deepEqual(d.source, { format: 'cifar-binary', path: path.join(dataDir, 'cifar10'), downloaded: false });
    assert.deepEqual(d.shape, [32, 32, 3]);
    assert.deepEqual(d.classes, [
      'airplane',
      'automobile',
      'bird',
      'cat',
      'deer',
      'dog',
      'frog',
      'horse',
      'ship',
      'truck',
    ]);
    assert.deepEqual(d.counts, { train: 40, validation: 10, test: 10 });
    assert.deepEqual(d.perClass[0], { class: 'airplane', train: 4, validation: 1, test: 1 });
    assert.match(d.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(d.cache, 'none');
    assert.equal(d.options.validationSplit, 0.2);
    assert.equal(typeof d.seconds, 'number');
  });

  it('prints a readable report, reading the data dir from PIPELINE_DATA_DIR', () => {
    const r = pipeline(['data', CONFIG, '--set', 'dataset.limit.test=5'], { PIPELINE_DATA_DIR: dataDir });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'dataset     cifar10');
    assert.equal(lines[1], `source      ${path.join(dataDir, 'cifar10')} (CIFAR-10 binary files, local)`);
    assert.equal(lines[2], 'shape       32x32x3 (height x width x channels)');
    assert.equal(lines[3], 'classes     10: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck');
    assert.equal(lines[4], 'examples    train 50, test 5');
    assert.equal(
      lines[5],
      'options     limit train all / test 5; normalize scale to [0,1]; no augmentation; shuffled each epoch',
    );
    assert.match(lines[6], /^fingerprint sha256:[0-9a-f]{64}$/);
    assert.equal(lines[7], 'cache       none (read directly)');
    assert.match(lines[8], /^loaded in   \d+\.\d\d s$/);
    assert.deepEqual(lines.slice(9), [
      '',
      'class            train        test',
      'airplane             5           1',
      'automobile           5           1',
      'bird                 5           1',
      'cat                  5           1',
      'deer                 5           1',
      'dog                  5           0',
      'frog                 5           0',
      'horse                5           0',
      'ship                 5           0',
      'truck                5           0',
      'total               50           5',
      '',
    ]);
  });

  it('exits 1 with the data error and no stack trace when the data is bad', () => {
    const bad = tempDir();
    const files = cifarFiles(2);
    files.set('data_batch_1.bin', files.get('data_batch_1.bin')!.subarray(0, 5000));
    writeFiles(path.join(bad, 'cifar10'), files);
    const r = pipeline(['data', CONFIG, '--data-dir', bad]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `error: ${path.join(bad, 'cifar10', 'data_batch_1.bin')}: 5,000 bytes is not a multiple of 3,073 (1 label byte + 3,072 pixel bytes per image); the file is truncated or not a CIFAR-10 binary batch\n`,
    );
  });

  it('exits 2 on an invalid override, before touching any data', () => {
    const r = pipeline(['data', CONFIG, '--data-dir', dataDir, '--set', 'dataset.validationSplit=2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /dataset\.validationSplit/);
  });
});
