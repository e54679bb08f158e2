import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { ResolvedExperiment } from '../config/load';
import { selectBackend, type BackendRequest } from '../backend';
import { parseOverride } from '../config/overrides';
import { formatPath } from '../config/paths';
import { batches, loadDataset, type LoadedDataset } from '../data';
import { RunError, UsageError } from '../errors';
import { loadRunExperiment } from '../run-format/experiment';
import { MODEL_DIR } from '../run-format/names';
import { readMeta } from '../run-format/read';
import { Run } from '../runs/read';
import { resolveAtomicDir } from '../util/atomic-dir';
import { fixed, thousands } from './format';
import { loadModelDir } from './snapshot';
import { createStepRunner } from '../engine';
import type { TF } from './types';

/**
 * `pipeline eval RUN`: the run's saved model (loaded with stock tf.loadLayersModel) on
 * the test split of its dataset, or of another dataset given with --set dataset.*.
 */

export interface EvalRequest {
  /** The run folder. */
  runDir: string;
  /** Evaluate this checkpoint of the run (checkpoints/best/, ...) instead of its final model/. */
  checkpoint?: { name: string; dir: string };
  /** --set values; only dataset.* may change (the model is fixed). */
  overrides?: readonly string[];
  dataDir?: string;
  backend?: BackendRequest;
  /** Tests: data in memory instead of loadDataset(). */
  dataset?: LoadedDataset;
  log?: (msg: string) => void;
  /** Ctrl-C: a download or decode of the data stops at once. */
  signal?: AbortSignal;
}

export interface EvalReport {
  run: string;
  runDir: string;
  modelDir: string;
  backend: string;
  dataset: { name: string; split: 'test'; examples: number };
  loss: number;
  /** Every configured metric, by name (accuracy always included). */
  metrics: Record<string, number>;
  accuracy: number;
  classes: string[];
  perClass: Array<{ class: string; examples: number; correct: number; accuracy: number }>;
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

export async function evaluateRun(req: EvalRequest): Promise<EvalReport> {
  const runDir = path.resolve(req.runDir);
  const extra = datasetOverrides(req.overrides ?? []);
  const meta = readMeta(runDir);
  const e = loadRunExperiment(runDir, extra).experiment;
  const modelDir = req.checkpoint?.dir ?? finalModelDir(runDir, `${meta.name}/${meta.version}`);
  const backend = await selectBackend(req.backend ?? 'auto');
  const tf = backend.tf;
  const dataset =
    req.dataset ??
    (await loadDataset(e.dataset, {
      dataDir: req.dataDir,
      seed: e.seed,
      log: req.log,
      signal: req.signal,
    }));
  const model = await loadModelDir(tf, modelDir);
  try {
    checkModelFits(model, dataset);
    const { metrics, confusion } = scoreTestSplit(tf, model, e, dataset);
    const perClass = dataset.classes.map((name, c) => {
      const examples = confusion[c].reduce((a, b) => a + b, 0);
      return { class: name, examples, correct: confusion[c][c], accuracy: examples ? confusion[c][c] / examples : NaN };
    });
    return {
      run: `${meta.name}/${meta.version}${req.checkpoint ? `@${req.checkpoint.name.replace(/^epoch-0*(?=[0-9])/, 'epoch-')}` : ''}`,
      runDir,
      modelDir,
      backend: backend.name,
      dataset: { name: dataset.name, split: 'test', examples: dataset.test.n },
      loss: metrics.loss,
      metrics,
      accuracy: metrics.accuracy,
      classes: [...dataset.classes],
      perClass,
      confusion,
    };
  } finally {
    model.dispose();
  }
}

/** The --set values, refused unless they change dataset.* (the model and training are the run's). */
function datasetOverrides(overrides: readonly string[]): string[] {
  for (const raw of overrides) {
    const key = formatPath(parseOverride(raw).path);
    if (!key.startsWith('dataset.'))
      throw new UsageError(
        `--set ${raw}: eval can only change dataset.* (the model and training are fixed by the run)`,
      );
  }
  return [...overrides];
}

/** The run's final model folder; a run that has none is told how to get one. */
function finalModelDir(runDir: string, id: string): string {
  const dir = resolveAtomicDir(path.join(runDir, MODEL_DIR));
  if (dir) return dir;
  const status = Run.fromDir(runDir).status();
  const resume = status === 'completed' ? '' : `; continue it with: pipeline run --resume ${id}`;
  throw new UsageError(
    `${id} has no saved model (it is ${status}); only completed runs have ${MODEL_DIR}/${status === 'diverged' ? '' : resume}`,
  );
}

function checkModelFits(model: tfjs.LayersModel, dataset: LoadedDataset): void {
  const k = dataset.classes.length;
  const input = model.inputs[0].shape.slice(1);
  const output = model.outputs[0].shape.slice(1);
  if (input.join() !== dataset.shape.join() || output.join() !== String(k)) {
    throw new RunError(
      `the model takes [${input.join(', ')}] and predicts ${output.join(', ')} classes, but ${dataset.name} has [${dataset.shape.join(', ')}] images of ${k} classes`,
    );
  }
}

/** Every configured metric (accuracy always) over the test split, and its confusion matrix. */
function scoreTestSplit(tf: TF, model: tfjs.LayersModel, e: ResolvedExperiment, dataset: LoadedDataset) {
  const k = dataset.classes.length;
  const withAccuracy = e.training.metrics.includes('accuracy')
    ? e
    : { ...e, training: { ...e.training, metrics: [...e.training.metrics, 'accuracy'] } };
  const steps = createStepRunner({ tf, model, experiment: withAccuracy, numClasses: k, inputShape: dataset.shape });
  const sums = new Array<number>(steps.keys.length).fill(0);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const split = dataset.test;
  const opts = {
    batchSize: e.training.evalBatchSize,
    epoch: 0,
    seed: e.seed,
    shuffle: false,
    normalize: e.dataset.normalize,
  };
  for (const batch of batches(split, dataset.shape, opts)) {
    const { sums: s, predicted } = steps.evaluate(batch, true);
    s.forEach((v, i) => (sums[i] += v));
    for (let j = 0; j < batch.size; j++) confusion[batch.y[j]][predicted![j]]++;
  }
  const metrics = Object.fromEntries(steps.keys.map((key, i) => [key, sums[i] / split.n]));
  return { metrics, confusion };
}

export function formatEvalReport(r: EvalReport): string {
  const nameWidth = Math.max(5, ...r.classes.map((c) => c.length));
  const lines = [
    `${r.run} on ${r.dataset.name} ${r.dataset.split} (${thousands(r.dataset.examples)} examples), model ${r.modelDir}, backend ${r.backend}`,
    Object.entries(r.metrics)
      .map(([k, v]) => `${k} ${fixed(v)}`)
      .join('  '),
    '',
    `${'class'.padEnd(nameWidth)}  examples  correct  accuracy`,
    ...r.perClass.map(
      (c) =>
        `${c.class.padEnd(nameWidth)}  ${thousands(c.examples).padStart(8)}  ${thousands(c.correct).padStart(7)}  ${fixed(c.accuracy).padStart(8)}`,
    ),
    '',
    'confusion matrix (rows: true class, columns: predicted class)',
  ];
  // Columns are numbered (names can share a prefix); each row names its number and class.
  const cell = Math.max(4, ...r.confusion.flat().map((v) => String(v).length));
  const digits = String(r.classes.length - 1).length;
  const label = (i: number) => `${String(i).padStart(digits)} ${r.classes[i]}`.padEnd(digits + 1 + nameWidth);
  lines.push(`${''.padEnd(digits + 1 + nameWidth)} ${r.classes.map((_, i) => String(i).padStart(cell)).join(' ')}`);
  r.confusion.forEach((row, i) => lines.push(`${label(i)} ${row.map((v) => String(v).padStart(cell)).join(' ')}`));
  return lines.join('\n') + '\n';
}
