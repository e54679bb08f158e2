import { selectBackend, type BackendRequest } from '../backend';
import { batches } from '../data';
import { RunError } from '../errors';
import { loadModelDir } from '../pipeline/snapshot';
import { createStepRunner } from '../engine';
import type { ModelSource } from './model-source';
import type { InputSize } from './preprocess';

/**
 * A loaded model that turns uint8 pixels into class probabilities, through the code
 * `pipeline eval` uses: the data pipeline's batches() applies the run's normalization,
 * the step runner's inference forward pass (the direct wasm kernels where the model
 * allows, else tfjs) computes the outputs. Logits become probabilities by softmax.
 */
export interface Predictor {
  readonly source: ModelSource;
  readonly backend: string;
  readonly size: InputSize;
  readonly classes: readonly string[];
  /** Images per forward pass. */
  readonly batchSize: number;
  /**
   * n images (n * h * w * c bytes, HWC) -> n rows of probabilities (one per class), and each
   * image's predicted class: the first highest output, as eval's (and tfjs's) argMax picks it,
   * taken before softmax (which can round two different logits to one probability).
   */
  predict(pixels: Uint8Array, n: number): Predictions;
  dispose(): void;
}

export interface Predictions {
  probabilities: Float32Array;
  predicted: Int32Array;
}

export const DEFAULT_PREDICT_BATCH = 256;

export async function createPredictor(
  source: ModelSource,
  opts: { backend?: BackendRequest; batchSize?: number } = {},
): Promise<Predictor> {
  const m = source.manifest;
  const backend = await selectBackend(opts.backend ?? 'auto');
  const tf = backend.tf;
  const model = await loadModelDir(tf, source.modelDir);
  const [h, w, c] = m.inputShape;
  const k = m.classes.length;
  const input = model.inputs[0].shape.slice(1);
  const output = model.outputs[0].shape.slice(1);
  if (input.join() !== m.inputShape.join() || output.join() !== String(k)) {
    model.dispose();
    throw new RunError(
      `${source.label}: the model takes [${input.join(', ')}] and has ${output.join(', ')} outputs, but its description says [${m.inputShape.join(', ')}] and ${k} classes`,
    );
  }
  const steps = createStepRunner({ tf, model, experiment: m.experiment, numClasses: k, inputShape: m.inputShape });
  const normalize = m.experiment.dataset.normalize;
  const batchSize = opts.batchSize ?? DEFAULT_PREDICT_BATCH;
  const softmax = m.output === 'logits';
  return {
    source,
    backend: backend.name,
    size: { height: h, width: w, channels: c as 1 | 3 },
    classes: m.classes,
    batchSize,
    predict(pixels, n) {
      const out = new Float32Array(n * k);
      const predicted = new Int32Array(n);
      const split = { x: pixels.subarray(0, n * h * w * c), y: new Uint8Array(n), n };
      let row = 0;
      for (const batch of batches(split, [h, w, c], {
        batchSize,
        epoch: 0,
        seed: m.experiment.seed,
        shuffle: false,
        normalize,
      })) {
        const values = steps.outputs(batch);
        for (let i = 0; i < batch.size; i++) predicted[row + i] = argMax(values, i * k, k);
        if (softmax) softmaxRows(values, batch.size, k);
        out.set(values, row * k);
        row += batch.size;
      }
      return { probabilities: out, predicted };
    },
    dispose: () => model.dispose(),
  };
}

function argMax(values: Float32Array, from: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (values[from + j] > values[from + best]) best = j;
  return best;
}

/** In place, row by row, in float64 with the row's maximum subtracted (no overflow). */
export function softmaxRows(values: Float32Array, n: number, k: number): void {
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, values[row + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(values[row + j] - max);
    for (let j = 0; j < k; j++) values[row + j] = Math.exp(values[row + j] - max) / sum;
  }
}

export interface Ranked {
  class: string;
  index: number;
  probability: number;
}

/** The top k classes of image i, highest first: the predicted class, then by probability (ties: lower index first). */
export function topK(p: Predictions, i: number, classes: readonly string[], k: number): Ranked[] {
  const n = classes.length;
  const probs = p.probabilities;
  const first = p.predicted[i];
  const order = Array.from({ length: n }, (_, j) => j);
  order.sort((a, b) => Number(b === first) - Number(a === first) || probs[i * n + b] - probs[i * n + a] || a - b);
  return order
    .slice(0, Math.max(1, Math.min(k, n)))
    .map((j) => ({ class: classes[j], index: j, probability: probs[i * n + j] }));
}
