/**
 * Generated data and experiments for the pipeline tests: no files to download, runs of
 * well under a second.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedDataset, Split } from '../../src/data/types';
import { VERSIONS_ENV } from '../../src/engine';
import { createRng } from '../../src/util/random';
import { png, tempDir as dataTempDir } from '../data/fixtures';

/** A temporary folder, removed when the test process exits. */
export const tempDir = (prefix = 'pipeline-test-') => dataTempDir(prefix);

/**
 * The tests train on wasm, the backend `auto` picks without tfjs-node (with this project's
 * kernel fixes): several times faster than cpu on these tiny models.
 */
export const BACKEND = 'wasm' as const;

export const CLASSES = ['north-west', 'north-east', 'south-west', 'south-east'];
export const SIZE = 8;

/**
 * A learnable problem: 8x8 RGB noise with one bright 4x4 quadrant; the quadrant is the
 * class. A small conv net gets most of it right within a few epochs.
 */
export function syntheticSplit(n: number, seed: number): Split {
  const rng = createRng(seed);
  const sample = SIZE * SIZE * 3;
  const x = new Uint8Array(n * sample);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(CLASSES.length);
    y[i] = k;
    const [r0, c0] = [k >> 1 ? 4 : 0, k & 1 ? 4 : 0];
    for (let r = 0; r < SIZE; r++) {
      for (let c = 0; c < SIZE; c++) {
        const bright = r >= r0 && r < r0 + 4 && c >= c0 && c < c0 + 4;
        for (let ch = 0; ch < 3; ch++)
          x[i * sample + (r * SIZE + c) * 3 + ch] = bright ? 150 + rng.int(106) : rng.int(120);
      }
    }
  }
  return { x, y, n };
}

export function syntheticDataset(
  opts: { train?: number; test?: number; validation?: number; seed?: number } = {},
): LoadedDataset {
  const seed = opts.seed ?? 1;
  return {
    name: 'imageFolder',
    shape: [SIZE, SIZE, 3],
    classes: [...CLASSES],
    train: syntheticSplit(opts.train ?? 256, seed),
    validation: opts.validation ? syntheticSplit(opts.validation, seed + 2) : undefined,
    test: syntheticSplit(opts.test ?? 128, seed + 1),
    source: { format: 'image-folder', path: '(generated in memory)', downloaded: false },
    fingerprint: 'synthetic',
    cache: 'none',
  };
}

export interface TinyOptions {
  name?: string;
  epochs?: number;
  batchSize?: number;
  dataPath?: string;
  optimizer?: string;
  extra?: string;
  dropout?: boolean;
  /** The model's layers, one YAML flow mapping each (default: conv, pool, flatten, dropout, dense). */
  layers?: string[];
}

/** A tiny experiment on the synthetic problem (imageFolder shape, so validation knows [8, 8, 3] and 4 classes). */
export function tinyExperiment(o: TinyOptions = {}): string {
  return [
    'version: 1',
    `name: ${o.name ?? 'tiny'}`,
    'seed: 7',
    'dataset:',
    '  name: imageFolder',
    `  path: ${JSON.stringify(o.dataPath ?? '/nonexistent/generated-in-memory')}`,
    `  imageSize: [${SIZE}, ${SIZE}]`,
    '  channels: 3',
    `  classes: [${CLASSES.join(', ')}]`,
    'model:',
    '  layers:',
    ...(
      o.layers ?? [
        '{type: conv2d, filters: 4, kernelSize: 3, activation: relu}',
        '{type: maxPooling2d, poolSize: 2}',
        '{type: flatten}',
        ...(o.dropout === false ? [] : ['{type: dropout, rate: 0.25}']),
        `{type: dense, units: ${CLASSES.length}}`,
      ]
    ).map((layer) => `    - ${layer}`),
    'training:',
    `  epochs: ${o.epochs ?? 3}`,
    `  batchSize: ${o.batchSize ?? 16}`,
    `  optimizer: ${o.optimizer ?? '{type: adam, learningRate: 0.01}'}`,
    '  metrics: [accuracy]',
    '  evalBatchSize: 64',
    ...(o.extra ? [o.extra] : []),
    '',
  ].join('\n');
}

/** The synthetic problem as an image folder of PNGs (train/<class>/, test/<class>/), for the real CLI. */
export function writePngDataset(root: string, opts: { train?: number; test?: number; seed?: number } = {}): string {
  const data = syntheticDataset(opts);
  for (const [split, s] of [
    ['train', data.train],
    ['test', data.test],
  ] as const) {
    for (const c of CLASSES) fs.mkdirSync(path.join(root, split, c), { recursive: true });
    for (let i = 0; i < s.n; i++) {
      const pixel = (x: number, y: number) => [0, 1, 2].map((ch) => s.x[(i * SIZE * SIZE + y * SIZE + x) * 3 + ch]);
      fs.writeFileSync(
        path.join(root, split, CLASSES[s.y[i]], `${String(i).padStart(4, '0')}.png`),
        png(SIZE, SIZE, pixel),
      );
    }
  }
  return root;
}

export function writeExperiment(dir: string, text: string, file = 'tiny.yaml'): string {
  const p = path.join(dir, file);
  fs.writeFileSync(p, text);
  return p;
}

/** metrics.jsonl rows without the timing fields, which legitimately differ between runs. */
export function metricsWithoutTimings(runDir: string): Array<Record<string, number>> {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds: _s, samplesPerSecond: _r, ...rest } = JSON.parse(l) as Record<string, number>;
      return rest;
    });
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/**
 * Runs `fn` with the training engine off (it sees another tfjs version, so every backend
 * started meanwhile, worker threads included, trains through stock tfjs autograd): the way
 * to exercise the generic path of whole runs now that the direct step takes every model.
 */
export async function withEngineOff<T>(fn: () => Promise<T>): Promise<T> {
  process.env[VERSIONS_ENV] = '@tensorflow/tfjs-core=0.0.0-engine-off';
  try {
    return await fn();
  } finally {
    delete process.env[VERSIONS_ENV];
  }
}
