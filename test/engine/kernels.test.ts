/**
 * Each replaced wasm kernel called directly (tf.engine().runKernel) on inputs chosen to hit
 * its fast path, its edges (tiles that overlap, sizes below one tile) and its fallbacks,
 * against the cpu backend. Also checks that no kernel leaves wasm tensors behind (tfjs's
 * IS_TEST per-kernel leak check plus the backend's data-id count).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { type Backend, relErr, TOLERANCE, uniform, useBackend } from './gradcheck';

interface Input {
  shape: number[];
  dtype?: 'float32' | 'int32';
  values?: number[];
  lo?: number;
  hi?: number;
  quantize?: boolean;
}
interface Case {
  name: string;
  kernel: string;
  inputs: Record<string, Input>;
  attrs?: Record<string, unknown>;
  exact?: boolean;
}

function makeInput(inp: Input, seed: number): tf.Tensor {
  if (inp.values) return tf.tensor(inp.values, inp.shape, inp.dtype ?? 'float32');
  const n = inp.shape.reduce((a, b) => a * b, 1);
  const v = uniform(n, seed, inp.lo ?? -1, inp.hi ?? 1);
  // Few distinct values: ties in max-pool windows.
  if (inp.quantize) for (let i = 0; i < n; i++) v[i] = Math.round(v[i] * 2) / 2;
  return tf.tensor(v, inp.shape, inp.dtype ?? 'float32');
}

const mm = (a: number[], b: number[], transposeA = false, transposeB = false): Case => ({
  name: `BatchMatMul ${JSON.stringify(a)} x ${JSON.stringify(b)} tA=${transposeA} tB=${transposeB}`,
  kernel: 'BatchMatMul',
  inputs: { a: { shape: a }, b: { shape: b } },
  attrs: { transposeA, transposeB },
});
const pool = (x: number[], filterSize: number, strides: number, pad: 'valid' | 'same'): Case => {
  const info = tf.backend_util.computePool2DInfo(x as [number, number, number, number], filterSize, strides, 1, pad);
  return {
    // Overlapping windows add several dy into one dx cell, in another order than cpu's.
    name: `MaxPoolGrad x${JSON.stringify(x)} f${filterSize} s${strides} ${pad} (ties)`,
    kernel: 'MaxPoolGrad',
    exact: strides >= filterSize,
    inputs: { input: { shape: x, quantize: true }, dy: { shape: info.outShape } },
    attrs: { filterSize, strides, pad },
  };
};
const avgPool = (x: number[], filterSize: number, strides: number, pad: 'valid' | 'same'): Case => {
  const info = tf.backend_util.computePool2DInfo(x as [number, number, number, number], filterSize, strides, 1, pad);
  return {
    name: `AvgPoolGrad x${JSON.stringify(x)} f${filterSize} s${strides} ${pad}`,
    kernel: 'AvgPoolGrad',
    // One window per cell: the same single product as cpu.
    exact: strides >= filterSize && pad === 'valid',
    inputs: { input: { shape: x }, dy: { shape: info.outShape } },
    attrs: { filterSize, strides, pad },
  };
};
const bn = (x: number[], stat: number[], affine: boolean): Case => ({
  name: `FusedBatchNorm x${JSON.stringify(x)} statistics ${JSON.stringify(stat)}${affine ? ' scale, offset' : ''}`,
  kernel: 'FusedBatchNorm',
  inputs: {
    x: { shape: x, lo: -3, hi: 3 },
    mean: { shape: stat },
    variance: { shape: stat, lo: 0.01, hi: 2 },
    ...(affine ? { scale: { shape: stat, lo: 0.5, hi: 2 }, offset: { shape: stat } } : {}),
  },
  attrs: { varianceEpsilon: 0.001 },
});
const dw = (
  x: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number,
): Case => {
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
  );
  return {
    name: `Conv2DBackpropFilter x${JSON.stringify(x)} f${JSON.stringify(filterShape)} s${strides} ${pad}`,
    kernel: 'Conv2DBackpropFilter',
    inputs: { x: { shape: x }, dy: { shape: info.outShape } },
    attrs: { strides, pad, dataFormat: 'NHWC', filterShape },
  };
};
const dx = (x: number[], filterShape: number[], strides: number, pad: 'valid' | 'same' | number): Case => {
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
  );
  return {
    name: `Conv2DBackpropInput x${JSON.stringify(x)} f${JSON.stringify(filterShape)} s${strides} ${pad}`,
    kernel: 'Conv2DBackpropInput',
    inputs: { dy: { shape: info.outShape }, filter: { shape: filterShape } },
    attrs: { strides, pad, dataFormat: 'NHWC', inputShape: x },
  };
};

const cases: Case[] = [
  // GEMM tiles: 4 rows x 16 columns with shifted-back edge tiles, full-width tiles for 5..16
  // columns, 4x4, below-one-tile fallbacks.
  mm([32, 576], [576, 120]),
  mm([576, 32], [576, 120], true),
  mm([32, 120], [576, 120], false, true),
  mm([120, 32], [84, 120], true, true),
  mm([5, 7], [7, 9]),
  mm([6, 3], [3, 5]),
  mm([7, 1], [1, 17]),
  mm([4, 4], [4, 4]),
  mm([3, 8], [8, 8]),
  mm([8, 8], [3, 8], false, true),
  mm([9, 5], [5, 14]),
  mm([12, 10], [10, 16]),
  mm([10, 6], [11, 10], true, true),
  mm([1, 11, 9], [1, 11, 6], true),
  // B transposed and the larger copy: Cᵀ = B·op(A)ᵀ, then transposed (m not a multiple of 4, A transposed).
  mm([6, 40], [50, 40], false, true),
  mm([20, 5], [30, 20], true, true),
  mm([32, 256], [1030, 256], false, true),
  mm([3, 5, 7], [3, 7, 6]),
  mm([2, 5, 7], [2, 6, 7], false, true),
  // Sum over leading axes (fast) and others (stock).
  {
    name: 'Sum [32,5,5,6] axes 0,1,2',
    kernel: 'Sum',
    inputs: { x: { shape: [32, 5, 5, 6] } },
    attrs: { axis: [0, 1, 2], keepDims: false },
  },
  {
    name: 'Sum [7,5,9] axes 1,0 keepDims',
    kernel: 'Sum',
    inputs: { x: { shape: [7, 5, 9] } },
    attrs: { axis: [1, 0], keepDims: true },
  },
  { name: 'Sum [7,3] axis -2', kernel: 'Sum', inputs: { x: { shape: [7, 3] } }, attrs: { axis: -2, keepDims: false } },
  {
    name: 'Sum [7,3] axis 1 (stock)',
    kernel: 'Sum',
    inputs: { x: { shape: [7, 3] } },
    attrs: { axis: 1, keepDims: false },
  },
  {
    name: 'Sum [4,6,5] axes 0,2 (stock)',
    kernel: 'Sum',
    inputs: { x: { shape: [4, 6, 5] } },
    attrs: { axis: [0, 2], keepDims: false },
  },
  {
    name: 'Multiply [2,3,4,6] * [6]',
    kernel: 'Multiply',
    exact: true,
    inputs: { a: { shape: [2, 3, 4, 6] }, b: { shape: [6] } },
    attrs: {},
  },
  {
    name: 'Multiply [5] * [3,5]',
    kernel: 'Multiply',
    exact: true,
    inputs: { a: { shape: [5] }, b: { shape: [3, 5] } },
    attrs: {},
  },
  {
    name: 'Multiply [3,5] * [3,5] (stock)',
    kernel: 'Multiply',
    inputs: { a: { shape: [3, 5] }, b: { shape: [3, 5] } },
    attrs: {},
  },
  {
    name: 'Mean [32,5,5,6] axes 0,1,2',
    kernel: 'Mean',
    inputs: { x: { shape: [32, 5, 5, 6] } },
    attrs: { axis: [0, 1, 2], keepDims: false },
  },
  {
    name: 'Mean [7,5,9] axes 1,0 keepDims',
    kernel: 'Mean',
    inputs: { x: { shape: [7, 5, 9] } },
    attrs: { axis: [1, 0], keepDims: true },
  },
  {
    name: 'Mean [4,6,5] axes 0,2 (stock)',
    kernel: 'Mean',
    inputs: { x: { shape: [4, 6, 5] } },
    attrs: { axis: [0, 2], keepDims: false },
  },
  {
    name: 'Sum int32 [5,3] axis 0 (stock)',
    kernel: 'Sum',
    inputs: { x: { shape: [5, 3], dtype: 'int32', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] } },
    attrs: { axis: 0, keepDims: false },
  },
  // Bias add, both operand orders; other shapes go stock.
  {
    name: 'Add [2,3,4,6] + [6]',
    kernel: 'Add',
    exact: true,
    inputs: { a: { shape: [2, 3, 4, 6] }, b: { shape: [6] } },
  },
  { name: 'Add [5] + [3,5]', kernel: 'Add', exact: true, inputs: { a: { shape: [5] }, b: { shape: [3, 5] } } },
  {
    name: 'Add [3,5] + [3,5] (stock)',
    kernel: 'Add',
    exact: true,
    inputs: { a: { shape: [3, 5] }, b: { shape: [3, 5] } },
  },
  {
    name: 'Add [3,1] + [4] (stock broadcast)',
    kernel: 'Add',
    exact: true,
    inputs: { a: { shape: [3, 1] }, b: { shape: [4] } },
  },
  // Centring by a per-channel vector: x - [C] and x - [1,1,1,C]; vector - x and equal shapes stock.
  {
    name: 'Sub [2,3,4,6] - [6]',
    kernel: 'Sub',
    exact: true,
    inputs: { a: { shape: [2, 3, 4, 6] }, b: { shape: [6] } },
  },
  {
    name: 'Sub [2,3,4,5] - [1,1,1,5]',
    kernel: 'Sub',
    exact: true,
    inputs: { a: { shape: [2, 3, 4, 5] }, b: { shape: [1, 1, 1, 5] } },
  },
  { name: 'Sub [5] - [3,5] (stock)', kernel: 'Sub', exact: true, inputs: { a: { shape: [5] }, b: { shape: [3, 5] } } },
  {
    name: 'Sub [3,5] - [3,5] (stock)',
    kernel: 'Sub',
    exact: true,
    inputs: { a: { shape: [3, 5] }, b: { shape: [3, 5] } },
  },
  // Batch normalization's forward map: per-channel statistics (flat or keepDims), with and without
  // scale and offset; statistics of another length go stock.
  bn([2, 5, 5, 6], [6], true),
  bn([3, 4, 5], [1, 1, 5], false),
  bn([4, 7], [7], true),
  {
    name: 'FusedBatchNorm [2,3,4] with scalar statistics (stock)',
    kernel: 'FusedBatchNorm',
    inputs: { x: { shape: [2, 3, 4] }, mean: { shape: [1] }, variance: { shape: [1], lo: 0.1, hi: 2 } },
    attrs: { varianceEpsilon: 0.001 },
  },
  // Activations: the polynomial branch (|x| < 0.625), the exponential one, saturation, a tail of 1-3.
  { name: 'Tanh [7,9] in [-1,1]', kernel: 'Tanh', inputs: { x: { shape: [7, 9] } } },
  { name: 'Tanh [5,7] in [-30,30]', kernel: 'Tanh', inputs: { x: { shape: [5, 7], lo: -30, hi: 30 } } },
  {
    name: 'Tanh edges',
    kernel: 'Tanh',
    inputs: { x: { shape: [9], values: [0, -0, 0.6249, 0.6251, -0.6251, 1e-8, 9, -100, 1e30] } },
  },
  { name: 'Sigmoid [7,9] in [-6,6]', kernel: 'Sigmoid', inputs: { x: { shape: [7, 9], lo: -6, hi: 6 } } },
  {
    name: 'Sigmoid edges',
    kernel: 'Sigmoid',
    inputs: { x: { shape: [7], values: [0, -0, 87, -87, 100, -100, 1e-8] } },
  },
  // Average-pool gradient: windows that tile, overlap, are cut by 'same' padding; channels 1..6.
  avgPool([2, 6, 6, 4], 2, 2, 'valid'),
  avgPool([2, 7, 7, 5], 3, 2, 'same'),
  avgPool([1, 6, 5, 6], 2, 1, 'valid'),
  avgPool([1, 5, 5, 1], 3, 2, 'same'),
  avgPool([2, 28, 28, 6], 2, 2, 'valid'),
  // Disjoint windows with cells no window covers: an odd size, a stride above the window.
  avgPool([1, 7, 7, 6], 2, 2, 'valid'),
  avgPool([1, 8, 7, 3], 2, 3, 'valid'),
  avgPool([1, 7, 5, 5], 2, 2, 'same'),
  // Max-pool gradient: SIMD paths (C >= 4, shifted last channel group for C % 4 != 0) and scalar (C < 4).
  pool([2, 6, 6, 4], 2, 2, 'valid'),
  pool([2, 7, 7, 5], 3, 2, 'same'),
  pool([1, 6, 5, 6], 2, 1, 'valid'),
  pool([2, 5, 5, 8], 3, 1, 'same'),
  pool([1, 4, 4, 3], 2, 2, 'valid'),
  pool([1, 5, 5, 1], 3, 2, 'same'),
  // Windows that do not overlap (stride >= filter), tiling the input exactly or not.
  pool([2, 8, 8, 16], 2, 2, 'valid'),
  pool([2, 7, 7, 6], 2, 2, 'valid'),
  pool([1, 8, 8, 5], 2, 3, 'valid'),
  pool([1, 5, 5, 4], 2, 2, 'same'),
  // Conv filter gradient: the earlier implicit GEMM (Cout 4..7, or filter rows under 4 floats;
  // tiles 4x4, full width 5..16, 4x16 beyond; padding) and the im2col fallback.
  dw([2, 8, 8, 3], [3, 3, 3, 6], 1, 'valid'),
  dw([2, 7, 6, 3], [3, 3, 3, 8], 2, 'same'),
  dw([1, 9, 9, 6], [3, 3, 6, 17], 1, 'same'),
  dw([3, 5, 5, 1], [2, 2, 1, 4], 1, 'valid'),
  dw([2, 6, 6, 2], [3, 3, 2, 12], 1, 'same'),
  dw([2, 7, 7, 6], [3, 3, 6, 16], 2, 'valid'),
  dw([2, 6, 6, 2], [1, 1, 2, 5], 2, 'valid'),
  dw([2, 6, 6, 4], [3, 3, 4, 3], 1, 'same'),
  // The blocked 4x8 kernel (Cout >= 8, a filter row of >= 4 floats): rows of 4..7 floats (one
  // tile whose vectors overlap), 8 and longer (last tile shifted back), channel counts not a
  // multiple of 4 (last 4 shifted back), more than one block of 128 pixels, strides, padding,
  // kernel sizes 1 to 5, and the earlier loop for 1-wide rows over few channels.
  dw([2, 9, 9, 2], [3, 2, 2, 8], 1, 'valid'),
  dw([2, 9, 9, 3], [3, 3, 3, 10], 1, 'same'),
  dw([3, 9, 9, 4], [3, 3, 4, 9], 1, 'valid'),
  dw([2, 11, 10, 5], [5, 5, 5, 12], 2, 'same'),
  dw([1, 12, 12, 16], [3, 3, 16, 33], 2, 'same'),
  dw([2, 6, 6, 8], [1, 1, 8, 10], 1, 'valid'),
  dw([1, 10, 9, 7], [2, 4, 7, 8], [2, 3], 'same'),
  dw([2, 8, 8, 3], [3, 1, 3, 8], 1, 'same'),
  // Short filter rows from 8 channels with the rows side by side (stackRows): strides, explicit padding.
  dw([2, 11, 10, 3], [3, 3, 3, 8], 2, 'same'),
  dw([1, 9, 8, 1], [3, 3, 1, 12], [2, 1], 'valid'),
  dw([2, 7, 7, 3], [3, 3, 3, 16], 1, 1),
  // Conv input gradient: stride 1 as an XNNPACK convolution; other strides by output phase (4+ input
  // channels, conv2d-forward.test.ts) or as GEMM + col2im, as paddings wider than the filter; below one
  // tile (K < 4) stock.
  dx([2, 8, 8, 3], [3, 3, 3, 6], 1, 'valid'),
  dx([2, 7, 6, 3], [2, 2, 3, 5], 1, 'same'),
  dx([1, 7, 7, 2], [3, 3, 2, 4], 1, 1),
  dx([2, 7, 6, 3], [3, 3, 3, 4], 2, 'same'),
  dx([1, 9, 9, 2], [2, 2, 2, 5], 2, 'valid'),
  dx([2, 8, 7, 6], [3, 3, 6, 16], 2, 'valid'),
  dx([1, 5, 5, 2], [2, 2, 2, 4], 1, 3),
  dx([2, 5, 5, 1], [1, 1, 1, 3], 2, 'valid'),
  // Stride 1 as GEMM + col2im where that is faster (>= 16 output channels, more than the input's or >= 64).
  dx([2, 7, 7, 6], [3, 3, 6, 16], 1, 'valid'),
  dx([1, 6, 5, 8], [5, 5, 8, 17], 1, 'same'),
  dx([1, 5, 5, 64], [3, 3, 64, 64], 1, 'same'),
  // Cast: to bool is x != 0; same dtype shares data.
  {
    name: 'Cast float32 -> bool',
    kernel: 'Cast',
    exact: true,
    inputs: { x: { shape: [7], values: [0, 0.5, -0.5, 256, 2.7, -7, NaN] } },
    attrs: { dtype: 'bool' },
  },
  {
    name: 'Cast int32 -> bool',
    kernel: 'Cast',
    exact: true,
    inputs: { x: { shape: [4], dtype: 'int32', values: [0, 5, -7, 256] } },
    attrs: { dtype: 'bool' },
  },
  {
    name: 'Cast float32 -> int32 (stock)',
    kernel: 'Cast',
    exact: true,
    inputs: { x: { shape: [4], values: [-2.7, 2.7, 0.5, 256] } },
    attrs: { dtype: 'int32' },
  },
  {
    name: 'Cast float32 -> float32',
    kernel: 'Cast',
    exact: true,
    inputs: { x: { shape: [3, 2] } },
    attrs: { dtype: 'float32' },
  },
  { name: 'Identity', kernel: 'Identity', exact: true, inputs: { x: { shape: [3, 4] } } },
];

async function run(backend: Backend, c: Case): Promise<{ values: number[]; shape: number[]; dtype: string }> {
  await useBackend(backend);
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v], i) => [k, makeInput(v, 10 + i)]));
  if (c.kernel === 'MaxPoolGrad') {
    const { filterSize, strides, pad } = c.attrs as { filterSize: number; strides: number; pad: 'valid' | 'same' };
    inputs.output = tf.maxPool(inputs.input as tf.Tensor4D, filterSize, strides, pad);
  }
  const idsBefore = tf.engine().backend.numDataIds();
  tf.env().set('IS_TEST', backend === 'wasm'); // per-kernel leak check in the engine
  let out: tf.Tensor;
  try {
    out = tf.engine().runKernel(c.kernel, inputs as tf.NamedTensorMap, (c.attrs ?? {}) as tf.NamedAttrMap) as tf.Tensor;
  } finally {
    tf.env().set('IS_TEST', false);
  }
  const result = { values: Array.from(out.dataSync()), shape: out.shape, dtype: out.dtype };
  out.dispose();
  assert.equal(tf.engine().backend.numDataIds(), idsBefore, `${backend}: ${c.kernel} left tensors behind`);
  tf.dispose(Object.values(inputs));
  return result;
}

for (const c of cases) {
  test(`wasm kernel matches cpu: ${c.name}`, async (t) => {
    const ref = await run('cpu', c);
    const got = await run('wasm', c);
    assert.deepEqual([got.shape, got.dtype], [ref.shape, ref.dtype]);
    if (c.exact) {
      assert.deepEqual(got.values, ref.values);
    } else {
      const err = relErr(got.values, ref.values);
      t.diagnostic(`relative error ${err.toExponential(2)}`);
      assert.ok(err < TOLERANCE, `relative error ${err}`);
    }
  });
}

test('Identity and same-dtype Cast share data: disposing the copy leaves the original intact', async () => {
  await useBackend('wasm');
  const x = tf.tensor([1, 2, 3]);
  const copies = [tf.clone(x), tf.cast(x, 'float32')];
  tf.dispose(copies);
  assert.deepEqual(Array.from(x.dataSync()), [1, 2, 3]);
  x.dispose();
});
