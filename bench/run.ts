/**
 * `npm run bench`: training speed of the seed's model (configs/cifar-lenet.yaml) on the CIFAR-10
 * copy, against the same network in PyTorch (the project's reference, bench/torch_from_config.py,
 * built from the same file) on the same examples, in the same session.
 *
 * For each batch size, back to back: PyTorch with 1 thread, `pipeline run` on wasm with each
 * worker count, PyTorch with 2 threads. Each is one process training `--epochs` epochs; the
 * figure is the median over its epochs of training samples/s (training time only, for both).
 * Ratios are against the better PyTorch figure of the same batch size. Also: the cpu backend
 * on a small subset, test-split evaluation throughput during the runs, peak RSS,
 * `pipeline eval` and `pipeline validate` wall times, and the load average before each
 * measurement (other people's processes on a shared machine skew everything).
 *
 * `families` (default on): the model-family suite, bench/families.ts (seed LeNet, LeNet with batch
 * normalization, all-convolutional, classic tanh/average-pooling LeNet, VGG-style, each against
 * the same network in PyTorch built by bench/torch_from_config.py --speed).
 *
 * Also (bench/serve.ts): `pipeline predict` images/s on the 10,000 test JPEGs and `pipeline serve`
 * requests/s with p50/p99 latency at 1, 8 and 64 concurrent connections, with the model of the
 * last `ours` run, `--model RUN_FOLDER`, or else one trained for 1 epoch here.
 * Also (part `native`, bench/native-loops.ts): the native loops against the relaxed-SIMD wasm loops they replace.
 * Also (parts `queue`, `tpe`): the per-trial overhead of queued sweeps (bench/queue-overhead.ts,
 * on a redis-server of its own) and TPE against random search (bench/tpe-vs-random.ts).
 *
 * Usage: node dist/bench/run.js [--parts torch,ours,cpu,eval,validate,native,families,predict,serve,queue,tpe] [--batches 32,128]
 *   [--workers 1,2] [--threads 1,2] [--epochs 3] [--data-dir D] [--json FILE] [--model RUN_FOLDER]
 *   [--serve-seconds 10] [--queue-workers 1,2,4,8]
 *
 *   D holds cifar10/{train,test}/ (default: $PIPELINE_DATA_DIR, else ./data as the README's first command makes it).
 * PyTorch trains on the examples `bench/dump-experiment.js` writes once per process (the pipeline's
 * own decoding of the 60,000 JPEGs); `--parts ours` alone takes about 3 minutes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchPredict, benchServe, testJpegs } from './serve';
import { queueOverhead } from './queue-overhead';
import { tpeVsRandom } from './tpe-vs-random';
import {
  load1,
  median,
  runEval,
  runOurs,
  runTorch,
  runValidate,
  torchUnavailable,
  type EpochFigures,
  type OursResult,
  type TorchResult,
} from './run-measure';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const list = (name: string, dflt: string) => (opt(name) ?? dflt).split(',').filter(Boolean);
const parts = new Set(list('--parts', 'torch,ours,cpu,eval,validate,native,families,predict,serve,queue,tpe'));
const batchSizes = list('--batches', '32,128').map(Number);
const workerCounts = list('--workers', '1,2').map(Number);
const threadCounts = list('--threads', '1,2').map(Number);
const epochs = Number(opt('--epochs') ?? 3);
const dataDir = path.resolve(opt('--data-dir') ?? process.env.PIPELINE_DATA_DIR ?? 'data');
const jsonFile = opt('--json');
const queueWorkers = list('--queue-workers', '1,2,4,8').map(Number);

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const trainRate = (e: EpochFigures[]) => median(e.map((x) => x.train));
const evalRate = (e: EpochFigures[]) => median(e.flatMap((x) => (x.evaluate === undefined ? [] : [x.evaluate])));
const loads = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Row {
  batch: number;
  label: string;
  train: number;
  perEpoch: number[];
  evaluate?: number;
  rssMB?: number;
  load: number;
  torch: boolean;
}

function log(line: string): void {
  process.stdout.write(line + '\n');
}

function fromOurs(r: OursResult): Row {
  return {
    batch: r.batch,
    label: r.label,
    train: trainRate(r.epochs),
    perEpoch: r.epochs.map((e) => e.train),
    evaluate: evalRate(r.epochs),
    rssMB: r.rssMB,
    load: r.load,
    torch: false,
  };
}

function fromTorch(r: TorchResult): Row {
  return {
    batch: r.batch,
    label: r.label,
    train: trainRate(r.epochs),
    perEpoch: r.epochs.map((e) => e.train),
    load: r.load,
    torch: true,
  };
}

function table(rows: Row[]): void {
  for (const batch of [...new Set(rows.map((r) => r.batch))]) {
    const group = rows.filter((r) => r.batch === batch);
    const torchBest = Math.max(...group.filter((r) => r.torch).map((r) => r.train));
    log('');
    log(
      `batch ${batch}: training samples/s, median of ${epochs} epoch${epochs === 1 ? '' : 's'} (per epoch in brackets)`,
    );
    log(
      `${'what'.padEnd(33)} ${'samples/s'.padStart(9)}  ${'x PyTorch'.padStart(9)}  ${'eval/s'.padStart(7)}  ${'peak RSS'.padStart(8)}  ${'load'.padStart(5)}  epochs`,
    );
    for (const r of group) {
      const ratio = Number.isFinite(torchBest) ? `${(r.train / torchBest).toFixed(2)}x` : 'n/a';
      log(
        `${r.label.padEnd(33)} ${fmt(r.train).padStart(9)}  ${ratio.padStart(9)}  ${fmt(r.evaluate).padStart(7)}  ${(r.rssMB ? `${fmt(r.rssMB)} MB` : '').padStart(8)}  ${r.load.toFixed(2).padStart(5)}  [${r.perEpoch.map((v) => fmt(v)).join(', ')}]`,
      );
    }
  }
}

async function main(): Promise<void> {
  const needsCifar = ['torch', 'ours', 'cpu', 'eval'].some((p) => parts.has(p));
  if (needsCifar && !fs.existsSync(path.join(dataDir, 'cifar10', 'train'))) {
    throw new Error(
      `no CIFAR-10 images in ${dataDir}/cifar10 (extract the CIFAR-10 JPEG archive there as the README says, or pass --data-dir)`,
    );
  }
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-run-'));
  const cpuInfo = os.cpus();
  log(
    `machine: ${cpuInfo.length} cores (${cpuInfo[0]?.model ?? 'unknown'}), Node ${process.version}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  );
  log(`load average at start: ${loads()}; data ${dataDir}/cifar10; runs in ${runsDir}`);
  const rows: Row[] = [];
  let extra: Record<string, unknown>;
  try {
    const lastRun = trainingRows(rows, runsDir);
    extra = await afterTraining(lastRun, runsDir);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
  table(rows);
  if (parts.has('native')) {
    // The native loops against the wasm ones they replace (bench/native-loops.ts), in its own process.
    log('');
    const r = spawnSync(process.execPath, [path.join(__dirname, 'native-loops.js')], { stdio: 'inherit' });
    if (r.status !== 0) log(`native: not measured (exit ${r.status})`);
  }
  if (parts.has('families')) {
    // The model-family suite (bench/families.ts), in its own process, printing its own table.
    log('');
    const r = spawnSync(process.execPath, [path.join(__dirname, 'families.js'), '--data-dir', dataDir], {
      stdio: 'inherit',
    });
    if (r.status !== 0) log(`families: failed (exit ${r.status})`);
  }
  log('');
  log(`load average at end: ${loads()}`);
  if (jsonFile) {
    const figures = { at: new Date().toISOString(), cores: cpuInfo.length, model: cpuInfo[0]?.model };
    fs.writeFileSync(
      jsonFile,
      JSON.stringify({ ...figures, node: process.version, epochs, rows, ...extra }, null, 2) + '\n',
    );
  }
}

/**
 * The training figures, into `rows`: per batch size, PyTorch with the first thread count, ours
 * with each worker count, PyTorch with the other thread counts; then the cpu backend on a subset.
 * Returns the last wasm run's folder (for eval, predict and serve).
 */
function trainingRows(rows: Row[], runsDir: string): string | undefined {
  const whyNoTorch = parts.has('torch') ? torchUnavailable() : 'not requested';
  if (whyNoTorch && parts.has('torch')) log(`PyTorch reference skipped: ${whyNoTorch}`);
  let lastRun: string | undefined;
  for (const batch of batchSizes) {
    const [first, ...rest] = threadCounts;
    const torch = (threads: number) => {
      if (whyNoTorch) return;
      log(`- PyTorch ${threads} thread(s), batch ${batch} (load ${load1().toFixed(2)})`);
      rows.push(fromTorch(runTorch({ threads, batch, epochs, dataDir })));
    };
    if (first !== undefined) torch(first);
    if (parts.has('ours')) {
      for (const workers of workerCounts) {
        log(`- pipeline wasm, ${workers} worker(s), batch ${batch} (load ${load1().toFixed(2)})`);
        const r = runOurs({ backend: 'wasm', workers, batch, epochs, dataDir, runsDir });
        lastRun = r.runDir;
        rows.push(fromOurs(r));
      }
    }
    for (const threads of rest) torch(threads);
  }
  if (parts.has('cpu')) {
    // The pure-JS backend trains this model at ~18 samples/s: a small subset, one epoch.
    const limit = { train: 256, test: 256 };
    for (const workers of workerCounts) {
      log(
        `- pipeline cpu, ${workers} worker(s), batch 32, ${limit.train} train / ${limit.test} test examples (load ${load1().toFixed(2)})`,
      );
      const r = runOurs({ backend: 'cpu', workers, batch: 32, epochs: 1, dataDir, runsDir, limit });
      rows.push({ ...fromOurs(r), label: `${r.label} (subset)` });
    }
  }
  return lastRun;
}

/** The parts measured after training: eval, predict and serve, validate, queue, tpe. */
async function afterTraining(lastRun: string | undefined, runsDir: string): Promise<Record<string, unknown>> {
  const extra: Record<string, unknown> = {};
  if (parts.has('eval') && lastRun) {
    const walls = [0, 1, 2].map(() => runEval(lastRun, dataDir));
    extra.evalSeconds = median(walls.map((w) => w.wall));
    log(
      `- pipeline eval (10,000 test images, load + model + report): ${(extra.evalSeconds as number).toFixed(2)} s median of 3, peak RSS ${fmt(walls[0].rssMB)} MB`,
    );
  }
  if (parts.has('predict') || parts.has('serve')) {
    let model = opt('--model') ?? lastRun;
    if (!model) {
      log(`- training a 1-epoch model for predict/serve (load ${load1().toFixed(2)})`);
      model = runOurs({ backend: 'wasm', workers: 1, batch: 32, epochs: 1, dataDir, runsDir }).runDir;
    }
    extra.predictServe = await predictAndServe(path.resolve(model), runsDir);
  }
  if (parts.has('validate')) {
    const walls = [0, 1, 2, 3, 4].map(() => runValidate());
    extra.validateSeconds = median(walls);
    log(
      `- pipeline validate configs/cifar-lenet.yaml: ${(extra.validateSeconds as number).toFixed(3)} s median of 5 (${walls.map((w) => w.toFixed(3)).join(', ')})`,
    );
  }
  if (parts.has('queue')) {
    log(`- queue overhead: pipeline sweep --queue with pipeline workers on a local redis-server, no-op-sized trials`);
    extra.queue = [
      ...(await queueOverhead(queueWorkers, 2, 'one', log)),
      ...(await queueOverhead(queueWorkers, 2, 'all', log)),
    ];
  }
  if (parts.has('tpe')) extra.tpe = tpeVsRandom(log);
  return extra;
}

async function predictAndServe(model: string, runsDir: string): Promise<Record<string, unknown>> {
  log(`- pipeline predict ${model} on the 10,000 test JPEGs (load ${load1().toFixed(2)})`);
  const p = benchPredict(model, runsDir, dataDir);
  log(
    `  ${fmt(p.images)} images in ${p.wall.toFixed(2)} s wall (start, model load, decode, inference, output): ${fmt(p.imagesPerSecond)} images/s, peak RSS ${fmt(p.rssMB)} MB, load ${p.load.toFixed(2)}`,
  );
  const figures: Record<string, unknown> = {
    predict: { images: p.images, wall: p.wall, imagesPerSecond: p.imagesPerSecond, rssMB: p.rssMB, load: p.load },
  };
  if (!parts.has('serve')) return figures;
  const seconds = Number(opt('--serve-seconds') ?? 10);
  log(
    `- pipeline serve ${model}: check, then autocannon ${seconds} s at 1, 8 and 64 connections (load ${load1().toFixed(2)})`,
  );
  const s = await benchServe(model, runsDir, testJpegs(dataDir), p.answers, { connections: [1, 8, 64], seconds });
  log(
    `  check: ${s.check.answered}/${s.check.requests} requests from 64 concurrent clients answered, ${s.check.equal} equal to predict's class (largest probability difference ${s.check.maxProbabilityDiff.toExponential(2)})`,
  );
  log(
    `  ${'connections'.padStart(11)}  ${'requests/s'.padStart(10)}  ${'p50 ms'.padStart(6)}  ${'p99 ms'.padStart(6)}  ${'requests'.padStart(8)}  non-2xx  errors  images/batch  load`,
  );
  for (const r of s.rows) {
    log(
      `  ${String(r.connections).padStart(11)}  ${fmt(r.requestsPerSecond).padStart(10)}  ${fmt(r.p50).padStart(6)}  ${fmt(r.p99).padStart(6)}  ${fmt(r.requests).padStart(8)}  ${String(r.non2xx).padStart(7)}  ${String(r.errors).padStart(6)}  ${r.meanBatch.toFixed(1).padStart(12)}  ${r.load.toFixed(2)}`,
    );
  }
  log(`  serve exited ${s.exitCode} on SIGTERM`);
  return { ...figures, serve: s };
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
