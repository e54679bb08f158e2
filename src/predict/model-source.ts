import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedExperiment } from '../config/load';
import { datasetInfo } from '../data';
import { scanImageFolder } from '../data/image-folder';
import { resolveDataHome } from '../data/paths';
import { DataError, UsageError } from '../errors';
import { MODEL_DIR, MODEL_JSON } from '../run-format/names';
import { readRunFile } from '../run-format/check';
import { readMeta, readResolved } from '../run-format/read';
import type { RunMeta } from '../run-format/types';
import { resolveAtomicDir } from '../util/atomic-dir';
import { resolveRunRef } from '../runs/refs';
import { Run } from '../runs/read';
import { PIPELINE_VERSION } from '../util/version';
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  outputKind,
  preprocessingOf,
  readManifest,
  type ModelManifest,
} from './manifest';

/**
 * Where a trained model comes from: a model bundle (a folder with pipeline.json) or a run
 * (any run reference: NAME/VERSION, NAME/latest, NAME/best, a run folder). Both give the
 * same description, so predict, serve, export (and anything else that uses a model) read
 * a ModelSource and never the run's files themselves.
 */
export interface ModelSource {
  kind: 'run' | 'bundle';
  /** How to name it to the user: NAME/VERSION for a run, the folder for a bundle. */
  label: string;
  /** The folder holding model.json and weights.bin. */
  modelDir: string;
  manifest: ModelManifest;
}

export function openModelSource(ref: string, runsRoot: string): ModelSource {
  const asDir = path.resolve(ref);
  if (fs.existsSync(path.join(asDir, MANIFEST_FILE))) {
    const manifest = readManifest(asDir);
    const modelDir = path.dirname(path.join(asDir, manifest.model));
    if (!fs.existsSync(path.join(asDir, manifest.model)))
      throw new UsageError(`${asDir}: the bundle's model file ${manifest.model} is missing`);
    return { kind: 'bundle', label: ref, modelDir, manifest };
  }
  const { run, checkpoint, label } = resolveRunRef(ref, runsRoot);
  return describeRun(run.dir, checkpoint && { ...checkpoint, label });
}

/**
 * A run folder as a ModelSource: its final model (or the named checkpoint's, for
 * NAME/VERSION@best and the like) and what the run recorded about it.
 */
export function describeRun(runDir: string, checkpoint?: { name: string; dir: string; label: string }): ModelSource {
  const meta = readMeta(runDir);
  const ref = `${meta.name}/${meta.version}`;
  const modelDir = checkpoint?.dir ?? resolveAtomicDir(path.join(runDir, MODEL_DIR));
  if (!modelDir) {
    const status = Run.fromDir(runDir).status();
    const resume =
      status === 'completed' || status === 'diverged' ? '' : `; continue it with: pipeline run --resume ${ref}`;
    throw new UsageError(`${ref} has no saved model (it is ${status}); only completed runs have model/${resume}`);
  }
  const experiment = readResolved(runDir) as unknown as ResolvedExperiment;
  const inputShape = modelInputShape(modelDir);
  const run = Run.fromDir(runDir);
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    run: {
      ref,
      name: meta.name,
      version: meta.version,
      dir: runDir,
      status: meta.status,
      endedAt: meta.endedAt,
      backend: meta.backend,
      ...(checkpoint ? { checkpoint: checkpoint.name } : {}),
    },
    model: MODEL_JSON,
    classes: runClasses(meta, experiment),
    inputShape,
    output: outputKind(experiment),
    preprocessing: preprocessingOf(experiment, inputShape),
    experiment,
    dataset: {
      name: meta.dataset?.name ?? experiment.dataset.name,
      fingerprint: meta.dataset?.fingerprint ?? null,
      counts: meta.dataset?.counts ?? null,
    },
    metrics: {
      mainMetric: meta.mainMetric,
      final: (run.finalMetrics() as Record<string, number> | undefined) ?? null,
      best: (run.bestMetrics() as Record<string, number> | undefined) ?? null,
    },
    createdBy: { pipeline: PIPELINE_VERSION, tfjs: meta.versions.tfjs },
  };
  return { kind: 'run', label: checkpoint?.label ?? ref, modelDir, manifest };
}

/** [height, width, channels] from the saved topology's first layer (batch_input_shape). */
export function modelInputShape(modelDir: string): [number, number, number] {
  const file = path.join(modelDir, MODEL_JSON);
  type Topology = {
    model_config?: Topology;
    config?: { layers?: Array<{ config?: { batch_input_shape?: Array<number | null> } }> };
  };
  const json = readRunFile<{ modelTopology: Topology }>(file, 'modelJson');
  const topology = json.modelTopology.model_config ?? json.modelTopology;
  const shape = topology.config?.layers?.[0]?.config?.batch_input_shape;
  if (shape?.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new UsageError(`${file}: cannot find an image input shape [batch, height, width, channels] in the model`);
  }
  return shape.slice(1) as [number, number, number];
}

/**
 * The class names in output order: recorded in meta.json by runs since they were; for
 * older runs, the dataset's fixed list or dataset.classes, else the train/ folder names
 * as the run would have listed them.
 */
function runClasses(meta: RunMeta, e: ResolvedExperiment): string[] {
  if (meta.dataset?.classes) return meta.dataset.classes;
  const cfg = e.dataset;
  const fixed = datasetInfo(cfg).classes;
  if (fixed) return fixed;
  const home = resolveDataHome(cfg, {}).home;
  try {
    return scanImageFolder(home).classes;
  } catch (err) {
    if (err instanceof DataError)
      throw new DataError(
        `${meta.name}/${meta.version} did not record its class names and its data is gone: ${err.message}`,
      );
    throw err;
  }
}
