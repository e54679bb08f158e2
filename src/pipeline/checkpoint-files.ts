import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { captureOptimizerState, type NamedTensor } from '../engine';
import { readRunFile, readWeightsFile } from '../run-format/check';
import { OPTIMIZER_BIN, OPTIMIZER_JSON, STATE_JSON } from '../run-format/names';
import type { DirFiles } from '../util/atomic-dir';
import { checkModelDir, modelFiles, readWeights, toArrayBuffer } from './snapshot';
import type { LoopPosition, TF } from './types';

/**
 * A checkpoint folder (checkpoints/last/, best/, epoch-0005/): the model in layers
 * format, the optimizer's state, and state.json with the loop position and each
 * callback's state. Together they continue a run bit-for-bit (same backend).
 */

export interface CheckpointState {
  format: 1;
  /** Completed epochs and batches done in the next one, with that partial epoch's sums. */
  position: LoopPosition;
  /**
   * Randomness needs no saved generator state: shuffle and augmentation streams are
   * derived from (seed, 'shuffle'|'augment', epoch) and dropout masks from (layer seed,
   * epoch, batch), so `seed` plus the position reproduces every draw.
   */
  rng: { seed: number; derivedFrom: 'seed, epoch, batch' };
  learningRate: number;
  /** Each callback's own state (early stopping's best and wait, the best checkpoint's value...). */
  callbacks: Record<string, unknown>;
  savedAt: string;
}

interface OptimizerJson {
  className: string;
  config: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }>;
}

/** The files of one checkpoint, in memory, so several folders (last, best, epoch-N) can share one serialization. */
export async function checkpointFiles(
  tf: TF,
  model: tfjs.LayersModel,
  optimizer: tfjs.Optimizer,
  state: CheckpointState,
): Promise<DirFiles> {
  const files = await modelFiles(tf, model);
  const { tensors } = await captureOptimizerState(tf, optimizer);
  try {
    const { data, specs } = await tf.io.encodeWeights(tensors);
    const json: OptimizerJson = {
      className: optimizer.getClassName(),
      config: optimizer.getConfig(),
      weightsManifest: [{ paths: [OPTIMIZER_BIN], weights: specs }],
    };
    files[OPTIMIZER_JSON] = JSON.stringify(json);
    files[OPTIMIZER_BIN] = new Uint8Array(data);
  } finally {
    tf.dispose(tensors.map((t) => t.tensor));
  }
  files[STATE_JSON] = JSON.stringify(state, null, 2) + '\n';
  return files;
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  /** Model weights by saved name (the caller disposes them). */
  weights: tfjs.NamedTensorMap;
  /** Optimizer tensors in saved order (the caller disposes them). */
  optimizer: NamedTensor[];
}

/**
 * The checkpoint's state, after checking every file of it (model and optimizer weights
 * against their manifests) without a backend: a resume refuses a damaged checkpoint
 * before it changes anything in the run.
 */
export function checkCheckpoint(dir: string): CheckpointState {
  checkModelDir(dir);
  const optFile = path.join(dir, OPTIMIZER_JSON);
  const opt = readRunFile<OptimizerJson>(optFile, 'optimizerJson');
  readWeightsFile(
    path.join(dir, OPTIMIZER_BIN),
    optFile,
    opt.weightsManifest.flatMap((g) => g.weights),
  );
  return readCheckpointState(dir);
}

export function readCheckpointState(dir: string): CheckpointState {
  return readRunFile<CheckpointState>(path.join(dir, STATE_JSON), 'checkpointState');
}

export function readCheckpoint(tf: TF, dir: string): LoadedCheckpoint {
  const optFile = path.join(dir, OPTIMIZER_JSON);
  const opt = readRunFile<OptimizerJson>(optFile, 'optimizerJson');
  const specs = opt.weightsManifest.flatMap((g) => g.weights);
  const decoded = tf.io.decodeWeights(
    toArrayBuffer(readWeightsFile(path.join(dir, OPTIMIZER_BIN), optFile, specs)),
    specs,
  );
  return {
    dir,
    state: readCheckpointState(dir),
    weights: readWeights(tf, dir),
    optimizer: specs.map((s) => ({ name: s.name, tensor: decoded[s.name] })),
  };
}
