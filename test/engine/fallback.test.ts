/**
 * The engine's version check: with tfjs versions other than the ones it was built for
 * (simulated through PIPELINE_ENGINE_VERSIONS), it registers none of its kernels, the
 * training step is stock tfjs autograd (saying why), its portable kernels give cpu's
 * gradients, and a whole run through the CLI still trains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BUILT_FOR, engineStatus, startEngine, VERSIONS_ENV } from '../../src/engine';
import { installedVersions, versionMismatch } from '../../src/engine/versions';
import { compareLayerGrads, TOLERANCE, useBackend } from './gradcheck';
import { readJson, tempDir, tinyExperiment, writeExperiment, writePngDataset } from '../pipeline/helpers';

const OFF = 'engine off, stock tfjs autograd: installed';

test('BUILT_FOR names exactly the versions package.json pins', () => {
  const pkg = readJson(path.resolve(__dirname, '../../../package.json'));
  for (const [name, version] of Object.entries(BUILT_FOR)) assert.equal(pkg.dependencies[name], version, name);
});

test('versionMismatch names every package whose installed version differs', () => {
  const ok = { ...BUILT_FOR };
  const table: Array<[Record<string, string | undefined>, string | null]> = [
    [ok, null],
    [
      { ...ok, '@tensorflow/tfjs-backend-wasm': '4.23.0' },
      'installed @tensorflow/tfjs-backend-wasm 4.23.0 (built for 4.22.0)',
    ],
    [
      { ...ok, '@tensorflow/tfjs-core': '5.0.0', '@tensorflow/tfjs-backend-wasm': undefined },
      'installed @tensorflow/tfjs-core 5.0.0 (built for 4.22.0), @tensorflow/tfjs-backend-wasm not found (built for 4.22.0)',
    ],
  ];
  for (const [installed, expected] of table) assert.equal(versionMismatch(installed), expected);
  assert.equal(versionMismatch(installedVersions(tf, {})), null, 'the installed packages are the ones built for');
  assert.equal(
    installedVersions(tf, { [VERSIONS_ENV]: '@tensorflow/tfjs-core=4.9.1, @tensorflow/tfjs-layers=4.22.1' })[
      '@tensorflow/tfjs-layers'
    ],
    '4.22.1',
  );
});

test('with other versions no engine kernel stays registered, and the portable kernels give cpu gradients', async () => {
  await useBackend('wasm');
  process.env[VERSIONS_ENV] = '@tensorflow/tfjs-backend-wasm=4.23.0';
  try {
    const status = startEngine(tf);
    assert.deepEqual(status, {
      fast: false,
      reason: `${OFF} @tensorflow/tfjs-backend-wasm 4.23.0 (built for 4.22.0)`,
      kernels: ['Conv2DBackpropFilter', 'MaxPoolGrad'],
    });
    assert.equal(tf.getKernel('PipelineAdamUpdate', 'wasm'), undefined);
    const L = tf.layers;
    for (const padding of ['valid', 'same'] as const) {
      for (const strides of [1, 2]) {
        const errs = await compareLayerGrads({
          name: `portable conv ${padding} s${strides}`,
          input: [2, 7, 7, 3],
          inputRange: [-2, 0.5],
          layers: () => [
            L.conv2d({ inputShape: [7, 7, 3], filters: 4, kernelSize: 3, strides, padding, activation: 'relu' }),
            L.maxPooling2d({ poolSize: 2, padding }),
          ],
        });
        for (const e of errs) assert.ok(e.err < TOLERANCE, `${padding} s${strides} ${e.name}: ${e.err}`);
      }
    }
  } finally {
    delete process.env[VERSIONS_ENV];
    await useBackend('wasm');
    startEngine(tf);
  }
  assert.equal(engineStatus().fast, true);
  assert.notEqual(tf.getKernel('PipelineAdamUpdate', 'wasm'), undefined);
});

test('a run with other tfjs versions trains through stock autograd, says why, and learns', async () => {
  const work = tempDir();
  const data = writePngDataset(path.join(work, 'data'), { train: 128, test: 64 });
  const file = writeExperiment(work, tinyExperiment({ dataPath: data, epochs: 3 }));
  const env = {
    ...process.env,
    PIPELINE_CACHE_DIR: path.join(work, 'cache'),
    [VERSIONS_ENV]: '@tensorflow/tfjs-core=4.23.0',
  };
  const bin = path.resolve(__dirname, '../../../bin/pipeline.js');
  const child = spawn(
    process.execPath,
    [bin, 'run', file, '--runs-dir', path.join(work, 'runs'), '--backend', 'wasm', '--json'],
    { env },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(out.status, 'completed');
  const log = fs
    .readFileSync(path.join(out.runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).msg as string);
  assert.ok(
    log.includes(`training step: tfjs autograd: ${OFF} @tensorflow/tfjs-core 4.23.0 (built for 4.22.0)`),
    log.join('\n'),
  );
  assert.ok(out.metrics.testAccuracy >= 0.5, `testAccuracy ${out.metrics.testAccuracy}`);
});
