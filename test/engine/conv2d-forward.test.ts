/**
 * The implicit-GEMM and Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions (kernels/conv2d-forward.ts,
 * winograd-conv.ts): FusedConv2D, and
 * its gradients (Conv2DBackpropInput, whose stride-1 path runs the same kernel on the rotated
 * filter, and Conv2DBackpropFilter) through tf.grad, against the cpu backend, for every padding
 * (valid, same, explicit), stride (1, 2, 3, [2, 1], [1, 2]), filter size (1x1, 3x3, 5x5, 2x4), channel
 * counts on every tile (4, full width 5-8, 8-wide tiles with a shifted-back last one) and the
 * fallbacks (3 output channels, activations other than relu, fewer than 4 pixels).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { phasesOf } from '../../src/engine/kernels/phase-input-grad';
import { tileBlocks, winogradTileFor } from '../../src/engine/kernels/winograd-conv';
import { type Backend, convGradsMatchCpu, uniform, useBackend } from './gradcheck';

type Pad = 'valid' | 'same' | number;
interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  activation: 'linear' | 'relu' | 'elu';
  bias: boolean;
}

const c = (
  x: Case['x'],
  filter: Case['filter'],
  strides: Case['strides'],
  pad: Pad,
  activation: Case['activation'] = 'relu',
  bias = true,
): Case => ({ x, filter, strides, pad, activation, bias });

const cases: Case[] = [
  c([2, 9, 9, 3], [3, 3, 3, 6], 1, 'valid'),
  c([2, 9, 9, 3], [3, 3, 3, 6], 1, 'same', 'linear', false),
  c([2, 12, 12, 3], [5, 5, 3, 6], 1, 'valid'),
  c([2, 8, 8, 6], [5, 5, 6, 16], 1, 'valid', 'linear'),
  c([2, 8, 8, 6], [5, 5, 6, 16], 1, 'same'),
  c([2, 9, 9, 8], [3, 3, 8, 8], 1, 'same'),
  c([2, 8, 8, 16], [3, 3, 16, 32], 2, 'same'),
  c([2, 9, 9, 16], [3, 3, 16, 12], 2, 'same', 'linear'),
  c([2, 7, 7, 12], [3, 3, 12, 17], 1, 'same'),
  c([1, 7, 6, 9], [3, 3, 9, 4], 1, 1, 'linear'),
  c([2, 7, 6, 5], [2, 4, 5, 10], [2, 1], 'same'),
  c([2, 6, 6, 10], [1, 1, 10, 10], 1, 'valid'),
  c([2, 6, 6, 8], [3, 3, 8, 9], 2, 'valid', 'linear', false),
  c([1, 7, 7, 4], [3, 3, 4, 5], 1, 2),
  // Input gradients into 6 and 4 channels through the implicit GEMM (dx at most 1.5x dy's pixels).
  c([2, 15, 15, 6], [3, 3, 6, 16], 1, 'valid'),
  c([1, 12, 12, 4], [3, 3, 4, 8], 1, 'valid', 'linear'),
  // Winograd F(2x2, 3x3) (3x3, stride 1, 8+ channels in and out): odd output sizes, explicit padding, and
  // one 2x2 tile only (below its 4-tile minimum: the implicit GEMM).
  c([2, 8, 7, 8], [3, 3, 8, 12], 1, 'valid'),
  c([1, 5, 6, 16], [3, 3, 16, 8], 1, 1, 'linear'),
  c([2, 6, 6, 9], [3, 3, 9, 10], 1, 'same', 'relu', false),
  c([1, 4, 4, 8], [3, 3, 8, 8], 1, 'valid'),
  c([1, 6, 5, 32], [3, 3, 32, 64], 1, 'same', 'linear'),
  // Winograd F(4x4, 3x3) (from 7x7 outputs an image, winogradTileFor): sizes not a multiple of 4 ('valid', 'same',
  // explicit padding), channel counts not a multiple of 4, with and without bias and relu, 32 -> 64, more tiles
  // than one block (tileBlocks: 192 and 32 tiles in 2 blocks; F(2x2) 396 tiles in 2).
  c([3, 30, 30, 8], [3, 3, 8, 8], 1, 'same'),
  c([44, 6, 6, 8], [3, 3, 8, 8], 1, 'same', 'linear'),
  c([1, 19, 18, 10], [3, 3, 10, 9], 1, 'valid', 'linear'),
  c([2, 17, 15, 9], [3, 3, 9, 13], 1, 'same', 'relu', false),
  c([1, 14, 15, 12], [3, 3, 12, 8], 1, 2, 'linear', false),
  c([2, 16, 16, 32], [3, 3, 32, 64], 1, 'same'),
  c([2, 8, 8, 8], [3, 3, 8, 8], 1, 'same', 'linear'),
  // Strided input gradients by output phase (stride-1 convolutions of sub-filters, 4+ input channels):
  // 3x3 stride 3 (one tap a phase), 5x5 stride 2 with odd sizes, 2x2 stride 2, explicit padding,
  // stride [1, 2]; a 1x1 stride-2 filter leaves phases without taps, [1,3,3,8] stride 2 a phase below
  // 4 pixels an image (both GEMM + col2im).
  c([2, 9, 9, 8], [3, 3, 8, 8], 3, 'same'),
  c([2, 11, 10, 4], [5, 5, 4, 8], 2, 'valid', 'linear'),
  c([1, 8, 9, 6], [5, 5, 6, 12], 2, 'same'),
  c([2, 8, 8, 7], [2, 2, 7, 8], 2, 'valid'),
  c([1, 9, 8, 8], [3, 3, 8, 16], 2, 1, 'linear'),
  c([2, 6, 7, 9], [3, 2, 9, 8], [1, 2], 'same'),
  c([2, 6, 6, 8], [1, 1, 8, 8], 2, 'valid'),
  c([1, 3, 3, 8], [3, 3, 8, 8], 2, 'same'),
  // Fallbacks to the stock kernel: 3 output channels, elu, a single output pixel.
  c([2, 6, 6, 4], [3, 3, 4, 3], 1, 'same'),
  c([2, 6, 6, 4], [3, 3, 4, 8], 1, 'same', 'elu'),
  c([1, 3, 3, 4], [3, 3, 4, 8], 1, 'valid'),
];

const name = (k: Case) =>
  `x${JSON.stringify(k.x)} f${JSON.stringify(k.filter)} s${k.strides} ${k.pad} ${k.activation}${k.bias ? ' bias' : ''}`;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The convolution's output and the gradients of sum(y * r) with respect to x, the filter and the bias. */
async function convAndGrads(backend: Backend, k: Case): Promise<Float32Array[]> {
  await useBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor(uniform(size(k.x), 1), k.x);
    const w = tf.tensor(uniform(size(k.filter), 2), k.filter);
    const b = tf.tensor(uniform(k.filter[3], 3), [k.filter[3]]);
    const f = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) =>
      tf.fused.conv2d({
        x,
        filter: w,
        strides: k.strides,
        pad: k.pad,
        bias: k.bias ? b : undefined,
        activation: k.activation,
      });
    const y = f(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D);
    const r = tf.tensor(uniform(size(y.shape), 4), y.shape);
    const loss = (x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor = b) =>
      tf.sum(tf.mul(f(x as tf.Tensor4D, w as tf.Tensor4D, bb as tf.Tensor1D), r));
    const grads = tf.grads(loss)(k.bias ? [x, w, b] : [x, w]);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

for (const k of cases) {
  test(`FusedConv2D and its gradients, wasm against cpu: ${name(k)}`, async (t) => {
    await convGradsMatchCpu(t, (b) => convAndGrads(b, k));
  });
}

/**
 * A sample's outputs never depend on the batch it comes in (1 worker's whole batch against 2 workers'
 * halves, predict against serve's batches): each kernel on the first 1, 2 and 3 samples gives, bit for bit,
 * the first rows of its result on 6 samples. (Batch-dependent choices between kernels that round
 * differently, e.g. the fused multiply-adds of the relaxed-SIMD GEMM against XNNPACK, would break this.)
 */
interface RowCase {
  name: string;
  kernel: string;
  /** Inputs with the batch first (sliced), then the rest (whole). */
  batched: Record<string, number[]>;
  fixed?: Record<string, number[]>;
  attrs: (n: number) => Record<string, unknown>;
}
const conv = (x: number[], f: number[], strides: number, pad: 'valid' | 'same'): RowCase[] => {
  const info = tf.backend_util.computeConv2DInfo([6, ...x] as Case['x'], f as Case['filter'], strides, 1, pad);
  const name = `x[n,${x}] f[${f}] s${strides} ${pad}`;
  return [
    {
      name: `FusedConv2D ${name}`,
      kernel: 'FusedConv2D',
      batched: { x },
      fixed: { filter: f, bias: [f[3]] },
      attrs: () => ({ strides, pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' }),
    },
    {
      name: `Conv2DBackpropInput ${name}`,
      kernel: 'Conv2DBackpropInput',
      batched: { dy: info.outShape.slice(1) },
      fixed: { filter: f },
      attrs: (n) => ({ strides, pad, dataFormat: 'NHWC', inputShape: [n, ...x] }),
    },
  ];
};
const rowCases: RowCase[] = [
  ...conv([6, 6, 3], [3, 3, 3, 6], 1, 'valid'),
  ...conv([8, 8, 8], [3, 3, 8, 16], 1, 'same'),
  ...conv([16, 16, 8], [3, 3, 8, 16], 1, 'same'),
  // Winograd blocks of at most 42 tiles: 6 images (96 tiles) in 3 blocks, 3 in 2, 1 and 2 in 1.
  ...conv([16, 16, 32], [3, 3, 32, 32], 1, 'same'),
  ...conv([17, 18, 12], [3, 3, 12, 9], 1, 'valid'),
  ...conv([4, 4, 8], [3, 3, 8, 8], 1, 'valid'),
  ...conv([6, 6, 16], [3, 3, 16, 8], 2, 'same'),
  ...conv([7, 9, 6], [5, 5, 6, 8], 2, 'valid'),
  ...conv([7, 7, 6], [5, 5, 6, 16], 1, 'valid'),
  {
    name: 'BatchMatMul [n,40] x [40,12]',
    kernel: 'BatchMatMul',
    batched: { a: [40] },
    fixed: { b: [40, 12] },
    attrs: () => ({}),
  },
  {
    name: 'BatchMatMul [n,12] x [40,12]ᵀ',
    kernel: 'BatchMatMul',
    batched: { a: [12] },
    fixed: { b: [40, 12] },
    attrs: () => ({ transposeB: true }),
  },
];

async function runRows(c: RowCase, n: number): Promise<Float32Array> {
  await useBackend('wasm');
  return tf.tidy(() => {
    const inputs: Record<string, tf.Tensor> = {};
    let seed = 10;
    for (const [k, s] of Object.entries(c.batched))
      inputs[k] = tf.tensor(uniform(6 * size(s), seed++), [6, ...s]).slice(0, n);
    for (const [k, s] of Object.entries(c.fixed ?? {})) inputs[k] = tf.tensor(uniform(size(s), seed++), s);
    const out = tf.engine().runKernel(c.kernel, inputs, c.attrs(n) as tf.NamedAttrMap) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

for (const c of rowCases) {
  test(`a sample's outputs do not depend on its batch: ${c.name}`, async () => {
    const whole = await runRows(c, 6);
    for (const n of [1, 2, 3]) {
      const part = await runRows(c, n);
      assert.deepEqual(part, whole.subarray(0, part.length), `first ${n} of 6`);
    }
  });
}

/**
 * Which strided input gradients go by output phase (kernels/phase-input-grad.ts), and each axis's phases as
 * [phase r, first tap i0, taps, dx positions, first dy row in the padded dy] with dy's padding [before, after]:
 * null where a phase has no tap (filter below the stride) or fewer than 4 pixels an image.
 */
test('strided input gradients: the output phases along each axis', () => {
  const table: Array<[number[], number[], number, 'same' | 'valid', unknown]> = [
    // dx[2a] = dy[a] W[0] + dy[a-1] W[2]: sub-filter [W2, W0] from dy row a-1 (one zero row above).
    [
      [32, 32, 16],
      [3, 3, 16, 32],
      2,
      'same',
      {
        rows: {
          before: 1,
          after: 0,
          phases: [
            [0, 0, 2, 16, 0],
            [1, 1, 1, 16, 1],
          ],
        },
        cols: {
          before: 1,
          after: 0,
          phases: [
            [0, 0, 2, 16, 0],
            [1, 1, 1, 16, 1],
          ],
        },
      },
    ],
    [
      [9, 9, 8],
      [3, 3, 8, 8],
      3,
      'same',
      {
        rows: {
          before: 0,
          after: 0,
          phases: [
            [0, 0, 1, 3, 0],
            [1, 1, 1, 3, 0],
            [2, 2, 1, 3, 0],
          ],
        },
        cols: {
          before: 0,
          after: 0,
          phases: [
            [0, 0, 1, 3, 0],
            [1, 1, 1, 3, 0],
            [2, 2, 1, 3, 0],
          ],
        },
      },
    ],
    // 'valid', 11 rows from 4 (10 columns from 3): dx[2a] = sum_t dy[a - t] W[2t] (two zero rows above, two below).
    [
      [11, 10, 4],
      [5, 5, 4, 8],
      2,
      'valid',
      {
        rows: {
          before: 2,
          after: 2,
          phases: [
            [0, 0, 3, 6, 0],
            [1, 1, 2, 5, 1],
          ],
        },
        cols: {
          before: 2,
          after: 2,
          phases: [
            [0, 0, 3, 5, 0],
            [1, 1, 2, 5, 1],
          ],
        },
      },
    ],
    [[6, 6, 8], [1, 1, 8, 8], 2, 'valid', null],
    [[3, 3, 8], [3, 3, 8, 8], 2, 'same', null],
  ];
  type Phase = { r: number; i0: number; taps: number; count: number; start: number };
  const arrays = (axis: { before: number; after: number; phases: Phase[] }) => ({
    before: axis.before,
    after: axis.after,
    phases: axis.phases.map((p) => [p.r, p.i0, p.taps, p.count, p.start]),
  });
  for (const [x, f, strides, pad, expected] of table) {
    const info = tf.backend_util.computeConv2DInfo([1, ...x] as Case['x'], f as Case['filter'], strides, 1, pad);
    const got = phasesOf(info);
    assert.deepEqual(got && { rows: arrays(got.rows), cols: arrays(got.cols) }, expected, `x${x} f${f} s${strides}`);
  }
});

/** Which Winograd variant a 3x3 stride-1 convolution takes: [OH, OW, Cin, Cout, tile (0: the implicit GEMM)]. */
test('3x3 stride-1 convolutions: F(4x4, 3x3) where it needs fewer products than F(2x2, 3x3), per image', () => {
  const table: Array<[number, number, number, number, number]> = [
    [16, 16, 32, 32, 4],
    [32, 32, 16, 16, 4],
    [8, 8, 64, 64, 4],
    [7, 7, 8, 8, 4], // 4 tiles of 4x4: 144 products against 16 tiles of 2x2: 256
    [6, 6, 8, 8, 2], // 144 against 144
    [5, 8, 8, 8, 4], // 144 against 192
    [9, 5, 12, 9, 4], // 6 tiles: 216 against 15 tiles: 240
    [3, 5, 8, 8, 2], // 2 tiles of 4x4 (below 4), 6 of 2x2
    [3, 3, 8, 8, 2],
    [2, 3, 8, 8, 0], // 2 tiles of 2x2
    [16, 16, 4, 32, 0],
    [16, 16, 32, 7, 0],
  ];
  const got = table.map(([oh, ow, cin, cout]) => [oh, ow, cin, cout, winogradTileFor(oh, ow, cin, cout)]);
  assert.deepEqual(got, table);
});

/** Tile blocks: near-equal, at least 4 tiles each, covering 0..t. */
test('Winograd tile blocks', () => {
  const table: Array<[number, number, number[], number?]> = [
    [4, 36 * 128, [0, 4]],
    [9, 36 * 1000, [0, 5, 9]],
    [100, 36 * 64, [0, 34, 67, 100]],
    [40, 16 * 64, [0, 40]],
    [40, 16 * 64, [0, 40], Number.POSITIVE_INFINITY],
    [40, 16 * 64, [0, 8, 16, 24, 32, 40], 1024], // blocks of at least 8 tiles
  ];
  for (const [t, floats, expected, bytes] of table)
    assert.deepEqual(tileBlocks(t, floats, bytes), expected, `${t} tiles, ${bytes ?? 'default'} bytes`);
});
