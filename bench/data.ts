import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batches, loadDataset } from '../src/data';
import { CIFAR10 } from '../src/data/registry';
import type { DatasetConfig } from '../src/data/types';

/**
 * The data pipeline's figures on the real CIFAR-10 JPEG copy:
 *  - `pipeline data configs/cifar-lenet.yaml` cold (empty decoded-image cache) and warm (cache hit):
 *    wall time, the load's own time and peak RSS, measured with /usr/bin/time -v (targets: < 10 s, < 2 s, < 1 GB);
 *  - the batch pipeline's throughput (uint8 -> float32, shuffle, augmentation) at batch 32 and 128,
 *    which must be far above what training consumes (target: > 10,000 samples/s).
 * Usage: node dist/bench/data.js [--data-dir D] [--repeats N] [--drop-caches]
 *   D holds cifar10/ (default: $PIPELINE_DATA_DIR, else ./data as the README's first command makes it). --drop-caches (root) empties the
 *   page cache before the cold run, so it also pays for reading 60,000 files from disk.
 */

const repo = path.resolve(__dirname, '../..');
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const dataDir = opt('--data-dir') ?? process.env.PIPELINE_DATA_DIR ?? 'data';
const repeats = Number(opt('--repeats') ?? 5);
const dropCaches = args.includes('--drop-caches');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!fs.existsSync(path.join(dataDir, 'cifar10', 'train'))) {
  console.error(
    `no CIFAR-10 images in ${dataDir}/cifar10: extract the CIFAR-10 JPEG archive into D as the README says, then --data-dir D`,
  );
  process.exit(1);
}
const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface CliRun {
  wall: number;
  /** user + system CPU seconds: less sensitive than wall time to other work on the machine. */
  cpu?: number;
  load: number;
  rssMB?: number;
  cache: string;
  counts: { train: number; validation: number; test: number };
}

function runCli(cacheDir: string): CliRun {
  const cmd = [path.join(repo, 'bin/pipeline.js'), 'data', path.join(repo, 'configs/cifar-lenet.yaml'), '--json'];
  const env = { ...process.env, PIPELINE_DATA_DIR: dataDir, PIPELINE_CACHE_DIR: cacheDir };
  const started = performance.now();
  const r = timeBin
    ? spawnSync(timeBin, ['-v', process.execPath, ...cmd], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, cmd, { env, encoding: 'utf8' });
  let wall = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`pipeline data failed (${r.status}):\n${r.stderr}`);
  const d = JSON.parse(r.stdout);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const elapsed = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  if (elapsed) wall = Number(elapsed[1] ?? 0) * 3600 + Number(elapsed[2]) * 60 + Number(elapsed[3]);
  const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const cpu = user && sys ? Number(user[1]) + Number(sys[1]) : undefined;
  return {
    wall,
    cpu,
    load: d.seconds,
    rssMB: rss ? Number(rss[1]) / 1024 : undefined,
    cache: d.cache,
    counts: d.counts,
  };
}

const fmtRun = (r: CliRun) =>
  `wall ${r.wall.toFixed(2)} s, load ${r.load.toFixed(2)} s, cpu ${r.cpu?.toFixed(2) ?? 'n/a'} s, peak RSS ${r.rssMB ? `${r.rssMB.toFixed(0)} MB` : 'n/a (no /usr/bin/time)'}, cache ${r.cache}`;

async function main() {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-data-'));
  try {
    console.log(
      `CIFAR-10 JPEG copy in ${dataDir}/cifar10, decoded-image cache in ${cacheDir}, ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    if (dropCaches) {
      fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
      console.log('dropped the page cache: the cold run reads the images from disk');
    }
    const cold = runCli(cacheDir);
    console.log(`cold  ${fmtRun(cold)}  (train ${cold.counts.train}, test ${cold.counts.test})`);
    const warm: CliRun[] = [];
    for (let i = 0; i < repeats; i++) warm.push(runCli(cacheDir));
    warm.forEach((w, i) => console.log(`warm${i + 1} ${fmtRun(w)}`));
    const throughput = await batchThroughput(cacheDir);
    for (const t of throughput)
      console.log(
        `batches: ${t.label}: ${Math.round(t.rate).toLocaleString('en-US')} samples/s (one 50,000-example epoch, median of 3)`,
      );
    const checks = targets(cold, warm, throughput);
    console.log('');
    for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
    process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** The batch pipeline, in process, on the cached arrays: samples/s per batch size and augmentation, median of 3 epochs. */
async function batchThroughput(cacheDir: string): Promise<Array<{ label: string; rate: number }>> {
  const cfg: DatasetConfig = {
    name: 'cifar10',
    validationSplit: 0,
    normalize: { type: 'scale' },
    augment: {},
    shuffle: true,
  };
  const ds = await loadDataset(cfg, { dataDir, cacheDir, seed: 42 });
  const throughput: Array<{ label: string; rate: number }> = [];
  const variants: Array<{ label: string; augment: DatasetConfig['augment']; normalize: DatasetConfig['normalize'] }> = [
    { label: 'scale', augment: {}, normalize: { type: 'scale' } },
    {
      label: 'standardize + randomCrop(4) + flip',
      augment: { randomCrop: { padding: 4 }, horizontalFlip: true },
      normalize: { type: 'standardize', mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] },
    },
  ];
  for (const batchSize of [32, 128]) {
    for (const v of variants) {
      const rates: number[] = [];
      for (let epoch = 1; epoch <= 3; epoch++) {
        const t = performance.now();
        let n = 0;
        const options = { batchSize, epoch, seed: 42, shuffle: true, normalize: v.normalize, augment: v.augment };
        for (const b of batches(ds.train, ds.shape, options)) n += b.size;
        rates.push(n / ((performance.now() - t) / 1000));
      }
      throughput.push({ label: `batch ${batchSize}, ${v.label}`, rate: median(rates) });
    }
  }
  return throughput;
}

/** The targets the figures must meet (counts, cold and warm wall time, memory, batch rate). */
function targets(cold: CliRun, warm: CliRun[], throughput: Array<{ rate: number }>) {
  const warmWall = median(warm.map((w) => w.wall));
  const warmLoad = median(warm.map((w) => w.load));
  const peakRss = Math.max(cold.rssMB ?? 0, ...warm.map((w) => w.rssMB ?? 0));
  const minRate = Math.min(...throughput.map((t) => t.rate));
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    {
      what: `counts ${n(CIFAR10.splits.train)} / ${n(CIFAR10.splits.test)}`,
      ok: cold.counts.train === CIFAR10.splits.train && cold.counts.test === CIFAR10.splits.test,
    },
    { what: `cold wall ${cold.wall.toFixed(2)} s < 10 s`, ok: cold.wall < 10 && cold.cache === 'miss' },
    {
      what: `warm wall (median) ${warmWall.toFixed(2)} s < 2 s (load alone ${warmLoad.toFixed(2)} s)`,
      ok: warmWall < 2 && warm.every((w) => w.cache === 'hit'),
    },
    { what: `peak RSS ${peakRss.toFixed(0)} MB < 1024 MB`, ok: peakRss < 1024 },
    {
      what: `slowest batch pipeline ${Math.round(minRate).toLocaleString('en-US')} samples/s > 10,000`,
      ok: minRate > 10000,
    },
  ];
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
