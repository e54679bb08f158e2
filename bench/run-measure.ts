/**
 * The measurements `npm run bench` (bench/run.ts) makes, each in a child process so that every
 * figure is what a user gets from the command line: `pipeline run` (training and test-split
 * evaluation throughput per epoch, peak RSS), `pipeline eval`, `pipeline validate`, and the
 * PyTorch reference script on the same data.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repo = path.resolve(__dirname, '../..');
export const bin = path.join(repo, 'bin/pipeline.js');
const experiment = path.join(repo, 'configs/cifar-lenet.yaml');
const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const load1 = (): number => os.loadavg()[0];

interface Timed {
  stdout: string;
  stderr: string;
  wall: number;
  rssMB?: number;
}

export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const started = performance.now();
  const r = timeBin
    ? spawnSync(timeBin, ['-v', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = (performance.now() - started) / 1000;
  if (r.status !== 0)
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  return { stdout: r.stdout, stderr: r.stderr, wall, rssMB: rss ? Number(rss[1]) / 1024 : undefined };
}

export interface EpochFigures {
  /** Training samples/s (the run's own samplesPerSecond: training time only, as PyTorch's figure). */
  train: number;
  /** Test-split evaluation samples/s during the run (epoch seconds minus training seconds). */
  evaluate?: number;
}

export interface OursResult {
  label: string;
  backend: string;
  workers: number;
  batch: number;
  epochs: EpochFigures[];
  rssMB?: number;
  runDir: string;
  load: number;
}

export interface OursOptions {
  backend: 'wasm' | 'cpu';
  workers: number;
  batch: number;
  epochs: number;
  dataDir: string;
  runsDir: string;
  /** Smaller splits (the cpu backend trains at ~18 samples/s). */
  limit?: { train: number; test: number };
}

/** `pipeline run configs/cifar-lenet.yaml` for `epochs` epochs; one figure per epoch. */
export function runOurs(o: OursOptions): OursResult {
  const load = load1();
  const sets = [`training.epochs=${o.epochs}`, `training.batchSize=${o.batch}`];
  if (o.limit) sets.push(`dataset.limit.train=${o.limit.train}`, `dataset.limit.test=${o.limit.test}`);
  const args = [
    bin,
    'run',
    experiment,
    ...sets.flatMap((s) => ['--set', s]),
    '--backend',
    o.backend,
    '--workers',
    String(o.workers),
    '--runs-dir',
    o.runsDir,
    '--json',
  ];
  const r = timed(process.execPath, args, { ...process.env, PIPELINE_DATA_DIR: o.dataDir });
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { runDir: string; status: string };
  if (out.status !== 'completed') throw new Error(`pipeline run ended ${out.status}`);
  const rows = fs
    .readFileSync(path.join(out.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  const meta = JSON.parse(fs.readFileSync(path.join(out.runDir, 'meta.json'), 'utf8')) as {
    dataset: { counts: { train: number; test: number } };
  };
  const { train, test } = meta.dataset.counts;
  const epochs = rows.map((row) => {
    const trainSeconds = train / row.samplesPerSecond;
    const evalSeconds = row.seconds - trainSeconds;
    return { train: row.samplesPerSecond, evaluate: evalSeconds > 0 ? test / evalSeconds : undefined };
  });
  return {
    label: `pipeline ${o.backend}, ${o.workers} worker${o.workers === 1 ? '' : 's'}`,
    backend: o.backend,
    workers: o.workers,
    batch: o.batch,
    epochs,
    rssMB: r.rssMB,
    runDir: out.runDir,
    load,
  };
}

export interface TorchResult {
  label: string;
  threads: number;
  batch: number;
  epochs: EpochFigures[];
  testAccuracy: number;
  load: number;
}

export const TORCH_SCRIPT = path.resolve(repo, '../shared/reference/seed_lenet_torch.py');
export const PYTHON = '/usr/bin/python3';

/** Why the PyTorch reference cannot run here, or null when it can. */
export function torchUnavailable(): string | null {
  if (!fs.existsSync(TORCH_SCRIPT)) return `no reference script at ${TORCH_SCRIPT}`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, PIL'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch and PIL (apt-get install -y python3-torch python3-pil)`;
}

/** The seed article's PyTorch code (../shared/reference/seed_lenet_torch.py), one figure per epoch. */
export function runTorch(o: { threads: number; batch: number; epochs: number; dataDir: string }): TorchResult {
  const load = load1();
  const r = timed(PYTHON, [
    TORCH_SCRIPT,
    path.join(o.dataDir, 'cifar10'),
    '--epochs',
    String(o.epochs),
    '--threads',
    String(o.threads),
    '--batch-size',
    String(o.batch),
    '--json',
  ]);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { samples_per_second: number; test_acc: number });
  return {
    label: `PyTorch, ${o.threads} thread${o.threads === 1 ? '' : 's'}`,
    threads: o.threads,
    batch: o.batch,
    epochs: rows.map((row) => ({ train: row.samples_per_second })),
    testAccuracy: rows[rows.length - 1].test_acc,
    load,
  };
}

/** `pipeline eval RUN` (saved model on the test split, one thread), wall seconds. */
export function runEval(runDir: string, dataDir: string): { wall: number; rssMB?: number } {
  const r = timed(process.execPath, [bin, 'eval', runDir, '--json'], { ...process.env, PIPELINE_DATA_DIR: dataDir });
  return { wall: r.wall, rssMB: r.rssMB };
}

/** `pipeline validate configs/cifar-lenet.yaml`, wall seconds. */
export function runValidate(): number {
  return timed(process.execPath, [bin, 'validate', experiment]).wall;
}
