/**
 * Stride-2 3x3 convolutions by phases and Winograd F(2,2) (kernels/winograd-s2.ts): which calls take it, the
 * forward pass (bias and relu fused) and both gradients through tf.grads against the cpu backend (odd sizes,
 * 'valid', 'same' and explicit padding, channel counts off multiples of 4, too few tiles, stride 2 along one
 * axis only: the other kernels), and a sample's bits against its batch's. Where the native loops run, no call
 * takes that path (the direct kernels do), so these cases run twice: conv2d-stride-two.test.ts as the process
 * chooses, conv2d-stride-two-wasm.test.ts with the native loops off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  strideTwoWinogradFits,
  strideTwoWinogradInputFits,
  strideTwoWinogradShape,
} from '../../src/engine/kernels/winograd-s2';
import { nativeRuns } from '../../src/engine/kernels/heap-loops';
import { convGradsMatchCpu, uniform, useBackend, type Backend } from './gradcheck';

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number;
type Strides = number | [number, number];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * [x, filter, strides, padding, filter gradient, forward, input gradient by Winograd]: 3x3 stride 2 from 8 channels
 * in and out with 4+ tiles an image (2x2 outputs; 4x4 input pixels for the input gradient); forward and input
 * gradient also need Cin*Cout >= 1024.
 */
const routes: Array<[Shape4, Shape4, Strides, Pad, boolean, boolean, boolean]> = [
  [[2, 9, 9, 32], [3, 3, 32, 64], 2, 'same', true, true, true],
  [[2, 10, 11, 37], [3, 3, 37, 57], 2, 'valid', true, true, true],
  [[1, 8, 10, 40], [3, 3, 40, 52], 2, 1, true, true, true],
  [[2, 12, 13, 9], [3, 3, 9, 10], 2, 'same', true, false, false],
  [[1, 9, 8, 36], [3, 3, 36, 30], 2, 2, true, true, true],
  [[1, 9, 7, 24], [3, 3, 24, 43], 2, 'same', true, true, true],
  [[1, 9, 7, 24], [3, 3, 24, 42], 2, 'same', true, false, false],
  [[1, 6, 5, 32], [3, 3, 32, 64], 2, 'same', true, true, true],
  [[2, 9, 9, 32], [3, 3, 32, 64], [2, 1], 'same', false, false, false],
  [[2, 9, 9, 32], [3, 3, 32, 64], [1, 2], 'valid', false, false, false],
  [[1, 5, 5, 32], [3, 3, 32, 64], 2, 'valid', false, false, false],
  [[2, 9, 9, 7], [3, 3, 7, 64], 2, 'same', false, false, false],
  [[2, 9, 9, 32], [5, 5, 32, 64], 2, 'same', false, false, false],
];

const info = (x: Shape4, f: Shape4, strides: Strides, pad: Pad) =>
  tf.backend_util.computeConv2DInfo(x, f, strides, 1, pad);

/** Registers this file's tests. */
export function strideTwoTests(): void {
  test('which convolutions take the stride-2 Winograd path', () => {
    const wasmOnly = !nativeRuns();
    for (const [x, f, strides, pad, filterGrad, forward, inputGrad] of routes) {
      const i = info(x, f, strides, pad);
      const shape: Parameters<typeof strideTwoWinogradFits> = [
        f[0],
        f[1],
        [i.strideHeight, i.strideWidth],
        f[2],
        f[3],
        i.outHeight,
        i.outWidth,
      ];
      const name = `x${x} f${f} s${strides} ${pad}`;
      assert.equal(strideTwoWinogradShape(...shape), filterGrad && wasmOnly, `filter gradient ${name}`);
      assert.equal(strideTwoWinogradFits(...shape), forward && wasmOnly, `forward ${name}`);
      assert.equal(strideTwoWinogradInputFits(i), inputGrad && wasmOnly, `input gradient ${name}`);
    }
  });

  /** y = conv(x, w) + b, relu (or linear without bias), and the gradients of sum(y * r) in x, w (and b). */
  async function convAndGrads(backend: Backend, x: Shape4, f: Shape4, strides: Strides, pad: Pad, fused: boolean) {
    await useBackend(backend);
    return tf.tidy(() => {
      const xt = tf.tensor(uniform(size(x), 1), x);
      const w = tf.tensor(uniform(size(f), 2), f);
      const b = tf.tensor(uniform(f[3], 3), [f[3]]);
      const conv = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides,
          pad,
          bias: b,
          activation: fused ? 'relu' : 'linear',
        });
      const y = conv(xt, w, fused ? b : undefined);
      const r = tf.tensor(uniform(size(y.shape), 4), y.shape);
      const loss = (x: tf.Tensor, w: tf.Tensor, bb?: tf.Tensor) => tf.sum(tf.mul(conv(x, w, bb), r));
      const grads = tf.grads(loss)(fused ? [xt, w, b] : [xt, w]);
      return [y, ...grads].map((t) => t.dataSync() as Float32Array);
    });
  }

  for (const [[x, f, strides, pad], fused] of routes.map((r, i) => [r, i % 2 === 0] as const)) {
    test(`stride-2 3x3 conv and its gradients, wasm against cpu: x${x} f${f} s${strides} ${pad}`, async (t) => {
      await convGradsMatchCpu(t, (b) => convAndGrads(b, x, f, strides, pad, fused));
    });
  }

  /** A kernel's result on the first n of 6 samples. */
  async function firstRows(
    kernel: string,
    n: number,
    x: number[],
    f: Shape4,
    dyShape: number[],
  ): Promise<Float32Array> {
    await useBackend('wasm');
    return tf.tidy(() => {
      const batched = tf
        .tensor(uniform(6 * size(kernel === 'FusedConv2D' ? x : dyShape), 10), [
          6,
          ...(kernel === 'FusedConv2D' ? x : dyShape),
        ])
        .slice(0, n);
      const filter = tf.tensor(uniform(size(f), 11), f);
      const bias = tf.tensor(uniform(f[3], 12), [f[3]]);
      const out =
        kernel === 'FusedConv2D'
          ? tf
              .engine()
              .runKernel(
                kernel,
                { x: batched, filter, bias },
                { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' },
              )
          : tf
              .engine()
              .runKernel(
                kernel,
                { dy: batched, filter },
                { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [n, ...x] },
              );
      return (out as tf.Tensor).dataSync() as Float32Array;
    });
  }

  for (const kernel of ['FusedConv2D', 'Conv2DBackpropInput']) {
    test(`a sample's outputs do not depend on its batch: ${kernel} stride-2 Winograd`, async () => {
      const [x, f]: [number[], Shape4] = [
        [7, 6, 32],
        [3, 3, 32, 64],
      ];
      const dyShape = info([1, ...x] as Shape4, f, 2, 'same').outShape.slice(1);
      const whole = await firstRows(kernel, 6, x, f, dyShape);
      for (const n of [1, 2, 3]) {
        const part = await firstRows(kernel, n, x, f, dyShape);
        assert.deepEqual(part, whole.subarray(0, part.length), `first ${n} of 6`);
      }
    });
  }
}
