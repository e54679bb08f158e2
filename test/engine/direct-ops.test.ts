/**
 * The direct step's activations (src/engine/direct/activations.ts) and its pooling and padding
 * ops against the cpu backend:
 *   - each activation's forward and gradient loops against tfjs's own activation on cpu, with how
 *     close they are (the loops evaluate tfjs's formulas in float32 with polynomial e^x, ln x, tanh);
 *   - a model per activation and per op trained one step on the direct step (wasm) and by tfjs
 *     autograd on cpu from the same weights and batch: loss and every weight's gradient agree to
 *     relative error < 1e-4 (gradcheck.ts), and its plan has no `tfjs` node;
 *   - the plans of the seed's model and of every bench family have no `tfjs` node (classic LeNet's
 *     tanh layers and average pooling and all-conv's global average pooling included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/select';
import { buildModel } from '../../src/builders/model';
import { loadExperimentFile, loadExperimentText, type ResolvedExperiment } from '../../src/config/load';
import { createStepRunner } from '../../src/engine';
import { activationBackward, activationForward, type ActivationName } from '../../src/engine/direct/activations';
import { CallScope } from '../../src/engine/direct/call-scope';
import { planDirectStep } from '../../src/engine/direct/plan';
import { ACTIVATIONS } from '../../src/registry/schema-parts';
import { relErr, TOLERANCE, uniform } from './gradcheck';

const SHAPE: [number, number, number] = [9, 9, 3];
const CLASSES = 5;

/**
 * How far each loop may be from tfjs on cpu, per element: |ours - cpu| <= bound * max(1, |cpu|)
 * (relative above 1, absolute below), forward and gradient, on 4,096 points in [-12, 12] and the
 * edges (0, +-1e-8, the switch points 0.5, 2.5 and 13.94). Measured worst (float32 rounding of
 * the same formulas): forwards 0 (relu, relu6, hardSigmoid, softsign, linear) to 1.2e-7 (selu,
 * softplus, swish), gradients 0 to 3.6e-7 (gelu_new), 6.0e-7 (mish) and 7.2e-7 (swish).
 */
const BOUNDS: Record<string, { forward: number; gradient: number }> = {
  default: { forward: 5e-7, gradient: 5e-7 },
  // s + x s (1 - s) against the tape's sum of two products: ~7e-7 near x = +-12.
  swish: { forward: 5e-7, gradient: 1.5e-6 },
  // The tape forms 1 - tanh^2 from a rounded tanh near 1: 5.6e-7 from the exact gradient near x = 9,
  // where our closed form (r (2 - r), r = 1 - tanh) is 1.3e-7 from it (both measured in double precision).
  mish: { forward: 5e-7, gradient: 1e-6 },
};

function points(): Float32Array {
  const edges = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 0.49999, -0.49999, 2.5, -2.5, 6, 13.94, -13.94, 13.95, -13.95];
  return Float32Array.from([...uniform(4096, 5, -12, 12), ...edges]);
}

/** Our loops' forward and gradient (dy = 1 at every element) at `x`, on the wasm backend. */
function ours(a: ActivationName, x: Float32Array, shape: number[]) {
  const scope = new CallScope(tf);
  try {
    const xt = scope.write(x, shape);
    const y = activationForward(scope, a, xt, false);
    const dy = scope.write(new Float32Array(x.length).fill(1), shape);
    const dx = activationBackward(scope, a, dy, xt, y);
    return { y: Float32Array.from(scope.heapF32(y)), dx: Float32Array.from(scope.heapF32(dx)) };
  } finally {
    scope.free();
  }
}

/** tfjs's activation and its gradient (of the sum of its outputs) on cpu. */
function reference(a: ActivationName, x: Float32Array, shape: number[]) {
  const fn = tf.layers.activation({ activation: a }) as unknown as { activation: { apply(t: tf.Tensor): tf.Tensor } };
  return tf.tidy(() => {
    const xt = tf.tensor(x, shape);
    const y = fn.activation.apply(xt).dataSync() as Float32Array;
    // softmax's rows sum to 1: the gradient of their sum is 0; weight the outputs instead.
    const w = a === 'softmax' ? tf.tensor(uniform(x.length, 9), shape) : tf.onesLike(xt);
    const dx = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(fn.activation.apply(t), w)))(xt)
      .dataSync() as Float32Array;
    return { y, dx, w: w.dataSync() as Float32Array };
  });
}

const worst = (got: Float32Array, want: Float32Array) =>
  Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]) / Math.max(1, Math.abs(want[i]))));

for (const a of ACTIVATIONS) {
  test(`activation loop ${a}: forward and gradient as tfjs computes them on cpu`, async (t) => {
    // 4,111 elements: the loops' 4-lane body and their 3-element tail; softmax: 587 rows of 7.
    const x = a === 'softmax' ? points().slice(0, 587 * 7) : points();
    const shape = a === 'softmax' ? [587, 7] : [x.length];
    await selectBackend('cpu');
    const ref = reference(a, x, shape);
    await selectBackend('wasm');
    const got = ours(a, x, shape);
    if (a === 'softmax') {
      // The gradient with dy = the weights the reference used.
      const scope = new CallScope(tf);
      const y = scope.write(got.y, shape);
      const dx = activationBackward(scope, a, scope.write(ref.w, shape), undefined, y);
      got.dx = Float32Array.from(scope.heapF32(dx));
      scope.free();
    }
    const bound = BOUNDS[a] ?? BOUNDS.default;
    const [f, g] = [worst(got.y, ref.y), worst(got.dx, ref.dx)];
    t.diagnostic(`${a}: worst forward ${f.toExponential(1)}, gradient ${g.toExponential(1)}`);
    assert.ok(f <= bound.forward, `${a} forward: worst difference ${f}`);
    assert.ok(g <= bound.gradient, `${a} gradient: worst difference ${g}`);
  });
}

function experiment(layers: string[]): ResolvedExperiment {
  const text = [
    'version: 1',
    'name: direct-ops',
    'seed: 5',
    'dataset: {name: imageFolder, path: /nonexistent, imageSize: [9, 9], channels: 3, classes: [a, b, c, d, e]}',
    'model:',
    '  layers:',
    ...layers.map((l) => `    - ${l}`),
    'training: {epochs: 1, batchSize: 8, optimizer: {type: adam}, loss: softmaxCrossEntropy, metrics: [accuracy]}',
    '',
  ].join('\n');
  return loadExperimentText('direct-ops.yaml', text).experiment;
}

/** [what, layers, the layers that stay tfjs nodes (by class)]. */
const CASES: Array<[string, string[], string[]?]> = [
  ...ACTIVATIONS.map((a): [string, string[]] => [
    `${a} after a convolution, as a layer and after a dense layer`,
    [
      `{type: conv2d, filters: 3, kernelSize: 3, activation: ${a}}`,
      `{type: activation, activation: ${a}}`,
      '{type: flatten}',
      `{type: dense, units: 6, activation: ${a}}`,
      '{type: dense, units: 5}',
    ],
  ]),
  [
    'average pooling 2x2 valid, then 3x3 stride 2 same',
    [
      '{type: conv2d, filters: 4, kernelSize: 2, activation: tanh}',
      '{type: averagePooling2d, poolSize: 2}',
      '{type: conv2d, filters: 4, kernelSize: 1}',
      '{type: averagePooling2d, poolSize: 3, strides: 2, padding: same}',
      '{type: flatten}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'average pooling [2, 3] stride [1, 2] valid, then same with stride 1',
    [
      '{type: conv2d, filters: 5, kernelSize: 2}',
      '{type: averagePooling2d, poolSize: [2, 3], strides: [1, 2]}',
      '{type: averagePooling2d, poolSize: 2, strides: 1, padding: same}',
      '{type: flatten}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    'global average pooling over 3 and over 5 channels',
    [
      '{type: conv2d, filters: 3, kernelSize: 3, activation: elu}',
      '{type: conv2d, filters: 5, kernelSize: 1}',
      '{type: globalAveragePooling2d}',
    ],
  ],
  [
    'zero padding, symmetric and uneven, before convolutions',
    [
      '{type: zeroPadding2d, padding: 1}',
      '{type: conv2d, filters: 3, kernelSize: 3, activation: sigmoid}',
      '{type: zeroPadding2d, padding: [[1, 2], [0, 3]]}',
      '{type: conv2d, filters: 4, kernelSize: 3, strides: 2}',
      '{type: flatten}',
      '{type: dense, units: 5}',
    ],
  ],
  [
    '1-D max and average pooling (valid; same, stride 2), dense and softmax layers over steps, global average pooling',
    [
      '{type: reshape, targetShape: [27, 9]}',
      '{type: conv1d, filters: 4, kernelSize: 3, activation: tanh}',
      '{type: maxPooling1d, poolSize: 2}',
      '{type: averagePooling1d, poolSize: 3, strides: 2, padding: same}',
      '{type: dense, units: 5, activation: selu}',
      '{type: softmax}',
      '{type: globalAveragePooling1d}',
    ],
    ['Reshape', 'Conv1D'],
  ],
];

function batch(n: number) {
  const x = uniform(n * SHAPE[0] * SHAPE[1] * SHAPE[2], 21, -1, 1);
  return { x, y: Uint8Array.from({ length: n }, (_, i) => (i * 3) % CLASSES), size: n };
}

/** One step's loss sum and gradients (in trainable-weight order) on `backend`, from `weights` when given; on wasm the plan's tfjs nodes. */
async function step(backend: 'cpu' | 'wasm', e: ResolvedExperiment, weights?: Float32Array[]) {
  await selectBackend(backend);
  const model = buildModel(tf, e, SHAPE, CLASSES);
  try {
    if (weights) model.setWeights(model.weights.map((w, i) => tf.tensor(weights[i], w.shape as number[])));
    const tfjsNodes = backend === 'wasm' ? tfjsLayers(model, e) : [];
    const steps = createStepRunner({ tf, model, experiment: e, numClasses: CLASSES, inputShape: SHAPE });
    const { grads, sums } = steps.computeGradients(batch(8), 0, 0);
    const values = model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name].dataSync() as Float32Array);
    tf.dispose(grads);
    const start = model.weights.map((w) => w.read().dataSync() as Float32Array);
    return { implementation: steps.implementation, loss: sums[0], values, start, tfjsNodes };
  } finally {
    model.dispose();
  }
}

/** The classes of the layers the plan leaves to tfjs. */
function tfjsLayers(model: tf.LayersModel, e: ResolvedExperiment): string[] {
  const plan = planDirectStep(tf, model, e);
  if ('unsupported' in plan) return [`unsupported: ${plan.unsupported}`];
  return plan.nodes.flatMap((n) => (n.op.kind === 'tfjs' ? [n.op.layer.getClassName()] : []));
}

function planKinds(model: tf.LayersModel, e: ResolvedExperiment): string[] {
  const plan = planDirectStep(tf, model, e);
  if ('unsupported' in plan) return [`unsupported: ${plan.unsupported}`];
  return plan.nodes.map((n) => n.op.kind);
}

for (const [name, layers, tfjsNodes] of CASES) {
  test(`direct step (wasm) = tfjs autograd on cpu, relative error < 1e-4: ${name}`, async () => {
    const e = experiment(layers);
    const got = await step('wasm', e);
    assert.deepEqual(got.implementation, { direct: true });
    assert.deepEqual(got.tfjsNodes, tfjsNodes ?? [], 'the layers left to tfjs');
    const ref = await step('cpu', e, got.start);
    assert.deepEqual(ref.implementation, { direct: false, reason: 'backend cpu' });
    assert.ok(relErr([got.loss], [ref.loss]) < TOLERANCE, `loss ${got.loss} vs ${ref.loss}`);
    ref.values.forEach((want, i) => {
      const err = relErr(got.values[i], want);
      assert.ok(err < TOLERANCE, `weight ${i}: relative error ${err}`);
    });
  });
}

const REPO = path.resolve(__dirname, '../../..');
const BENCHED: Array<[string, string[]]> = [
  ['configs/cifar-lenet.yaml', ['conv2d', 'maxPool', 'conv2d', 'maxPool', 'flatten', 'dense', 'dense', 'dense']],
  [
    'bench/families/classic-lenet.yaml',
    ['conv2d', 'avgPool', 'conv2d', 'avgPool', 'flatten', 'dense', 'dense', 'dense'],
  ],
  ['bench/families/all-conv.yaml', ['conv2d', 'conv2d', 'conv2d', 'conv2d', 'conv2d', 'globalAvgPool']],
  [
    'bench/families/lenet-bn.yaml',
    ['conv2d', 'batchNorm', 'maxPool', 'conv2d', 'batchNorm', 'maxPool', 'flatten', 'dense', 'dense', 'dense'],
  ],
  [
    'bench/families/vgg-style.yaml',
    [
      'conv2d',
      'conv2d',
      'maxPool',
      'dropout',
      'conv2d',
      'conv2d',
      'maxPool',
      'dropout',
      'flatten',
      'dense',
      'dropout',
      'dense',
    ],
  ],
];
for (const [file, kinds] of BENCHED) {
  test(`${file}: the plan of the benchmarked model has no tfjs node`, async () => {
    await selectBackend('wasm');
    const e = loadExperimentFile(path.join(REPO, file)).experiment;
    const model = buildModel(tf, e, [32, 32, 3], 10);
    try {
      assert.deepEqual(planKinds(model, e), kinds);
    } finally {
      model.dispose();
    }
  });
}
