/**
 * Stride-2 3x3 convolutions: the direct kernels (implicit GEMM forward, phase input gradient, blocked filter
 * gradient) against the phase-Winograd ones (kernels/winograd-s2.ts), called alternately in one process on the
 * same seeded data: min and median CPU ms (process.cpuUsage: on a shared machine wall time also measures the
 * wait for a core) of --reps calls each, and the largest difference of their results
 * relative to the result's largest magnitude (they sum in other orders, so not the same bits).
 * Usage: node dist/bench/stride-two.js [--batch 32] [--reps 40]
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { directFilterGradient } from '../src/engine/kernels/conv2d-backprop-filter';
import { directConv, padSpatial } from '../src/engine/kernels/conv2d-forward';
import { phaseInputGradient } from '../src/engine/kernels/phase-input-grad';
import type { TensorInfo, WasmBackendInternals } from '../src/engine/kernels/wasm-internals';
import {
  strideTwoWinogradConv,
  strideTwoWinogradFilterGradient,
  strideTwoWinogradInputGradient,
} from '../src/engine/kernels/winograd-s2';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const batch = opt('--batch', 32);
const reps = opt('--reps', 40);

type Shape4 = [number, number, number, number];
const SHAPES: Array<[number[], Shape4, 'valid' | 'same']> = [
  [[32, 32, 16], [3, 3, 16, 32], 'same'],
  [[16, 16, 32], [3, 3, 32, 64], 'same'],
  [[32, 32, 24], [3, 3, 24, 24], 'same'],
  [[16, 16, 24], [3, 3, 24, 48], 'same'],
];

let seed = 1;
const random = (n: number) =>
  Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
const tensor = (shape: number[]) => tf.tensor(random(shape.reduce((a, b) => a * b, 1)), shape);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function compare(label: string, backend: WasmBackendInternals, calls: Array<() => TensorInfo>): void {
  const times: number[][] = calls.map(() => []);
  const outs = calls.map((call) => call());
  const values = outs.map((o) => tf.engine().makeTensorFromTensorInfo(o).dataSync() as Float32Array);
  let [scale, diff] = [0, 0];
  values[0].forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    diff = Math.max(diff, Math.abs(v - values[1][i]));
  });
  diff /= scale;
  for (const o of outs) backend.disposeData(o.dataId);
  for (let r = 0; r < reps; r++) {
    calls.forEach((call, i) => {
      const t0 = process.cpuUsage();
      const out = call();
      const t = process.cpuUsage(t0);
      times[i].push((t.user + t.system) / 1000);
      backend.disposeData(out.dataId);
    });
  }
  const fmt = (ts: number[]) => `min ${Math.min(...ts).toFixed(3)} median ${median(ts).toFixed(3)}`;
  console.log(
    `${label.padEnd(44)} direct ${fmt(times[0])} | winograd ${fmt(times[1])} ms | diff ${diff.toExponential(1)}`,
  );
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const pad = (t: TensorInfo, p: number[]) => padSpatial(backend, t, p);
  for (const [xs, f, padding] of SHAPES) {
    const info = tf.backend_util.computeConv2DInfo([batch, ...xs] as Shape4, f, 2, 1, padding);
    const { top, bottom, left, right } = info.padInfo;
    const pads = [top, bottom, left, right];
    const [x, w, b, dy] = [tensor(info.inShape), tensor(f), tensor([f[3]]), tensor(info.outShape)];
    const name = `[${info.inShape}] 3x3 ${f[2]}->${f[3]} s2 ${padding}`;
    const conv = { pads, strides: [2, 2] as [number, number], filterHeight: 3, filterWidth: 3 };
    compare(`${name} forward`, backend, [
      () => directConv(backend, x, w, b, { ...conv, outShape: info.outShape, relu: true }),
      () => strideTwoWinogradConv(backend, x, w, b, pads, info.outShape, true, pad),
    ]);
    compare(`${name} input grad`, backend, [
      () => phaseInputGradient(backend, dy, w, info),
      () => strideTwoWinogradInputGradient(backend, dy, w, info, pad),
    ]);
    compare(`${name} filter grad`, backend, [
      () => directFilterGradient(backend, x, dy, info),
      () => strideTwoWinogradFilterGradient(backend, x, dy, pads, info.filterShape, pad),
    ]);
    tf.dispose([x, w, b, dy]);
  }
  console.log(
    `batch ${batch}, ${reps} calls each, alternating; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

void main();
