/**
 * MaxPoolGrad routing on windows whose max is <= 0 (all-zero, all-negative, ties), where the
 * stock tfjs-backend-wasm 4.22 kernel sends the gradient to window element 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './gradcheck';

// One 4x4 image, 2x2 windows, stride 2. Windows (top-left, top-right, bottom-left, bottom-right):
//   all zero        -> first element (0,0)
//   all negative    -> the max -0.5 at (1,3)
//   tie of two 3s   -> the first 3, at (2,1)
//   zeros and -1s   -> the first 0 in row-major order, at (3,2)
const X = [0, 0, -2, -3, 0, 0, -4, -0.5, -9, 3, -1, -1, 3, -7, 0, 0];
const DY = [10, 20, 30, 40];
const EXPECTED_DX = [10, 0, 0, 0, 0, 0, 0, 20, 0, 30, 0, 0, 0, 0, 40, 0];

function runMaxPoolGrad(): number[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(X, [1, 4, 4, 1]);
    const y = tf.maxPool(x, 2, 2, 'valid');
    const dy = tf.tensor4d(DY, [1, 2, 2, 1]);
    const dx = tf
      .engine()
      .runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor;
    return Array.from(dx.dataSync());
  });
}

test('stock wasm MaxPoolGrad misroutes windows whose max is <= 0 (upstream defect this package works around)', async () => {
  // Before registerWasmKernels: the stock kernel. If this starts failing, upstream fixed it
  // and our replacement can be reconsidered.
  await tf.setBackend('wasm');
  await tf.ready();
  // Max <= 0 windows (all zero, all negative, zeros and -1s) "choose" flat input index 0: the
  // window holding it sends its gradient there, the others lose theirs (20 and 40 vanish).
  // The tie of 3s goes to the last 3.
  assert.deepEqual(runMaxPoolGrad(), [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0]);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`MaxPoolGrad on ${backend} routes each window's gradient to its first maximum`, async () => {
    await useBackend(backend);
    assert.deepEqual(runMaxPoolGrad(), EXPECTED_DX);
  });
}

test('MaxPoolGrad with same padding never routes to padding, all-negative input, wasm equals cpu exactly', async () => {
  const run = async (backend: 'cpu' | 'wasm') => {
    await useBackend(backend);
    return tf.tidy(() => {
      const x = tf.neg(
        tf.add(
          1,
          tf.abs(
            tf.tensor4d(
              Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)),
              [2, 5, 5, 3],
            ),
          ),
        ),
      );
      const g = tf.grad((v: tf.Tensor) =>
        tf.sum(
          tf.mul(tf.maxPool(v as tf.Tensor4D, 3, 2, 'same'), tf.range(1, 1 + 2 * 3 * 3 * 3).reshape([2, 3, 3, 3])),
        ),
      )(x);
      return Array.from(g.dataSync());
    });
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assert.deepEqual(wasm, cpu);
  assert.equal(
    wasm.reduce((a, b) => a + b, 0),
    (54 * 55) / 2,
    'every output cell routed its gradient exactly once',
  );
});
