/**
 * The model-family suite: each family's experiment file (the seed's LeNet and bench/families/*.yaml,
 * or the files given) trained through the real CLI and, back to back, the same network in PyTorch
 * (bench/torch_from_config.py --speed builds it from the same file), on the same CIFAR-10 examples
 * (bench/dump-experiment.js writes the examples the run uses).
 * Figures are training samples/s (training time only for both), the median over the epochs of one
 * process after the first (the first also pays for compiling and, for pipeline, starting workers;
 * with one epoch, that one); the ratio is against the better PyTorch figure over the thread counts.
 * The load average is printed before each measurement: on a shared machine it is part of the figure.
 *
 * Workers: by default pipeline runs as `pipeline run` does (`training.workers: auto`: 2 replicas on
 * 2 cores for runs of >= 20,000 samples, 1 for batch normalization), against PyTorch allowed as many
 * threads as helps it. Defaults of 10,000 images x 2 epochs make that 20,000; `--workers 1` measures
 * one core against one.
 *
 * Usage: node dist/bench/families.js [--limit 10000] [--epochs 2] [--workers auto] [--threads 1,2]
 *   [--build DIR] [--data-dir D] [--json FILE] [FILE.yaml ...]
 *   --build: checkout roots (with bin/ and dist/), comma-separated, to measure instead of this one,
 *   each right after the same PyTorch runs (e.g. OLD,NEW for a before/after table: one row per build).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dumpExperiment, load1, median, repo, torchRows } from './run-measure';

const args = process.argv.slice(2);
const valued = new Set(['--limit', '--epochs', '--workers', '--threads', '--build', '--data-dir', '--json']);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const files = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1]));
const limit = Number(opt('--limit') ?? 10000);
const epochs = Number(opt('--epochs') ?? 2);
const workers = opt('--workers') ?? 'auto';
/** Per-epoch figures after the first (all of them for a 1-epoch run). */
const steady = <T>(rows: T[]): T[] => (rows.length > 1 ? rows.slice(1) : rows);
const threads = (opt('--threads') ?? '1,2').split(',').map(Number);
const builds = (opt('--build') ?? repo).split(',').map((b) => path.resolve(b));
const dataDir = path.resolve(opt('--data-dir') ?? process.env.PIPELINE_DATA_DIR ?? 'data');
const FAMILIES = [
  path.join(repo, 'configs/cifar-lenet.yaml'),
  ...fs
    .readdirSync(path.join(repo, 'bench/families'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(repo, 'bench/families', f)),
];

function run(cmd: string, argv: string[], env = process.env): string {
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0)
    throw new Error(`${path.basename(cmd)} ${argv.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}

interface Ours {
  samplesPerSecond: number;
  step: string;
  /** Replicas the run trained with (its log's worker line). */
  workers: number;
  load: number;
}

/** The same `--set`s for the run and for the examples PyTorch trains on. */
const sets = [`training.epochs=${epochs}`, `dataset.limit.train=${limit}`, 'dataset.limit.test=1000'];

function ours(build: string, file: string, runsDir: string): Ours {
  const load = load1();
  const out = run(
    process.execPath,
    [
      path.join(build, 'bin/pipeline.js'),
      'run',
      file,
      ...sets.flatMap((s) => ['--set', s]),
      '--backend',
      'wasm',
      '--workers',
      workers,
      '--runs-dir',
      runsDir,
      '--json',
    ],
    { ...process.env, PIPELINE_DATA_DIR: dataDir },
  );
  const { runDir } = JSON.parse(out.trim().split('\n').pop()!) as { runDir: string };
  const rows = fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { samplesPerSecond: number });
  const log = fs
    .readFileSync(path.join(runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; workers?: number });
  const step = (log.find((m) => m.msg.startsWith('training step: '))?.msg ?? '').replace('training step: ', '');
  const replicas = log.find((m) => typeof m.workers === 'number')?.workers ?? 1;
  return { samplesPerSecond: median(steady(rows).map((r) => r.samplesPerSecond)), step, workers: replicas, load };
}

/** The same network in PyTorch, `threads` threads, on the examples in `dump` (made once per family). */
function torch(dump: string, t: number): { samplesPerSecond: number; load: number } {
  const load = load1();
  const rows = torchRows(dump, ['--speed', '--epochs', String(epochs), '--threads', String(t)]);
  return { samplesPerSecond: median(steady(rows).map((r) => r.samplesPerSecond)), load };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function main(): void {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-families-'));
  const results: Array<Record<string, unknown>> = [];
  process.stdout.write(
    `families: ${limit} images, ${epochs} epoch(s), batch 32, workers ${workers}, builds ${builds.join(', ')}\n\n`,
  );
  process.stdout.write(
    '| family | build | training step | pipeline (workers) | PyTorch (threads) | ratio | load (ours / torch) |\n|---|---|---|---|---|---|---|\n',
  );
  try {
    for (const file of files.length ? files.map((f) => path.resolve(f)) : FAMILIES) {
      const dump = dumpExperiment(file, sets, dataDir);
      const t = threads.map((n) => ({ n, ...torch(dump, n) }));
      const best = t.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));
      const name = path.basename(file, '.yaml');
      for (const build of builds) {
        const o = ours(build, file, runsDir);
        const ratio = o.samplesPerSecond / best.samplesPerSecond;
        results.push({
          family: name,
          build,
          step: o.step,
          ours: o.samplesPerSecond,
          workers: o.workers,
          torch: Object.fromEntries(t.map((x) => [x.n, x.samplesPerSecond])),
          ratio,
          load: { ours: o.load, torch: t.map((x) => x.load) },
        });
        process.stdout.write(
          `| ${name} | ${path.basename(build)} | ${o.step} | ${fmt(o.samplesPerSecond)} (${o.workers}) | ${t.map((x) => `${fmt(x.samplesPerSecond)} (${x.n})`).join(', ')} | ${ratio.toFixed(2)}x | ${o.load.toFixed(1)} / ${t.map((x) => x.load.toFixed(1)).join(', ')} |\n`,
        );
      }
    }
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
  const json = opt('--json');
  if (json) fs.writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
}

// A failed run or PyTorch reference (no data, a bad file) ends the suite with its own message, not a stack trace.
try {
  main();
} catch (err) {
  process.stderr.write(`families: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
