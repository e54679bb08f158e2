/**
 * Where the time of one LeNet training step goes on wasm, per kernel (tf.profile; the wasm
 * backend times kernels synchronously, so kernelMs is wall time).
 * Usage: node dist/bench/kernels-profile.js [batch=32] [--stock]
 *   --stock: profile without our kernel replacements (only the missing kernels added).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../src/backend';
import { buildLenet, makeStep, randomBatch } from './kernels-lenet';

async function main(): Promise<void> {
  const batch = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 32);
  tf.env().set('PROD', true);
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmKernels(tf);
  const model = buildLenet(tf);
  const step = makeStep(tf, model, tf.train.adam(1e-3));
  const { x, y } = randomBatch(tf, batch);
  for (let i = 0; i < 5; i++) step(x, y);
  const totals = new Map<string, { ms: number; calls: number }>();
  const reps = 10;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const info = await tf.profile(() => step(x, y));
    for (const k of info.kernels) {
      const e = totals.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += Number(k.kernelTimeMs) / reps;
      e.calls += 1 / reps;
      totals.set(k.name, e);
    }
  }
  const wall = (performance.now() - t0) / reps;
  const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernelSum = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`batch ${batch}: ${wall.toFixed(2)} ms/step under tf.profile, kernels ${kernelSum.toFixed(2)} ms`);
  for (const [name, e] of rows) console.log(`${name.padEnd(24)} ${e.ms.toFixed(3).padStart(8)} ms  ${e.calls.toFixed(0).padStart(4)} calls`);
}

void main();
