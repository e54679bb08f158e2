/**
 * A graph experiment (a residual add, a branch merged by concatenate, a subtract) trains
 * into a plain functional TensorFlow.js model: model.json holds each layer's inbound nodes,
 * stock tf.loadLayersModel loads it and reproduces the run's recorded testAccuracy, and
 * the log says the step runs on the direct wasm kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runExperiment } from '../../src/pipeline/run';
import { silentTerminal } from '../../src/pipeline/terminal';
import { loadDataset } from '../../src/data';
import { loadExperimentText } from '../../src/config/load';
import type { DatasetConfig } from '../../src/data/types';
import { BACKEND, CLASSES, readJson, tempDir, tinyExperiment, writeExperiment, writePngDataset } from './helpers';
import { plainAccuracy } from './plain-tfjs-eval';

const GRAPH_LAYERS = [
  '{type: conv2d, filters: 4, kernelSize: 3, padding: same, name: stem}',
  '{type: batchNormalization}',
  '{type: conv2d, filters: 4, kernelSize: 3, padding: same, activation: relu, name: body}',
  '{type: add, inputs: [stem, body], name: residual}',
  '{type: conv2d, filters: 2, kernelSize: 1, inputs: input, name: side}',
  '{type: concatenate, inputs: [residual, side]}',
  '{type: subtract, inputs: [concatenate_1, concatenate_1]}',
  '{type: add, inputs: [subtract_1, concatenate_1]}',
  '{type: maxPooling2d, poolSize: 2}',
  '{type: flatten}',
  `{type: dense, units: ${CLASSES.length}}`,
];

test('a graph experiment saves a functional model that stock tfjs loads with the recorded testAccuracy', async () => {
  const dir = tempDir();
  const data = writePngDataset(path.join(dir, 'data'), { train: 128, test: 64, seed: 5 });
  const text = tinyExperiment({
    name: 'tiny-graph',
    epochs: 2,
    dataPath: data,
    optimizer: '{type: sgd, learningRate: 0.02}',
    layers: GRAPH_LAYERS,
  });
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

  const topology = readJson(path.join(r.runDir, 'model', 'model.json')).modelTopology;
  assert.equal(topology.class_name, 'Model');
  const layers = topology.config.layers as Array<{ name: string; class_name: string; inbound_nodes: unknown[][] }>;
  const inbound = (name: string) =>
    (layers.find((l) => l.name === name)!.inbound_nodes[0] as unknown[][]).map((n) => n[0]);
  assert.deepEqual(inbound('residual'), ['stem', 'body']);
  assert.deepEqual(inbound('side'), ['input']);
  assert.deepEqual(inbound('subtract_1'), ['concatenate_1', 'subtract_1_negate']);
  assert.equal(layers.find((l) => l.name === 'subtract_1_negate')!.class_name, 'Rescaling');

  const log = fs.readFileSync(path.join(r.runDir, 'log.jsonl'), 'utf8');
  assert.match(log, /training step: direct wasm kernels/);

  const recorded = readJson(path.join(r.runDir, 'summary.json')).final.testAccuracy;
  const plain = await plainAccuracy(r.runDir, path.join(data, 'test'), CLASSES);
  assert.equal(plain.examples, 64);
  assert.equal(plain.accuracy, recorded);
});
