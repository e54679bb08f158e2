import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { readRunFile, readWeightsFile } from '../run-format/check';
import { MODEL_JSON, WEIGHTS_BIN } from '../run-format/names';
import { writeDirAtomic, type DirFiles } from '../util/atomic-dir';
import { RunError } from '../errors';
import type { TF } from './types';

/**
 * Models on disk in the TensorFlow.js layers format: model.json (topology +
 * weightsManifest pointing at weights.bin) and weights.bin, exactly what
 * tf.loadLayersModel reads. Written through tf.io.withSaveHandler so the bytes land
 * in our atomic directory writer instead of tfjs' own (non-atomic) file handler.
 */

interface ModelJson {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: Array<{ paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }>;
}

function toBytes(tf: TF, data: tfjs.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** model.json and weights.bin of a model, in memory. */
export async function modelFiles(tf: TF, model: tfjs.LayersModel): Promise<DirFiles> {
  let artifacts: tfjs.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const json: ModelJson = {
    modelTopology: a.modelTopology,
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: a.weightSpecs ?? [] }],
  };
  return { [MODEL_JSON]: JSON.stringify(json), [WEIGHTS_BIN]: toBytes(tf, a.weightData) };
}

export async function saveModelDir(tf: TF, model: tfjs.LayersModel, dir: string): Promise<void> {
  writeDirAtomic(dir, await modelFiles(tf, model));
}

/** model.json, checked, and weights.bin, checked to hold exactly the bytes the manifest describes. */
function readModelDir(dir: string): { json: ModelJson; specs: tfjs.io.WeightsManifestEntry[]; weights: ArrayBuffer } {
  const jsonFile = path.join(dir, MODEL_JSON);
  const json = readRunFile<ModelJson>(jsonFile, 'modelJson');
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return { json, specs, weights: toArrayBuffer(readWeightsFile(path.join(dir, WEIGHTS_BIN), jsonFile, specs)) };
}

/** A model folder's model.json and weights.bin, checked without decoding them (throws RunError when damaged). */
export function checkModelDir(dir: string): void {
  readModelDir(dir);
}

/** Bytes as the ArrayBuffer tfjs' weight decoders take. */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** The weights stored in a model folder, by name (the caller disposes them). */
export function readWeights(tf: TF, dir: string): tfjs.NamedTensorMap {
  const { specs, weights } = readModelDir(dir);
  return tf.io.decodeWeights(weights, specs);
}

/**
 * Assigns saved weights to a model built from the same experiment. Matched by the
 * saved (original) weight names, which layerNames() makes identical in every process.
 */
export function assignWeights(model: tfjs.LayersModel, weights: tfjs.NamedTensorMap): void {
  const missing = model.weights.filter((w) => !(w.originalName in weights)).map((w) => w.originalName);
  if (missing.length)
    throw new RunError(`saved weights lack ${missing.join(', ')}: was the model built from another experiment?`);
  model.setWeights(model.weights.map((w) => weights[w.originalName]));
}

/** Loads a saved model folder with stock tf.loadLayersModel (the bytes read here, nothing else of ours). */
export async function loadModelDir(tf: TF, dir: string): Promise<tfjs.LayersModel> {
  const { json, specs, weights } = readModelDir(dir);
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData: weights }),
    );
  } catch (err) {
    throw new RunError(
      `${path.join(dir, MODEL_JSON)}: TensorFlow.js cannot build this model (${(err as Error).message}); the folder is damaged (restore it, or run the experiment again)`,
    );
  }
}
