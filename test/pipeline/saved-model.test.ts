/**
 * The saved model/ folder is a plain TensorFlow.js layers model: stock tf.loadLayersModel
 * over HTTP loads it and reproduces the run's recorded testAccuracy (plain-tfjs-eval.ts
 * imports no pipeline code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../src/pipeline/run';
import { silentTerminal } from '../../src/pipeline/terminal';
import { loadDataset } from '../../src/data';
import { loadExperimentText } from '../../src/config/load';
import type { DatasetConfig } from '../../src/data/types';
import { BACKEND, CLASSES, readJson, tempDir, tinyExperiment, writeExperiment, writePngDataset } from './helpers';
import { plainAccuracy } from './plain-tfjs-eval';

const MODELS: Array<[string, string[] | undefined]> = [
  ['the default tiny model', undefined],
  // Batch normalization trains on the engine's direct step; its moving statistics are what inference uses.
  [
    'a model with batch normalization',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, activation: relu}',
      '{type: batchNormalization}',
      '{type: maxPooling2d, poolSize: 2}',
      '{type: flatten}',
      `{type: dense, units: ${CLASSES.length}}`,
    ],
  ],
];
for (const [what, layers] of MODELS) {
  test(`stock tf.loadLayersModel loads model/ and reproduces testAccuracy: ${what}`, async () => {
    const dir = tempDir();
    const data = writePngDataset(path.join(dir, 'data'), { train: 128, test: 64, seed: 5 });
    // Harder than the default: a 2-epoch run that is not yet perfect, so agreement is not trivial.
    const text = tinyExperiment({ epochs: 2, dataPath: data, optimizer: '{type: sgd, learningRate: 0.02}', layers });
    const file = writeExperiment(dir, text);
    const e = loadExperimentText(file, text).experiment;
    const dataset = await loadDataset(e.dataset as DatasetConfig, { seed: e.seed, cacheDir: path.join(dir, 'cache') });
    const r = await runExperiment({
      file,
      runsDir: path.join(dir, 'runs'),
      backend: BACKEND,
      dataset,
      terminal: silentTerminal,
    });
    assert.equal(r.status, 'completed');
    const recorded = readJson(path.join(r.runDir, 'summary.json')).final.testAccuracy;

    assert.ok(recorded > 0.3 && recorded < 0.95, `a partly trained model (testAccuracy ${recorded})`);
    const plain = await plainAccuracy(r.runDir, path.join(data, 'test'), CLASSES);
    assert.equal(plain.examples, 64);
    assert.equal(plain.accuracy, recorded);
    assert.equal(tf.getBackend(), BACKEND);
  });
}
