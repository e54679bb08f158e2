/**
 * Conv2DBackpropFilter (missing in stock tfjs-backend-wasm 4.22), called as a kernel: both data
 * formats, odd sizes and paddings, against cpu; and no data id leaks (tfjs's IS_TEST check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { type Backend, relErr, TOLERANCE, uniform, useBackend } from './gradcheck';

interface Case {
  name: string;
  x: number[];
  filter: number[];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
}

const cases: Case[] = [
  { name: 'NHWC 3x3 s1 valid', x: [2, 7, 6, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid', dataFormat: 'NHWC' },
  { name: 'NHWC 3x3 s2 same', x: [2, 7, 6, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NHWC' },
  {
    name: 'NHWC 2x3 s[2,1] explicit pad 1',
    x: [1, 6, 5, 2],
    filter: [2, 3, 2, 3],
    strides: [2, 1],
    pad: 1,
    dataFormat: 'NHWC',
  },
  { name: 'NHWC 1x1 s2 valid', x: [3, 5, 5, 4], filter: [1, 1, 4, 2], strides: 2, pad: 'valid', dataFormat: 'NHWC' },
  {
    name: 'NHWC 3x3 s1 same, batch 1',
    x: [1, 1, 1, 2],
    filter: [3, 3, 2, 2],
    strides: 1,
    pad: 'same',
    dataFormat: 'NHWC',
  },
  { name: 'NCHW 3x3 s2 same', x: [2, 3, 7, 6], filter: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NCHW' },
];

function outShapeOf(c: Case): number[] {
  const xNhwc = c.dataFormat === 'NHWC' ? c.x : [c.x[0], c.x[2], c.x[3], c.x[1]];
  const info = tf.backend_util.computeConv2DInfo(
    xNhwc as [number, number, number, number],
    c.filter as [number, number, number, number],
    c.strides,
    1,
    c.pad,
  );
  const [n, h, w, ch] = info.outShape;
  return c.dataFormat === 'NHWC' ? [n, h, w, ch] : [n, ch, h, w];
}

async function backpropFilter(backend: Backend, c: Case, leakCheck = false): Promise<Float32Array> {
  await useBackend(backend);
  const dyShape = outShapeOf(c);
  const x = tf.tensor(
    uniform(
      c.x.reduce((a, b) => a * b),
      5,
    ),
    c.x,
  );
  const dy = tf.tensor(
    uniform(
      dyShape.reduce((a, b) => a * b),
      6,
    ),
    dyShape,
  );
  tf.env().set('IS_TEST', leakCheck); // makes the engine throw if a kernel leaks data ids
  try {
    const dw = tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, filterShape: c.filter },
      ) as tf.Tensor;
    assert.deepEqual(dw.shape, c.filter);
    const values = dw.dataSync() as Float32Array;
    tf.dispose([x, dy, dw]);
    return values;
  } finally {
    tf.env().set('IS_TEST', false);
  }
}

for (const c of cases) {
  test(`Conv2DBackpropFilter wasm matches cpu: ${c.name}`, async (t) => {
    const ref = await backpropFilter('cpu', c);
    const dataIdsBefore = (await useBackend('wasm'), tf.engine().backend.numDataIds());
    const got = await backpropFilter('wasm', c, true);
    assert.equal(tf.engine().backend.numDataIds(), dataIdsBefore, 'no wasm heap tensors left behind');
    const err = relErr(got, ref);
    t.diagnostic(`relative error ${err.toExponential(2)}`);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });
}
