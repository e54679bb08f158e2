import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { QueuedSweepState } from '../src/runs/sweep/queue/records';
import { RedisServer } from '../test/runs/queue/redis-server';
import { tinyCifarDataDir } from '../test/runs/tiny-cifar';

/**
 * Per-trial queue overhead of `pipeline sweep --queue` with `pipeline worker`s, on a
 * redis-server started here: the time a trial spends in the queue machinery rather
 * than training. Trials are no-op-sized (one epoch of a 4-filter net on 32 generated
 * examples; each is still a real `pipeline run` process). Two figures per trial, from
 * the sweep record (every process is on this machine, so one clock):
 * - start: enqueue -> its `pipeline run` process spawned, counted from when a worker
 *   was free for it (the later of its enqueue and the end of that worker's previous
 *   trial): taking the job, validating the trial, writing the file, spawning;
 * - end: the process exited -> the sweep has the result in sweep.json (the worker
 *   reads the run, stores the result, the sweep wakes and records it).
 */

export interface OverheadRow {
  mode?: Mode;
  workers: number;
  trials: number;
  startMs: number;
  endMs: number;
  startP90: number;
  /** Of the start: enqueue/free -> a worker's processor has the job (BullMQ), and -> process spawned (our preparation). */
  takeMs: number;
  prepareMs: number;
  /** CPU time the worker spent preparing (what the preparation costs on an idle core). */
  prepareCpuMs: number;
  endP90: number;
  wallSeconds: number;
  load: number;
}

const repo = path.resolve(__dirname, '../..');
const bin = path.join(repo, 'bin/pipeline.js');
const tiny = path.join(repo, 'test/fixtures/runs/tiny.yaml');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];

/**
 * `all`: every trial queued at once, so every worker is busy (on this 2-core machine N
 * trainings then compete for the cores with the workers' own work). `one`: one trial in
 * flight at a time (`--method tpe --parallel 1`), so the other workers are idle: the queue's
 * own latency from an enqueue to a free worker starting the trial.
 */
export type Mode = 'all' | 'one';

export async function queueOverhead(
  workerCounts: number[],
  trialsPerWorker: number,
  mode: Mode,
  log: (l: string) => void,
): Promise<OverheadRow[]> {
  const data = tinyCifarDataDir();
  const rows: OverheadRow[] = [];
  for (const w of workerCounts) {
    const redis = await RedisServer.start();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-queue-'));
    const workers: ChildProcess[] = [];
    try {
      for (let i = 0; i < w; i++) {
        workers.push(
          spawn(
            process.execPath,
            [bin, 'worker', '--queue', redis.url(), '--runs-dir', path.join(root, `w${i}`), '--data-dir', data],
            { stdio: 'ignore' },
          ),
        );
      }
      const n = mode === 'one' ? trialsPerWorker * 4 : Math.max(8, trialsPerWorker * w);
      const load = os.loadavg()[0];
      const t0 = Date.now();
      const state = await queuedSweep(mode, n, redis.url(), root);
      const row = { workers: w, trials: n, ...overheadFigures(state), wallSeconds: (Date.now() - t0) / 1000, load };
      log(
        `- queue, ${mode === 'one' ? 'one trial at a time' : 'all trials queued'}, ${w} worker(s), ${n} trials: start overhead median ${row.startMs} ms (p90 ${row.startP90}; taking the job ${row.takeMs}, preparing ${row.prepareMs}, of which CPU ${row.prepareCpuMs}), end overhead median ${row.endMs} ms (p90 ${row.endP90}), sweep ${row.wallSeconds.toFixed(1)} s, load ${load.toFixed(2)}`,
      );
      rows.push({ ...row, mode });
    } finally {
      for (const p of workers) p.kill('SIGKILL');
      await redis.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  return rows;
}

/** A sweep of `n` no-op-sized trials of the tiny experiment through the queue at `url`, to its end; its record. */
async function queuedSweep(mode: Mode, n: number, url: string, root: string): Promise<QueuedSweepState> {
  const values = Array.from({ length: n }, (_, i) => 0.001 + i * 0.0001)
    .map((v) => v.toFixed(4))
    .join(',');
  const search =
    mode === 'one'
      ? [
          '--method',
          'tpe',
          '--trials',
          String(n),
          '--parallel',
          '1',
          '--param',
          'training.optimizer.learningRate=0.0001..0.01:log',
        ]
      : ['--param', `training.optimizer.learningRate=${values}`];
  const tinyRun = ['--set', 'training.epochs=1', '--set', 'dataset.limit.train=32', '--set', 'dataset.limit.test=32'];
  const sweep = spawn(
    process.execPath,
    [bin, 'sweep', tiny, '--queue', url, '--runs-dir', root, '--backend', 'wasm', ...search, ...tinyRun],
    { stdio: 'ignore' },
  );
  const code = await new Promise<number | null>((r) => sweep.on('close', r));
  if (code !== 0) throw new Error(`the benchmark sweep exited ${code}`);
  return JSON.parse(fs.readFileSync(path.join(root, 'tiny/sweeps/1/sweep.json'), 'utf8')) as QueuedSweepState;
}

/** Medians and p90s of the per-trial overheads the sweep record's timings give (see the top of this file). */
function overheadFigures(state: QueuedSweepState) {
  const starts: number[] = [];
  const takes: number[] = [];
  const preps: number[] = [];
  const prepCpu: number[] = [];
  const ends: number[] = [];
  for (const t of state.trials) {
    if (!t.timings) continue;
    const prev = state.trials
      .filter((o) => o.worker === t.worker && o.timings && o.timings.exitedAt <= t.timings!.spawnedAt)
      .map((o) => o.timings!.exitedAt);
    const free = Math.max(t.timings.enqueuedAt, ...prev);
    starts.push(t.timings.spawnedAt - free);
    takes.push(t.timings.pickedAt - free);
    preps.push(t.timings.spawnedAt - t.timings.pickedAt);
    prepCpu.push(t.timings.prepareCpuMs);
    ends.push(t.timings.recordedAt - t.timings.exitedAt);
  }
  return {
    startMs: median(starts),
    endMs: median(ends),
    startP90: p90(starts),
    takeMs: median(takes),
    prepareMs: median(preps),
    prepareCpuMs: Math.round(median(prepCpu) * 10) / 10,
    endP90: p90(ends),
  };
}

if (require.main === module) {
  const counts = (process.argv[2] ?? '1,2,4,8').split(',').map(Number);
  queueOverhead(counts, Number(process.argv[3] ?? 2), (process.argv[4] ?? 'one') as Mode, (l) =>
    process.stdout.write(l + '\n'),
  ).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
