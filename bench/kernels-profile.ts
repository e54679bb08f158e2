/**
 * Where the time of one LeNet training step goes on wasm, per kernel and input shapes.
 * Every registered wasm kernel is wrapped with a wall-clock timer (wasm kernels run
 * synchronously), which is lighter than tf.profile (that one also reads every output).
 * Usage: node dist/bench/kernels-profile.js [batch=32] [--by-shape]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../src/backend';
import { buildLenet, makeStep, randomBatch } from './kernels-lenet';

type Totals = Map<string, { ms: number; calls: number }>;

function wrapKernels(totals: Totals, byShape: boolean): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      const t0 = performance.now();
      const out = inner(args);
      const ms = performance.now() - t0;
      const shapes = byShape ? ' ' + JSON.stringify(Object.values(args.inputs).map((t) => (t as tf.TensorInfo | undefined)?.shape)) : '';
      const key = config.kernelName + shapes;
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls += 1;
      totals.set(key, e);
      return out;
    };
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  }
}

async function main(): Promise<void> {
  const batch = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 32);
  const byShape = process.argv.includes('--by-shape');
  tf.env().set('PROD', true);
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmKernels(tf);
  const totals: Totals = new Map();
  wrapKernels(totals, byShape);
  const model = buildLenet(tf);
  const step = makeStep(tf, model, tf.train.adam(1e-3));
  const { x, y } = randomBatch(tf, batch);
  for (let i = 0; i < 5; i++) step(x, y);
  totals.clear();
  const reps = 20;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) step(x, y);
  const wall = (performance.now() - t0) / reps;
  const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((s, [, e]) => s + e.ms, 0) / reps;
  const calls = rows.reduce((s, [, e]) => s + e.calls, 0) / reps;
  console.log(`batch ${batch}: ${wall.toFixed(2)} ms/step (mean of ${reps}); inside kernels ${kernelMs.toFixed(2)} ms in ${calls} calls; outside (tfjs engine, JS) ${(wall - kernelMs).toFixed(2)} ms`);
  for (const [name, e] of rows) {
    console.log(`${(e.ms / reps).toFixed(3).padStart(8)} ms ${String(e.calls / reps).padStart(4)} calls  ${name}`);
  }
}

void main();
