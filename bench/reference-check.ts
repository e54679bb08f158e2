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
import { buildOptimizer, createStepRunner, setLearningRate } from '../src/engine';

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
  const runner = createStepRunner({
    tf,
    model,
    optimizer,
    experiment: e,
    numClasses: data.classes.length,
    inputShape: data.shape,
  });
  const dir = path.join(out, 'check');
  fs.mkdirSync(dir, { recursive: true });
  const blob = new Blob();
  const initial = layerWeights(model, blob);
  blob.write(path.join(dir, 'weights.f32'));

  const stepBlob = new Blob();
  const opts = {
    batchSize: e.training.batchSize,
    epoch: 0,
    seed: e.seed,
    shuffle: e.dataset.shuffle,
    normalize: e.dataset.normalize,
    augment: e.dataset.augment,
  };
  const rows = [];
  let index = 0;
  for (const batch of batches(data.train, data.shape, opts as never)) {
    if (index === steps) break;
    const logits = stepBlob.add(
      tf.tidy(() =>
        (model.apply(tf.tensor4d(batch.x, [batch.size, ...data.shape]), { training: false }) as tfjs.Tensor).dataSync(),
      ),
    );
    const { grads, sums } = runner.computeGradients(batch, 0, index);
    const gradients =
      index === 0
        ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, stepBlob.add(g.dataSync())]))
        : undefined;
    runner.applyGradients(grads);
    tf.dispose(grads);
    rows.push({
      x: stepBlob.add(batch.x),
      y: Array.from(batch.y),
      size: batch.size,
      loss: sums[0] / batch.size,
      inferenceLogitsBefore: logits,
      gradients,
    });
    index++;
  }
  const test = batches(data.test, data.shape, { ...opts, shuffle: false, augment: undefined } as never).next().value!;
  const testX = stepBlob.add(test.x);
  const testLogits = stepBlob.add(
    tf.tidy(() =>
      (model.apply(tf.tensor4d(test.x, [test.size, ...data.shape]), { training: false }) as tfjs.Tensor).dataSync(),
    ),
  );
  const after = layerWeights(model, stepBlob);
  stepBlob.write(path.join(dir, 'steps.f32'));
  const varToLayer = Object.fromEntries(
    model.layers.flatMap((l) =>
      l.trainableWeights.map((w) => [w.name, { layer: l.name, index: l.weights.indexOf(w) }]),
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'weights.json'),
    JSON.stringify({ backend: name, learningRate: rate, layers: initial }, null, 1),
  );
  fs.writeFileSync(
    path.join(dir, 'steps.json'),
    JSON.stringify(
      { steps: rows, test: { x: testX, size: test.size, logits: testLogits }, after, varToLayer },
      null,
      1,
    ),
  );
}
