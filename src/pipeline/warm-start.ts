import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { LoadedExperiment } from '../config/load';
import { diagnosticAt } from '../config/diagnostics';
import type { PathSeg } from '../config/paths';
import { ConfigError, PipelineError, type Diagnostic } from '../errors';
import { resolveRunRef } from '../runs/refs';
import { didYouMean } from '../util/suggest';
import { readRunFile } from '../run-format/check';
import { MODEL_DIR, MODEL_JSON } from '../run-format/names';
import { resolveAtomicDir } from '../util/atomic-dir';
import { readWeights } from './snapshot';
import type { TF } from './types';

/**
 * `model.init: {from: RUN[@checkpoint], layers: [...]}`: a new run starts from another run's
 * weights, layer by layer (fine-tuning, or a wider head on a trained body). Names are the
 * ones `pipeline inspect` prints; every copied weight must have the same shape in both.
 */
export interface WarmStart {
  /** How the source was named and what it resolved to: cifar-lenet/3@best. */
  label: string;
  dir: string;
  layers: string[];
}

interface WeightSpec {
  name: string;
  shape: number[];
}

/** The source's weights, by saved name, read from its model.json (no tensors). */
function sourceSpecs(dir: string): WeightSpec[] {
  const json = readRunFile<{ weightsManifest: Array<{ weights: WeightSpec[] }> }>(
    path.join(dir, MODEL_JSON),
    'modelJson',
  );
  return json.weightsManifest.flatMap((g) => g.weights);
}

/** Where model.init.from points: a checkpoint, or the run's final model/. Problems at the line of `from`. */
function resolveSource(loaded: LoadedExperiment, runsRoot: string): { label: string; dir: string } {
  const from = loaded.experiment.model.init!.from;
  const at: PathSeg[] = ['model', 'init', 'from'];
  try {
    const ref = resolveRunRef(from, runsRoot);
    if (ref.checkpoint) return { label: ref.label, dir: ref.checkpoint.dir };
    const dir = resolveAtomicDir(path.join(ref.run.dir, MODEL_DIR));
    if (!dir)
      throw new PipelineError(
        `${ref.run.id} has no final model (it is ${ref.run.status()}); name a checkpoint: ${ref.run.id}@last or ${ref.run.id}@best`,
      );
    return { label: ref.label, dir };
  } catch (err) {
    if (!(err instanceof PipelineError)) throw err;
    throw new ConfigError([diagnosticAt(loaded.map, at, err.message)]);
  }
}

/**
 * Checks model.init against the model built for the data: every listed layer exists in both,
 * with weights of equal shapes. All problems at once, each at its line.
 */
export function planWarmStart(
  loaded: LoadedExperiment,
  runsRoot: string,
  model: tfjs.LayersModel,
): WarmStart | undefined {
  const init = loaded.experiment.model.init;
  if (!init) return undefined;
  const { label, dir } = resolveSource(loaded, runsRoot);
  const specs = new Map(sourceSpecs(dir).map((s) => [s.name, s]));
  const withWeights = model.layers.filter((l) => l.weights.length > 0);
  const names = init.layers ? [...init.layers] : withWeights.map((l) => l.name);
  const sourceLayers = [...new Set([...specs.keys()].map((n) => n.split('/')[0]))];
  const problems: Diagnostic[] = [];
  names.forEach((name, i) => {
    const at: PathSeg[] = init.layers ? ['model', 'init', 'layers', i] : ['model', 'init'];
    const layer = model.layers.find((l) => l.name === name);
    if (!layer || layer.weights.length === 0) {
      const known = withWeights.map((l) => l.name);
      const why = layer
        ? `layer "${name}" has no weights`
        : `no layer "${name}" in this model${didYouMean(name, known)}`;
      problems.push(diagnosticAt(loaded.map, at, `${why}; its layers with weights: ${known.join(', ')}`));
      return;
    }
    const missing = layer.weights.some((w) => !specs.has(w.originalName));
    if (missing) {
      problems.push(
        diagnosticAt(
          loaded.map,
          at,
          `${label} has no layer "${name}"${didYouMean(name, sourceLayers)}; its layers with weights: ${sourceLayers.join(', ')}`,
        ),
      );
      return;
    }
    const shapes = (get: (w: tfjs.LayerVariable) => readonly (number | null)[]) =>
      layer.weights.map((w) => `${w.originalName.split('/').pop()} [${get(w).join(', ')}]`).join(', ');
    const mine = shapes((w) => w.shape);
    const theirs = shapes((w) => specs.get(w.originalName)!.shape);
    if (mine !== theirs) {
      problems.push(
        diagnosticAt(
          loaded.map,
          at,
          `${name}: this model's weights are ${mine}, ${label}'s are ${theirs}; copy only layers of the same shape`,
        ),
      );
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return { label, dir, layers: names };
}

/** Copies the planned layers' weights into the model (after its seeded initialization). */
export function applyWarmStart(tf: TF, model: tfjs.LayersModel, ws: WarmStart): void {
  const weights = readWeights(tf, ws.dir);
  try {
    for (const name of ws.layers) {
      const layer = model.layers.find((l) => l.name === name)!;
      layer.setWeights(layer.weights.map((w) => weights[w.originalName]));
    }
  } finally {
    tf.dispose(Object.values(weights));
  }
}
