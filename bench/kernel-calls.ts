/**
 * CPU time of single kernel calls on the model families' shapes: the convolution kernels
 * (FusedConv2D, Conv2DBackpropFilter, Conv2DBackpropInput) and BatchMatMul, each called through
 * tf.engine().runKernel on seeded random data, best of --reps calls, with a hash of the output so
 * that two builds can be compared for identical bits as well as speed. CPU time
 * (process.cpuUsage), because on a shared machine wall time also measures the wait for a core.
 * Usage: node dist/bench/kernel-calls.js [--batch 32] [--reps 12] [--only TEXT (rows whose name contains it)]
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const batch = opt('--batch', 32);
const reps = opt('--reps', 12);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';

type Shape4 = [number, number, number, number];
/** x (without the batch), filter, stride, padding: the families' layers. */
const CONVS: Array<[number[], Shape4, number, 'valid' | 'same']> = [
  [[32, 32, 3], [3, 3, 3, 6], 1, 'valid'],
  [[15, 15, 6], [3, 3, 6, 16], 1, 'valid'],
  [[32, 32, 3], [5, 5, 3, 6], 1, 'valid'],
  [[14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
  [[32, 32, 3], [3, 3, 3, 16], 1, 'same'],
  [[32, 32, 3], [3, 3, 3, 32], 1, 'same'],
  [[32, 32, 16], [3, 3, 16, 32], 2, 'same'],
  [[16, 16, 32], [3, 3, 32, 32], 1, 'same'],
  [[32, 32, 32], [3, 3, 32, 32], 1, 'same'],
  [[16, 16, 32], [3, 3, 32, 64], 1, 'same'],
  [[16, 16, 32], [3, 3, 32, 64], 2, 'same'],
  [[16, 16, 64], [3, 3, 64, 64], 1, 'same'],
  [[8, 8, 64], [1, 1, 64, 10], 1, 'same'],
];
/** a, b (without the batch of 1), transposeA, transposeB: dense layers and their gradients. */
const MATMULS: Array<[[number, number], [number, number], boolean, boolean]> = [
  [[batch, 576], [576, 120], false, false],
  [[batch, 576], [batch, 120], true, false],
  [[batch, 120], [576, 120], false, true],
  [[batch, 4096], [4096, 256], false, false],
  [[batch, 4096], [batch, 256], true, false],
  [[batch, 256], [4096, 256], false, true],
];

let seed = 1;
const random = (n: number) =>
  Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
const tensor = (shape: number[]) => tf.tensor(random(shape.reduce((a, b) => a * b, 1)), shape);

/** Best CPU ms of `reps` calls, and the first output's hash. */
function time(call: () => tf.Tensor): { ms: number; hash: string } {
  const first = call();
  const hash = createHash('md5')
    .update(Buffer.from((first.dataSync() as Float32Array).buffer))
    .digest('hex')
    .slice(0, 8);
  first.dispose();
  let ms = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.cpuUsage();
    call().dispose();
    const u = process.cpuUsage(t0);
    ms = Math.min(ms, (u.user + u.system) / 1000);
  }
  return { ms, hash };
}

function row(name: string, call: () => tf.Tensor, flops: number): void {
  if (!name.includes(only)) return;
  const r = time(call);
  console.log(`| ${name} | ${r.ms.toFixed(3)} | ${((flops / r.ms) * 1e-6).toFixed(1)} | ${r.hash} |`);
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  console.log('| kernel, shapes | CPU ms (best) | GFLOP/s | output hash |\n|---|---|---|---|');
  for (const [xs, fs, stride, pad] of CONVS) {
    const xShape = [batch, ...xs] as Shape4;
    const info = tf.backend_util.computeConv2DInfo(xShape, fs, stride, 1, pad);
    const [x, f, dy] = [tensor(xShape), tensor(fs), tensor(info.outShape)];
    const flops = 2 * info.outShape.reduce((a, b) => a * b, 1) * fs[0] * fs[1] * fs[2];
    const conv = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1 };
    const name = `x${JSON.stringify(xShape)} f${JSON.stringify(fs)} s${stride} ${pad}`;
    const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: object) => () =>
      tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    row(`FusedConv2D ${name}`, run('FusedConv2D', { x, filter: f }, { ...conv, activation: 'linear' }), flops);
    row(`Conv2DBackpropFilter ${name}`, run('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: fs }), flops);
    row(
      `Conv2DBackpropInput ${name}`,
      run('Conv2DBackpropInput', { dy, filter: f }, { ...conv, inputShape: xShape }),
      flops,
    );
    tf.dispose([x, f, dy]);
  }
  for (const [as, bs, transposeA, transposeB] of MATMULS) {
    const [a, b] = [tensor([1, ...as]), tensor([1, ...bs])];
    const m = transposeA ? as[1] : as[0];
    const k = transposeA ? as[0] : as[1];
    const n = transposeB ? bs[0] : bs[1];
    const name = `BatchMatMul ${JSON.stringify(as)}${transposeA ? 'ᵀ' : ''} x ${JSON.stringify(bs)}${transposeB ? 'ᵀ' : ''}`;
    row(
      name,
      () => tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA, transposeB }) as tf.Tensor,
      2 * m * n * k,
    );
    tf.dispose([a, b]);
  }
}

void main();
