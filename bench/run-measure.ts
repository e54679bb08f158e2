/**
 * The measurements `npm run bench` (bench/run.ts) makes, each in a child process so that every
 * figure is what a user gets from the command line: `pipeline run` (training and test-split
 * evaluation throughput per epoch, peak RSS), `pipeline eval`, `pipeline validate`, and the
 * project's PyTorch reference (bench/torch_from_config.py) on the same network and data.
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

/** The project's PyTorch reference: builds any experiment file's network (stack or graph) in PyTorch. */
export const TORCH_SCRIPT = path.join(repo, 'bench/torch_from_config.py');
export const PYTHON = '/usr/bin/python3';
const DUMP_SCRIPT = path.join(repo, 'dist/bench/dump-experiment.js');

/** Why the PyTorch reference cannot run here, or null when it can. */
export function torchUnavailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch and numpy (apt-get install -y python3-torch)`;
}

/**
 * `dump-experiment.js FILE` into a fresh temporary folder (removed when the process exits): the resolved
 * experiment and the exact examples `pipeline run FILE` with the same `--set`s trains and tests on.
 */
export function dumpExperiment(file: string, sets: string[], dataDir: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-torch-data-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  timed(process.execPath, [DUMP_SCRIPT, file, dir, ...sets.flatMap((s) => ['--set', s])], {
    ...process.env,
    PIPELINE_DATA_DIR: dataDir,
  });
  return dir;
}

interface TorchRow {
  samplesPerSecond: number;
  testAccuracy?: number;
}

/** torch_from_config.py on a dump: its per-epoch rows (the first line, the parameter count, left out). */
export function torchRows(dump: string, args: string[]): TorchRow[] {
  const r = timed(PYTHON, [TORCH_SCRIPT, dump, ...args]);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TorchRow & { epoch?: number })
    .filter((row) => row.epoch !== undefined);
}

const lenetDumps = new Map<string, string>();

/** The same network as configs/cifar-lenet.yaml in PyTorch (torch_from_config.py), on the same data, one figure per epoch. */
export function runTorch(o: { threads: number; batch: number; epochs: number; dataDir: string }): TorchResult {
  if (!lenetDumps.has(o.dataDir)) lenetDumps.set(o.dataDir, dumpExperiment(experiment, [], o.dataDir));
  const load = load1();
  const rows = torchRows(lenetDumps.get(o.dataDir)!, [
    '--epochs',
    String(o.epochs),
    '--threads',
    String(o.threads),
    '--batch-size',
    String(o.batch),
  ]);
  return {
    label: `PyTorch, ${o.threads} thread${o.threads === 1 ? '' : 's'}`,
    threads: o.threads,
    batch: o.batch,
    epochs: rows.map((row) => ({ train: row.samplesPerSecond })),
    testAccuracy: rows[rows.length - 1].testAccuracy ?? NaN,
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
