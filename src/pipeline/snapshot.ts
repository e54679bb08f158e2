import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { writeDirAtomic, type DirFiles } from './atomic-dir';
import type { TF } from './types';

/**
 * Models on disk in the TensorFlow.js layers format: model.json (topology +
 * weightsManifest pointing at weights.bin) and weights.bin, exactly what
 * tf.loadLayersModel reads. Written through tf.io.withSaveHandler so the bytes land
 * in our atomic directory writer instead of tfjs' own (non-atomic) file handler.
 */

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

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

function readModelJson(dir: string): ModelJson {
  return JSON.parse(fs.readFileSync(path.join(dir, MODEL_JSON), 'utf8')) as ModelJson;
}

/** A file's bytes as the ArrayBuffer tfjs' weight decoders take. */
export function readBytes(file: string): ArrayBuffer {
  const buf = fs.readFileSync(file);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** The weights stored in a model folder, by name (the caller disposes them). */
export function readWeights(tf: TF, dir: string): tfjs.NamedTensorMap {
  const json = readModelJson(dir);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return tf.io.decodeWeights(readBytes(path.join(dir, WEIGHTS_BIN)), specs);
}

/**
 * Assigns saved weights to a model built from the same experiment. Matched by the
 * saved (original) weight names, which layerNames() makes identical in every process.
 */
export function assignWeights(model: tfjs.LayersModel, weights: tfjs.NamedTensorMap): void {
  const missing = model.weights.filter((w) => !(w.originalName in weights)).map((w) => w.originalName);
  if (missing.length) throw new Error(`saved weights lack ${missing.join(', ')}: was the model built from another experiment?`);
  model.setWeights(model.weights.map((w) => weights[w.originalName]));
}

/** Loads a saved model folder with stock tf.loadLayersModel (the bytes read here, nothing else of ours). */
export async function loadModelDir(tf: TF, dir: string): Promise<tfjs.LayersModel> {
  const json = readModelJson(dir);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as object,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: readBytes(path.join(dir, WEIGHTS_BIN)),
    }),
  );
}
