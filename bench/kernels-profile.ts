/**
 * Where the time of one LeNet training step goes on wasm, per kernel and input shapes.
 * Every registered wasm kernel is wrapped with a wall-clock timer (wasm kernels run
 * synchronously), which is lighter than tf.profile (that one also reads every output).
 * Per kernel (and shape), the figure is its total within a step, the MINIMUM over the timed
 * steps, so that other processes on this shared machine inflate it less.
 * Usage: node dist/bench/kernels-profile.js [batch=32] [--by-shape] [--fused-adam]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { startEngine } from '../src/engine';
import { createAdam } from '../src/engine/fused-adam';
import { buildLenet, makeStep, randomBatch } from './kernels-lenet';

type Totals = Map<string, { ms: number; calls: number }>;
/** Per key: its per-step totals, one entry per timed step. */
type PerStep = Map<string, Array<{ ms: number; calls: number }>>;

function wrapKernels(totals: Totals, byShape: boolean): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      const t0 = performance.now();
      const out = inner(args);
      const ms = performance.now() - t0;
      const shapes = byShape
        ? ' ' + JSON.stringify(Object.values(args.inputs).map((t) => (t as tf.TensorInfo | undefined)?.shape))
        : '';
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
  startEngine(tf);
  const totals: Totals = new Map();
  wrapKernels(totals, byShape);
  const model = buildLenet(tf);
  const step = makeStep(tf, model, process.argv.includes('--fused-adam') ? createAdam(tf, 1e-3) : tf.train.adam(1e-3));
  const { x, y } = randomBatch(tf, batch);
  for (let i = 0; i < 5; i++) step(x, y);
  const reps = 30;
  const perStep: PerStep = new Map();
  const walls: number[] = [];
  for (let r = 0; r < reps; r++) {
    totals.clear();
    const t0 = performance.now();
    step(x, y);
    walls.push(performance.now() - t0);
    for (const [key, e] of totals) perStep.set(key, [...(perStep.get(key) ?? []), { ...e }]);
  }
  const rows = [...perStep.entries()]
    .map(([key, steps]) => ({ key, ms: Math.min(...steps.map((s) => s.ms)), calls: steps[0].calls }))
    .sort((a, b) => b.ms - a.ms);
  const kernelMs = rows.reduce((s, e) => s + e.ms, 0);
  const calls = rows.reduce((s, e) => s + e.calls, 0);
  const best = Math.min(...walls);
  console.log(
    `batch ${batch}: best ${best.toFixed(2)} ms/step of ${reps} (median ${walls.sort((a, b) => a - b)[reps >> 1].toFixed(2)}); ` +
      `kernels (sum of per-kernel bests) ${kernelMs.toFixed(2)} ms in ${calls} calls; the rest (tfjs engine, JS) ~${(best - kernelMs).toFixed(2)} ms`,
  );
  for (const e of rows) console.log(`${e.ms.toFixed(3).padStart(8)} ms ${String(e.calls).padStart(4)} calls  ${e.key}`);
}

void main();
