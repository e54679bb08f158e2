/**
 * What data-parallel training costs beyond the arithmetic: the time of one `pipeline run` step
 * with 2 replicas (the main thread and a worker, src/pipeline/parallel/) against one replica's
 * own step on half the batch, on random CIFAR-shaped batches (no dataset, no callbacks).
 * The difference is the exchange (writing the slot, the barrier, the average, applying it) and
 * the command round trip. Also the whole-batch step in one process, and CPU time per step
 * (process.cpuUsage covers every thread).
 * Figures: best and median per-step wall time over the timed steps (the best is what the code
 * can do; the median what a shared machine let it do), then samples/s at the median.
 * Usage: node dist/bench/parallel-step.js [--steps 200] [--batch 32] [FILE.yaml]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { loadExperimentFile } from '../src/config/load';
import { assembleTrainee } from '../src/pipeline/assemble';
import { ReplicaGroup, SpawnedWorkers } from '../src/pipeline/parallel/group';
import type { Batch } from '../src/pipeline/types';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const shape: [number, number, number] = [32, 32, 3];

function randomBatch(size: number, seed: number): Batch {
  const x = new Float32Array(size * 32 * 32 * 3).map((_, i) => (((i + seed) * 2654435761) % 256) / 255);
  const y = new Uint8Array(size).map((_, i) => (i + seed) % 10);
  return { x, y, size };
}

interface Timing {
  best: number;
  median: number;
  cpu: number;
  /** CPU ms per step of each thread that used any, by its name (Linux: /proc/self/task). */
  threads: string;
}

/** CPU ms of every thread of this process by thread id, with its name; empty where /proc is absent. */
function threadTimes(): Map<string, { name: string; ms: number }> {
  const out = new Map<string, { name: string; ms: number }>();
  const dir = '/proc/self/task';
  if (!fs.existsSync(dir)) return out;
  const tick = 10; // USER_HZ is 100 on Linux
  for (const tid of fs.readdirSync(dir)) {
    try {
      const stat = fs.readFileSync(`${dir}/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, ms: (Number(fields[11]) + Number(fields[12])) * tick });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function threadsLine(before: Map<string, { name: string; ms: number }>, steps: number): string {
  const used: string[] = [];
  for (const [tid, t] of threadTimes()) {
    const ms = (t.ms - (before.get(tid)?.ms ?? 0)) / steps;
    if (ms >= 0.05) used.push(`${t.name} ${ms.toFixed(2)}`);
  }
  return used.join(', ');
}

async function time(steps: number, step: (i: number) => unknown): Promise<Timing> {
  for (let i = 0; i < 20; i++) await step(i);
  const walls: number[] = [];
  const threads0 = threadTimes();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step(20 + i);
    walls.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  walls.sort((a, b) => a - b);
  return {
    best: walls[0],
    median: walls[steps >> 1],
    cpu: (cpu.user + cpu.system) / 1000 / steps,
    threads: threadsLine(threads0, steps),
  };
}

function line(what: string, rows: number, t: Timing): string {
  const rate = Math.round((rows * 1000) / t.median);
  return `${what}: best ${t.best.toFixed(2)} ms, median ${t.median.toFixed(2)} ms (${rate} samples/s), CPU ${t.cpu.toFixed(2)} ms per step (by thread: ${t.threads})`;
}

async function main(): Promise<void> {
  const steps = opt('--steps', 200);
  const batch = opt('--batch', 32);
  const file = args.find((a) => a.endsWith('.yaml'));
  const configPath = file ? path.resolve(file) : path.resolve(__dirname, '../../configs/cifar-lenet.yaml');
  const e = loadExperimentFile(configPath).experiment;
  const { tf: backendTf } = await selectBackend('wasm');
  const batches = Array.from({ length: 8 }, (_, i) => randomBatch(batch, i));
  const halves = batches.map((b) => ({ x: b.x.subarray(0, (b.x.length / 2) | 0), y: b.y, size: batch >> 1 }));
  const name = path.basename(configPath, '.yaml');
  console.log(`parallel step, ${name}, batch ${batch}, load ${os.loadavg()[0].toFixed(1)}`);

  const spawned = new SpawnedWorkers({ replicas: 2, backend: 'wasm' });
  const trainee = (gradientShards: number) =>
    assembleTrainee({ tf: backendTf, experiment: e, inputShape: shape, numClasses: 10, gradientShards });
  // As `pipeline run` assembles them: a replica of 2 takes its shard whole; 1 worker reduces in 2 shards.
  const main = trainee(1);
  const group = await ReplicaGroup.start(spawned, {
    ...main,
    tf: backendTf,
    experiment: e,
    numClasses: 10,
    inputShape: shape,
  });
  await group.syncState(false);
  const two = await time(steps, (i) => group.train(batches[i % 8], 0, i));
  const tensors = [tf.memory().numTensors, ...(await group.workerTensorCounts())];
  await group.close();
  console.log(line('2 replicas, whole batch', batch, two) + `; tensors ${tensors.join(', ')}`);

  // Fresh trainees: an optimizer keeps its state by the order it first saw the gradients in.
  const replica = trainee(1);
  const half = await time(steps, (i) => replica.steps.train(halves[i % 8], 0, i));
  console.log(line('1 replica, half batch', batch >> 1, half));
  const single = trainee(2);
  const whole = await time(steps, (i) => single.steps.train(batches[i % 8], 0, i));
  console.log(line('1 replica, whole batch', batch, whole));
  console.log(
    `exchange + round trip: ${(two.best - half.best).toFixed(2)} ms at the best, ${(two.median - half.median).toFixed(2)} ms at the median; ` +
      `2 replicas against 1: ${(whole.median / two.median).toFixed(2)}x at the median, ${(whole.best / two.best).toFixed(2)}x at the best; load ${os.loadavg()[0].toFixed(1)}`,
  );
  for (const t of [main, replica, single]) {
    t.optimizer.dispose();
    t.model.dispose();
  }
}

void main();
