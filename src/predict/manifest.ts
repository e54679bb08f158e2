import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedExperiment } from '../config/load';
import { LOSSES } from '../builders/losses';
import { UsageError } from '../errors';

/**
 * pipeline.json: everything a trained model needs besides its weights to be used on its
 * own: the class names in output order, the input shape, the preprocessing the run
 * trained with, the experiment as resolved, the dataset fingerprint and the metrics.
 * The format of a model bundle (`pipeline export`); for a run folder the same
 * description is assembled from the run's files (model-source.ts), so predict and serve
 * read one shape whichever they were given.
 */

export const MANIFEST_FILE = 'pipeline.json';
export const MANIFEST_FORMAT = 'pipeline-model-bundle';
export const MANIFEST_VERSION = 1;

export interface Preprocessing {
  /** JPEG and PNG, decoded to 8-bit pixels (libjpeg-turbo, pngjs). */
  decode: { formats: ['jpeg', 'png']; channels: 1 | 3; colour: string };
  /** Images of another size are resized to the input size (bilinear, half-pixel centres). */
  resize: { height: number; width: number; method: 'bilinear'; halfPixelCenters: true };
  /** x = (pixel / 255 - mean[c]) / std[c] per channel, float32, NHWC; `type` as the experiment says. */
  normalize: { type: 'scale' | 'standardize'; mean: number[]; std: number[]; formula: string };
}

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: typeof MANIFEST_VERSION;
  /** The run it came from: NAME/VERSION and where its folder was; `checkpoint` (best, last, epoch-0012) when the model is one of its checkpoints rather than its final model. */
  run: {
    ref: string;
    name: string;
    version: number;
    dir: string;
    status: string;
    endedAt: string | null;
    backend: string;
    checkpoint?: string;
  };
  /** The tfjs layers model, relative to this file. */
  model: string;
  classes: string[];
  /** [height, width, channels], NHWC float32 with a batch dimension in front. */
  inputShape: [number, number, number];
  /** What the model's outputs are: logits (softmax gives probabilities), probabilities, or plain values. */
  output: 'logits' | 'probabilities' | 'values';
  preprocessing: Preprocessing;
  experiment: ResolvedExperiment;
  dataset: { name: string; fingerprint: string | null; counts: Record<string, number> | null };
  metrics: {
    mainMetric: { name: string; goal: 'max' | 'min' };
    final: Record<string, number> | null;
    best: Record<string, number> | null;
  };
  createdBy: { pipeline: string; tfjs: string };
}

const CHANNEL_WORDS = {
  1: 'grey (colour images converted with ITU-R 601 luma)',
  3: 'RGB (alpha dropped, grey repeated)',
} as const;

/** The preprocessing of an experiment's dataset section, with scale written out as mean 0, std 1. */
export function preprocessingOf(e: ResolvedExperiment, shape: readonly [number, number, number]): Preprocessing {
  const [height, width, channels] = shape;
  const n = e.dataset.normalize;
  const perChannel = (v: readonly number[]) =>
    Array.from({ length: channels }, (_, c) => (v.length === 1 ? v[0] : v[c]));
  const standard = n.type === 'standardize';
  return {
    decode: {
      formats: ['jpeg', 'png'],
      channels: channels as 1 | 3,
      colour: CHANNEL_WORDS[channels as 1 | 3] ?? `${channels} channels`,
    },
    resize: { height, width, method: 'bilinear', halfPixelCenters: true },
    normalize: {
      type: n.type,
      mean: standard ? perChannel(n.mean) : new Array<number>(channels).fill(0),
      std: standard ? perChannel(n.std) : new Array<number>(channels).fill(1),
      formula: 'x[c] = (pixel[c] / 255 - mean[c]) / std[c]',
    },
  };
}

export function outputKind(e: ResolvedExperiment): ModelManifest['output'] {
  return LOSSES.require(e.training.loss).expects;
}

/** Reads and checks a bundle's pipeline.json; UsageError naming the file for anything unusable. */
export function readManifest(dir: string): ModelManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let value: Partial<ModelManifest>;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ModelManifest>;
  } catch (err) {
    throw new UsageError(
      `${file}: ${(err as NodeJS.ErrnoException).code ? 'cannot read' : 'not valid JSON'}: ${(err as Error).message}`,
    );
  }
  if (value.format !== MANIFEST_FORMAT)
    throw new UsageError(
      `${file}: not a pipeline model bundle (format is ${JSON.stringify(value.format)}, expected "${MANIFEST_FORMAT}")`,
    );
  if (value.formatVersion !== MANIFEST_VERSION) {
    throw new UsageError(
      `${file}: bundle format version ${JSON.stringify(value.formatVersion)}; this pipeline reads version ${MANIFEST_VERSION}`,
    );
  }
  for (const key of ['model', 'classes', 'inputShape', 'preprocessing', 'experiment', 'output'] as const) {
    if (value[key] === undefined) throw new UsageError(`${file}: missing "${key}"`);
  }
  return value as ModelManifest;
}
