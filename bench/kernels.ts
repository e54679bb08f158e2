/**
 * Training throughput of the LeNet-like reference model on the tfjs wasm backend, with our
 * kernel fixes registered: samples/s of one training step (Adam, softmax cross-entropy) at
 * batch 32 and 128, both as a custom `optimizer.minimize` step and as `model.trainOnBatch`,
 * each with tfjs's Adam and with createAdam() (fused update kernel).
 * Reports the median step and the best step of the timed repetitions after warm-up: on this
 * shared 2-core machine other processes often run, and the best step is what the kernels
 * cost without them.
 * Usage: node dist/bench/kernels.js [--seconds=S per config, default 3]
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { buildLenet, makeStep, randomBatch } from './kernels-lenet';
import { createAdam } from '../src/engine/fused-adam';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(
  label: string,
  batch: number,
  seconds: number,
  run: (x: tf.Tensor, y: tf.Tensor) => Promise<void> | void,
): Promise<void> {
  const { x, y } = randomBatch(tf, batch);
  for (let i = 0; i < 5; i++) await run(x, y); // warm-up: JIT, XNNPACK operators, heap growth
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until || times.length < 5) {
    const t0 = performance.now();
    await run(x, y);
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  const best = Math.min(...times);
  const rate = (t: number) => ((batch / t) * 1000).toFixed(0).padStart(6);
  console.log(
    `${label.padEnd(26)} batch ${String(batch).padStart(3)}: ${rate(ms)} samples/s median (${ms.toFixed(2)} ms/step), ` +
      `${rate(best)} samples/s best (${best.toFixed(2)} ms), ${times.length} steps`,
  );
  tf.dispose([x, y]);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 3);
  tf.env().set('PROD', true);
  const selected = await selectBackend('wasm');
  console.log(`backend ${selected.name} (${selected.reason}); LeNet-like 32x32x3, Adam, softmax CE`);
  const optimizers: Array<[string, () => tf.Optimizer]> = [
    ['tf.train.adam', () => tf.train.adam(1e-3)],
    ['createAdam', () => createAdam(tf, 1e-3)],
  ];
  for (const batch of [32, 128]) {
    for (const [optName, makeOpt] of optimizers) {
      const model = buildLenet(tf);
      await measure(`minimize ${optName}`, batch, seconds, makeStep(tf, model, makeOpt()));
      model.dispose();
      const compiled = buildLenet(tf, true);
      compiled.compile({ optimizer: makeOpt(), loss: 'categoricalCrossentropy', metrics: [] });
      await measure(`trainOnBatch ${optName}`, batch, seconds, async (x, y) => {
        await compiled.trainOnBatch(x, y);
      });
      compiled.dispose();
    }
  }
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores)`,
  );
}

void main();
