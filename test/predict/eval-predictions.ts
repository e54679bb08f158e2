/**
 * Each test example's predicted class as `pipeline eval` computes it (evaluate.ts's loop:
 * the run's dataset through batches() at evalBatchSize, the step runner's evaluate() with
 * predictions), in the dataset's order: for an image folder, class folders in class order,
 * files sorted by name, the order `pipeline predict FOLDER` lists them.
 *
 *   node dist/test/predict/eval-predictions.js RUN_DIR PREDICT_JSONL   (PIPELINE_DATA_DIR as for eval)
 * compares them with `pipeline predict --json` output and prints {examples, differences}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { selectBackend } from '../../src/backend';
import { batches, loadDataset } from '../../src/data';
import type { DatasetConfig, NormalizeConfig } from '../../src/data/types';
import { loadRunExperiment } from '../../src/run-format/experiment';
import { loadModelDir } from '../../src/pipeline/snapshot';
import { createStepRunner } from '../../src/engine';

export async function evalPredictions(
  runDir: string,
  env: { cacheDir?: string } = {},
): Promise<{ classes: string[]; predicted: number[] }> {
  const e = loadRunExperiment(runDir).experiment;
  const { tf } = await selectBackend('wasm');
  const dataset = await loadDataset(e.dataset as DatasetConfig, { seed: e.seed, cacheDir: env.cacheDir });
  const model = await loadModelDir(tf, path.join(runDir, 'model'));
  const steps = createStepRunner({
    tf,
    model,
    experiment: e,
    numClasses: dataset.classes.length,
    inputShape: dataset.shape,
  });
  const predicted: number[] = [];
  const opts = {
    batchSize: e.training.evalBatchSize,
    epoch: 0,
    seed: e.seed,
    shuffle: false,
    normalize: e.dataset.normalize as NormalizeConfig,
  };
  for (const batch of batches(dataset.test, dataset.shape, opts))
    predicted.push(...steps.evaluate(batch, true).predicted!);
  model.dispose();
  return { classes: dataset.classes, predicted };
}

if (require.main === module) {
  const [runDir, jsonl] = process.argv.slice(2);
  void evalPredictions(path.resolve(runDir)).then(({ classes, predicted }) => {
    const lines = fs
      .readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { predictions: Array<{ class: string }> });
    const differences = lines.filter((l, i) => classes.indexOf(l.predictions[0].class) !== predicted[i]).length;
    process.stdout.write(
      JSON.stringify({ examples: predicted.length, predictLines: lines.length, differences }) + '\n',
    );
  });
}
