/**
 * Training throughput of the LeNet-like reference model on the tfjs wasm backend, with our
 * kernel fixes registered: samples/s of one training step (Adam, softmax cross-entropy) at
 * batch 32 and 128, both as a custom `optimizer.minimize` step and as `model.trainOnBatch`.
 * Median of timed repetitions after warm-up (this machine is noisy).
 * Usage: node dist/bench/kernels.js [--seconds=S per config, default 3]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { buildLenet, makeStep, randomBatch } from './kernels-lenet';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(label: string, batch: number, seconds: number, run: (x: tf.Tensor, y: tf.Tensor) => Promise<void> | void): Promise<void> {
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
  console.log(`${label.padEnd(14)} batch ${String(batch).padStart(3)}: ${(batch / ms * 1000).toFixed(0).padStart(6)} samples/s  (median ${ms.toFixed(2)} ms/step over ${times.length} steps)`);
  tf.dispose([x, y]);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 3);
  tf.env().set('PROD', true);
  const selected = await selectBackend('wasm');
  console.log(`backend ${selected.name} (${selected.reason}); LeNet-like 32x32x3, Adam, softmax CE`);
  for (const batch of [32, 128]) {
    const model = buildLenet(tf);
    await measure('minimize', batch, seconds, makeStep(tf, model, tf.train.adam(1e-3)));
    model.dispose();
    const compiled = buildLenet(tf);
    compiled.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: [] });
    // categoricalCrossentropy on logits is numerically off but costs the same as on softmax.
    await measure('trainOnBatch', batch, seconds, async (x, y) => { await compiled.trainOnBatch(x, y); });
    compiled.dispose();
  }
  const leaked = tf.memory().numTensors;
  console.log(`tensors alive at the end: ${leaked}`);
}

void main();
