/**
 * Winograd F(2x2, 3x3) against F(4x4, 3x3) (src/engine/kernels/winograd-conv.ts) on the 3x3 stride-1 shapes of
 * the model families (all-conv, VGG-style, ResNet-20): the forward convolution (also what the stride-1 input
 * gradient runs, on the rotated filter: there Cin and Cout are the layer's Cout and Cin) and the filter gradient.
 * Calls alternate between the two variants (which goes first alternates too), CPU time per call
 * (process.cpuUsage: on a shared machine wall time also measures the wait for a core); prints the minimum and
 * the median of --reps calls each, and the largest difference between the two variants' outputs.
 * --grad-blocks: also the F(4x4) filter gradient in one block of tiles against several (tileBlocks).
 * Usage: node dist/bench/winograd-tiles.js [--batch 32] [--reps 20] [--only TEXT] [--grad-blocks]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { padSpatial } from '../src/engine/kernels/conv2d-forward';
import type { TensorInfo, WasmBackendInternals } from '../src/engine/kernels/wasm-internals';
import { f32 } from '../src/engine/kernels/wasm-internals';
import { type WinogradTile, winogradConv, winogradFilterGradient } from '../src/engine/kernels/winograd-conv';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const batch = Number(opt('--batch', '32'));
const reps = Number(opt('--reps', '20'));
const only = opt('--only', '');
const gradBlocks = args.includes('--grad-blocks');

/** Image size, Cin, Cout ('same' padding). */
const SHAPES: Array<[number, number, number]> = [
  [16, 32, 32], // all-conv layer 3 (forward and input gradient); ResNet-20 stage 2; VGG-style
  [32, 32, 32], // VGG-style layer 2
  [16, 32, 64], // VGG-style layer 3
  [16, 64, 32], // its input gradient
  [16, 64, 64], // VGG-style layer 4
  [32, 16, 16], // ResNet-20 stage 1
  [8, 64, 64], // ResNet-20 stage 3
  [8, 32, 32],
  [12, 32, 32],
  [7, 32, 32], // the smallest F(4x4) takes (winogradTileFor)
  [6, 32, 32], // the largest F(2x2) keeps
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function cpuMs(call: () => void): number {
  const t0 = process.cpuUsage();
  call();
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1000;
}

type Pass = () => TensorInfo;

/** Interleaved calls of two ways to the same result: CPU ms min / median of each, and their largest difference. */
function compare(name: string, backend: WasmBackendInternals, passes: [Pass, Pass]): void {
  if (!name.includes(only)) return;
  const out = passes.map((pass) => {
    const r = pass();
    const values = f32(backend, r).slice();
    backend.disposeData(r.dataId);
    return values;
  });
  let diff = 0;
  for (let i = 0; i < out[0].length; i++) diff = Math.max(diff, Math.abs(out[0][i] - out[1][i]));
  const times: number[][] = [[], []];
  for (let r = 0; r < reps; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) times[i].push(cpuMs(() => backend.disposeData(passes[i]().dataId)));
  }
  const fmt = (i: number) => `${Math.min(...times[i]).toFixed(2)} / ${median(times[i]).toFixed(2)}`;
  console.log(`| ${name} | ${fmt(0)} | ${fmt(1)} | ${diff.toExponential(1)} |`);
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const pad = (t: TensorInfo, p: number[]) => padSpatial(backend, t, p);
  console.log(`batch ${batch}, ${reps} calls each; CPU ms min / median`);
  console.log('| pass, x, Cin -> Cout (first / second) | first | second | max abs diff |\n|---|---|---|---|');
  for (const [s, cin, cout] of SHAPES) {
    const x = tf.randomUniform([batch, s, s, cin], -1, 1, 'float32', 1);
    const w = tf.randomUniform([3, 3, cin, cout], -1, 1, 'float32', 2);
    const dy = tf.randomUniform([batch, s, s, cout], -1, 1, 'float32', 3);
    const shape = `[${batch},${s},${s},${cin}] ${cin} -> ${cout}`;
    const outShape: [number, number, number, number] = [batch, s, s, cout];
    const conv = (m: WinogradTile) => () =>
      winogradConv(backend, m, x, w, undefined, [1, 1, 1, 1], outShape, true, pad);
    const grad = (m: WinogradTile, blockBytes?: number) => () =>
      winogradFilterGradient(backend, m, x, dy, [1, 1, 1, 1], [3, 3, cin, cout], pad, blockBytes);
    compare(`forward ${shape}, F(2x2) / F(4x4)`, backend, [conv(2), conv(4)]);
    compare(`filter grad ${shape}, F(2x2) / F(4x4)`, backend, [grad(2), grad(4)]);
    if (gradBlocks) compare(`filter grad F(4x4) ${shape}, one block / blocks`, backend, [grad(4, 2 ** 40), grad(4)]);
    tf.dispose([x, w, dy]);
  }
}

void main();
