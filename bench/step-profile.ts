/**
 * Where the time of one `pipeline run` training step goes: the pipeline's own step runner
 * (src/engine/step-runner.ts: input tensors, forward, loss, metric sums, gradients, read-back,
 * optimizer) for configs/cifar-lenet.yaml on random CIFAR-shaped batches, with every wasm
 * kernel wrapped by a wall-clock timer (wasm kernels run synchronously).
 * Per kernel, the figure is its total within a step, the MINIMUM over the timed steps (other
 * processes on a shared machine inflate it less); "engine + JS" is the best step minus the
 * sum of those per-kernel minimums.
 * Usage: node dist/bench/step-profile.js [--batch 32] [--steps 60] [--top 25] [--generic] [--shards 1]
 *   [--by-shape] [FILE.yaml]
 *   FILE.yaml: the experiment whose model to step (default configs/cifar-lenet.yaml).
 *   --by-shape: one row per kernel and input shapes.
 *   --generic: tfjs's autograd even where the direct step (src/engine/direct/) applies.
 *   --shards: the direct step's gradient shards (a 1-worker run uses 2, each of 2 workers 1).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { buildModel } from '../src/builders/model';
import { loadExperimentFile } from '../src/config/load';
import { buildOptimizer, createStepRunner } from '../src/engine';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : Number(args[i + 1]);
};

type PerStep = Map<string, number[]>;

function wrapKernels(current: Map<string, { ms: number; calls: number }>, byShape: boolean): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (a) => {
      const t0 = performance.now();
      const out = inner(a);
      const key = byShape
        ? `${config.kernelName} ${JSON.stringify(Object.values(a.inputs).map((t) => (t as tf.TensorInfo | undefined)?.shape))}`
        : config.kernelName;
      const e = current.get(key) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      current.set(key, e);
      return out;
    };
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  }
}

async function main(): Promise<void> {
  const batch = opt('--batch', 32);
  const reps = opt('--steps', 60);
  const top = opt('--top', 25);
  await selectBackend('wasm');
  const file = args.find((a, i) => a.endsWith('.yaml') && !args[i - 1]?.startsWith('--batch'));
  const configPath = file ? path.resolve(file) : path.resolve(__dirname, '../../configs/cifar-lenet.yaml');
  const e = loadExperimentFile(configPath).experiment;
  const shape: [number, number, number] = [32, 32, 3];
  const model = buildModel(tf, e, shape, 10);
  const optimizer = buildOptimizer(tf, e, e.training.optimizer.learningRate);
  const steps = createStepRunner({
    tf,
    model,
    optimizer,
    experiment: e,
    numClasses: 10,
    inputShape: shape,
    direct: !args.includes('--generic'),
    gradientShards: opt('--shards', 1),
  });
  const x = new Float32Array(batch * 32 * 32 * 3).map((_, i) => ((i * 2654435761) % 256) / 255);
  const y = new Uint8Array(batch).map((_, i) => i % 10);
  const b = { x, y, size: batch };
  for (let i = 0; i < 10; i++) steps.train(b, 0, i);
  const current = new Map<string, { ms: number; calls: number }>();
  wrapKernels(current, args.includes('--by-shape'));
  const perStep: PerStep = new Map();
  const walls: number[] = [];
  let calls = 0;
  // CPU time of this process over the timed steps: on a shared machine wall time measures the
  // queue for the cores as much as the step; CPU time does not (1 worker: one thread computes).
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    current.clear();
    const t0 = performance.now();
    steps.train(b, 0, 10 + r);
    walls.push(performance.now() - t0);
    calls = 0;
    for (const [k, v] of current) {
      perStep.set(k, [...(perStep.get(k) ?? []), v.ms]);
      calls += v.calls;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / reps;
  const rows = [...perStep.entries()]
    .map(([k, ms]) => ({ k, ms: Math.min(...ms), calls: current.get(k)?.calls ?? 0 }))
    .sort((a, b) => b.ms - a.ms);
  const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
  walls.sort((a, b) => a - b);
  const best = walls[0];
  const how = steps.implementation.direct ? 'direct step' : 'tfjs autograd';
  console.log(
    `pipeline step (${how}), ${path.basename(configPath, '.yaml')}, batch ${batch}: best ${best.toFixed(2)} ms, median ${walls[reps >> 1].toFixed(2)} ms over ${reps} steps; ` +
      `kernels ${kernelMs.toFixed(2)} ms in ${calls} calls, engine + JS ~${(best - kernelMs).toFixed(2)} ms; ` +
      `CPU ${cpuMs.toFixed(2)} ms per step (${Math.round((batch * 1000) / cpuMs)} samples per CPU-second)`,
  );
  for (const r of rows.slice(0, top))
    console.log(`${r.ms.toFixed(3).padStart(8)} ms ${String(r.calls).padStart(4)} calls  ${r.k}`);
}

void main();
