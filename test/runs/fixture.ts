import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MetricsRow, RunMeta, RunSummary, WrittenStatus } from '../../src/run-format/types';

/**
 * Writes run folders exactly as docs/run-folder.md describes them, so ls/show/diff/plot
 * can be tested (and benchmarked over thousands of runs) without training.
 */

const tempRoots: string[] = [];
let cleanupRegistered = false;

/** A fresh temp folder, removed when the test process exits. */
export function tempRoot(prefix = 'pipeline-runs-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempRoots.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.on('exit', () => {
      for (const d of tempRoots) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** The seed article's experiment as `resolved.json` would hold it. */
export function lenetConfig(name = 'cifar-lenet'): Record<string, unknown> {
  return {
    version: 1,
    name,
    seed: 42,
    dataset: { name: 'cifar10', scale: [0, 1], validationSplit: 0 },
    model: {
      layers: [
        { type: 'conv2d', filters: 6, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
        { type: 'maxPooling2d', poolSize: 2, strides: 2 },
        { type: 'conv2d', filters: 16, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
        { type: 'maxPooling2d', poolSize: 2, strides: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 120, activation: 'relu' },
        { type: 'dense', units: 84, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
    training: {
      epochs: 10,
      batchSize: 32,
      optimizer: { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      loss: 'softmaxCrossEntropy',
      metrics: ['accuracy'],
      shuffle: true,
    },
  };
}

/** Set a dotted path (`training.optimizer.learningRate`, `model.layers[5].units`) in a plain object. */
export function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(/\.|(?=\[)/);
  let cur: any = obj;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const key: string | number = p.startsWith('[') ? Number(p.slice(1, -1)) : p;
    if (i === parts.length - 1) cur[key] = value;
    else cur = cur[key];
  }
}

/** Plausible learning curves: accuracy rising with diminishing returns, scaled by `quality`. */
export function curve(epochs: number, quality = 0.6, wobble = 0): MetricsRow[] {
  const rows: MetricsRow[] = [];
  for (let e = 1; e <= epochs; e++) {
    const acc = quality * (1 - Math.exp(-e / 3)) + 0.1 * Math.exp(-e / 3) + wobble * Math.sin(e * 1.7);
    rows.push({
      epoch: e,
      loss: 2.3 * Math.exp(-e / 4) + 0.8,
      accuracy: Math.min(0.99, acc + 0.02 * e),
      testLoss: 2.3 * Math.exp(-e / 4) + 0.9 - wobble,
      testAccuracy: acc,
      learningRate: 0.001,
      seconds: 12.5,
      samplesPerSecond: 4000,
    });
  }
  return rows;
}

export interface FixtureRun {
  name?: string;
  version?: number;
  status?: WrittenStatus;
  /** dotted key -> value, applied to lenetConfig() */
  set?: Record<string, unknown>;
  config?: Record<string, unknown>;
  metrics?: MetricsRow[];
  /** Write summary.json (a completed run has one). Default: status !== 'running'. */
  summary?: boolean;
  pid?: number;
  host?: string;
  startedAt?: string;
  durationSeconds?: number | null;
  backend?: string;
  tags?: Record<string, string | number>;
  mainMetric?: { name: string; goal: 'max' | 'min' };
  /** Append a half-written last line to metrics.jsonl. */
  partialLine?: boolean;
  /** Skip meta.json (a folder claimed but never filled). */
  noMeta?: boolean;
}

/** Write one run folder; returns its absolute path. */
export function writeRun(root: string, f: FixtureRun = {}): string {
  const name = f.name ?? 'cifar-lenet';
  const expDir = path.join(root, name);
  fs.mkdirSync(expDir, { recursive: true });
  let version = f.version;
  if (version === undefined) {
    // Claim the next version the way `pipeline run` does.
    version = 1;
    for (;;) {
      try {
        fs.mkdirSync(path.join(expDir, String(version)));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        version++;
      }
    }
  } else {
    fs.mkdirSync(path.join(expDir, String(version)), { recursive: true });
  }
  const dir = path.join(expDir, String(version));
  const config = f.config ?? lenetConfig(name);
  for (const [k, v] of Object.entries(f.set ?? {})) setPath(config, k, v);
  const status = f.status ?? 'completed';
  const metrics = f.metrics ?? curve(3);
  const main = f.mainMetric ?? { name: 'testAccuracy', goal: 'max' as const };
  const startedAt = f.startedAt ?? new Date(Date.UTC(2025, 0, 1, 12, 0, 0) + version * 60_000).toISOString();
  const overrides = Object.entries(f.set ?? {}).map(
    ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
  );

  fs.writeFileSync(path.join(dir, 'config.yaml'), `version: 1\nname: ${name}\n`);
  fs.writeFileSync(path.join(dir, 'overrides.json'), JSON.stringify(overrides));
  fs.writeFileSync(path.join(dir, 'resolved.json'), JSON.stringify(config, null, 2));
  if (!f.noMeta) {
    const meta: RunMeta = {
      name,
      version,
      runDir: dir,
      status,
      pid: f.pid ?? 999_999_999,
      startedAt,
      endedAt: status === 'running' ? null : new Date(Date.parse(startedAt) + 125_000).toISOString(),
      durationSeconds: f.durationSeconds !== undefined ? f.durationSeconds : status === 'running' ? null : 125,
      command: ['pipeline', 'run', `configs/${name}.yaml`],
      versions: { pipeline: '0.1.0', tfjs: '4.22.0', node: process.version },
      backend: f.backend ?? 'wasm',
      backendReason: '@tensorflow/tfjs-node is not installed',
      workers: 1,
      seed: (config.seed as number) ?? 42,
      configHash: 'f'.repeat(64),
      dataset: {
        name: 'cifar10',
        source: { kind: 'folder' },
        fingerprint: 'ab12cd34',
        counts: { train: 50000, validation: 0, test: 10000 },
      },
      git: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: false },
      host: f.host ?? os.hostname(),
      cpus: 2,
      mainMetric: main,
      ...(f.tags ? { tags: f.tags } : {}),
      ...(status === 'failed' || status === 'diverged' ? { error: 'loss became NaN at epoch 2, batch 17' } : {}),
    };
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  }
  let lines = metrics.map((r) => JSON.stringify(r) + '\n').join('');
  if (f.partialLine) lines += '{"epoch":' + (metrics.length + 1) + ',"loss":1.2';
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines);
  if (f.summary ?? status !== 'running') {
    let best: MetricsRow | undefined;
    for (const r of metrics)
      if (!best || (main.goal === 'max' ? r[main.name] > best[main.name] : r[main.name] < best[main.name])) best = r;
    const summary: RunSummary = { final: metrics.at(-1), best, bestBy: main.name, epochs: metrics.length };
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  }
  fs.writeFileSync(path.join(dir, 'log.jsonl'), '{"level":30,"msg":"run started"}\n');
  return dir;
}

/**
 * Many runs of a few experiments, as a long-lived project accumulates them:
 * learning rates, batch sizes and seeds vary; a few runs failed or crashed.
 */
export function generateRuns(
  root: string,
  count: number,
  experiments = ['cifar-lenet', 'cifar-wide', 'fashion-mlp', 'cifar-deep'],
): void {
  const lrs = [0.0003, 0.001, 0.003, 0.01];
  const batches = [32, 64, 128];
  for (let i = 0; i < count; i++) {
    const name = experiments[i % experiments.length];
    const status: WrittenStatus = i % 97 === 0 ? 'failed' : i % 89 === 0 ? 'running' : 'completed';
    writeRun(root, {
      name,
      status,
      set: {
        'training.optimizer.learningRate': lrs[i % lrs.length],
        'training.batchSize': batches[Math.floor(i / 4) % batches.length],
        seed: i % 5,
      },
      metrics: curve(10, 0.5 + ((i * 7919) % 100) / 1000, 0.01),
    });
  }
}
