/**
 * The LeNet-like reference model used by the wasm kernel benchmarks (bench/kernels.ts) and
 * the per-kernel profile (bench/kernels-profile.ts): 32x32x3 input,
 * conv 3->6 3x3 relu, maxpool 2, conv 6->16 3x3 relu, maxpool 2, flatten, dense 120 relu,
 * dense 84 relu, dense 10, softmax cross-entropy, Adam.
 */
import type * as tfTypes from '@tensorflow/tfjs';

type Tf = typeof tfTypes;

/** softmaxOutput: end in a softmax (for categoricalCrossentropy); else logits. */
export function buildLenet(tf: Tf, softmaxOutput = false): tfTypes.Sequential {
  const L = tf.layers;
  return tf.sequential({
    layers: [
      L.conv2d({ inputShape: [32, 32, 3], filters: 6, kernelSize: 3, activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.flatten(),
      L.dense({ units: 120, activation: 'relu' }),
      L.dense({ units: 84, activation: 'relu' }),
      L.dense({ units: 10, activation: softmaxOutput ? 'softmax' : 'linear' }),
    ],
  });
}

export function randomBatch(tf: Tf, batch: number): { x: tfTypes.Tensor; y: tfTypes.Tensor } {
  return tf.tidy(() => ({
    x: tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 1),
    y: tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2) as tfTypes.Tensor1D, 10),
  }));
}

/** One training step as the pipeline's trainer does it: minimize softmax CE with Adam. */
export function makeStep(tf: Tf, model: tfTypes.Sequential, opt: tfTypes.Optimizer) {
  return (x: tfTypes.Tensor, y: tfTypes.Tensor): void => {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tfTypes.Tensor) as tfTypes.Scalar,
      true,
    );
    loss?.dataSync(); // wait for the step (wasm is synchronous anyway) and read the loss like a trainer would
    loss?.dispose();
  };
}
