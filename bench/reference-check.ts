/**
 * What the PyTorch reference's check mode (bench/torch_from_config.py --check) compares against:
 * the pipeline's own model and training step, run for a few steps from its initial weights.
 *
 * Writes into DIR/check/: weights.f32 + weights.json (every layer's initial weights, by layer name, in
 * tfjs layout), steps.f32 + steps.json (each step's batch, the training-mode loss and logits, the
 * gradients of the first step), and after the steps the weights again and the inference-mode logits
 * of one test batch. Same weights in, the two frameworks must agree to float precision: any layer the
 * reference builds differently (padding, initial scale aside, batch-norm statistics, optimizer
 * arithmetic) shows as a mismatch there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { selectBackend, type BackendRequest } from '../src/backend';
import { buildModel } from '../src/builders/model';
import { learningRateAt } from '../src/builders/schedules';
import type { LoadedExperiment } from '../src/config/load';
import type { LoadedDataset } from '../src/data';
import { batches } from '../src/data/batches';
import { buildOptimizer, createStepRunner, setLearningRate, type Batch, type StepRunner, type TF } from '../src/engine';

/** Appends float32 arrays to one buffer and records where each went. */
class Blob {
  private parts: Float32Array[] = [];
  private offset = 0;
  add(values: ArrayLike<number>): { offset: number; length: number } {
    const a = Float32Array.from(values);
    this.parts.push(a);
    const at = { offset: this.offset, length: a.length };
    this.offset += a.length;
    return at;
  }
  write(file: string): void {
    const out = Buffer.alloc(this.offset * 4);
    let at = 0;
    for (const p of this.parts) {
      Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(out, at * 4);
      at += p.length;
    }
    fs.writeFileSync(file, out);
  }
}

function layerWeights(model: tfjs.LayersModel, blob: Blob) {
  return model.layers
    .filter((l) => l.weights.length > 0)
    .map((l) => ({
      layer: l.name,
      weights: l.weights.map((w) => ({ name: w.originalName, shape: w.shape, ...blob.add(w.read().dataSync()) })),
    }));
}

/** The model's inference-mode outputs for one batch. */
function inferenceLogits(
  tf: TF,
  model: tfjs.LayersModel,
  batch: Batch,
  shape: readonly [number, number, number],
): Float32Array {
  return tf.tidy(() =>
    (model.apply(tf.tensor4d(batch.x, [batch.size, ...shape]), { training: false }) as tfjs.Tensor).dataSync(),
  ) as Float32Array;
}

/** The pipeline's own training step on the first `steps` batches of epoch 0, recorded into `blob`. */
function replaySteps(
  tf: TF,
  model: tfjs.LayersModel,
  runner: StepRunner,
  batchList: Iterable<Batch>,
  shape: readonly [number, number, number],
  steps: number,
  blob: Blob,
) {
  const rows = [];
  let index = 0;
  for (const batch of batchList) {
    if (index === steps) break;
    const before = blob.add(inferenceLogits(tf, model, batch, shape));
    const { grads, sums } = runner.computeGradients(batch, 0, index);
    const gradients =
      index === 0 ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, blob.add(g.dataSync())])) : undefined;
    runner.applyGradients(grads);
    tf.dispose(grads);
    const row = { x: blob.add(batch.x), y: Array.from(batch.y), size: batch.size, loss: sums[0] / batch.size };
    rows.push({ ...row, inferenceLogitsBefore: before, gradients });
    index++;
  }
  return rows;
}

export async function writeCheck(
  out: string,
  loaded: LoadedExperiment,
  data: LoadedDataset,
  backendName: BackendRequest,
  steps: number,
): Promise<void> {
  const e = loaded.experiment;
  const { tf, name } = await selectBackend(backendName);
  const model = buildModel(tf, e, data.shape, data.classes.length);
  const optimizer = buildOptimizer(tf, e, e.training.optimizer.learningRate);
  const rate = learningRateAt(e.training.optimizer.learningRate, e.training.schedule as never, 0, e.training.epochs);
  setLearningRate(optimizer, rate);
  const numClasses = data.classes.length;
  const runner = createStepRunner({ tf, model, optimizer, experiment: e, numClasses, inputShape: data.shape });
  const dir = path.join(out, 'check');
  fs.mkdirSync(dir, { recursive: true });
  const blob = new Blob();
  const initial = layerWeights(model, blob);
  blob.write(path.join(dir, 'weights.f32'));

  const stepBlob = new Blob();
  const { batchSize } = e.training;
  const opts = { batchSize, epoch: 0, seed: e.seed, shuffle: e.dataset.shuffle, normalize: e.dataset.normalize };
  const train = batches(data.train, data.shape, { ...opts, augment: e.dataset.augment } as never);
  const rows = replaySteps(tf, model, runner, train, data.shape, steps, stepBlob);
  const test = batches(data.test, data.shape, { ...opts, shuffle: false } as never).next().value!;
  const testX = stepBlob.add(test.x);
  const testLogits = stepBlob.add(inferenceLogits(tf, model, test, data.shape));
  const after = layerWeights(model, stepBlob);
  stepBlob.write(path.join(dir, 'steps.f32'));
  const varToLayer = Object.fromEntries(
    model.layers.flatMap((l) =>
      l.trainableWeights.map((w) => [w.name, { layer: l.name, index: l.weights.indexOf(w) }]),
    ),
  );
  const json = (file: string, v: unknown) => fs.writeFileSync(path.join(dir, file), JSON.stringify(v, null, 1));
  json('weights.json', { backend: name, learningRate: rate, layers: initial });
  json('steps.json', { steps: rows, test: { x: testX, size: test.size, logits: testLogits }, after, varToLayer });
}
