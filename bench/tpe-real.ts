import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * TPE against random search on real training: 20 trials each of bench/tpe-real.yaml (the
 * seed's LeNet with dropout, 2 epochs on 2,000 CIFAR-10 training images, tested on 1,000)
 * over learning rate, batch size and dropout, `pipeline sweep --parallel 2` on this
 * machine. Both share their first 10 trials (TPE's random startup is random search's plan).
 * Usage: node dist/bench/tpe-real.js [SEEDS e.g. 1,2] [DATA_DIR]   (about 10 minutes per seed on 2 idle cores)
 */
const repo = path.resolve(__dirname, '../..');
const seeds = (process.argv[2] ?? '1').split(',').map(Number);
const dataDir = path.resolve(process.argv[3] ?? process.env.PIPELINE_DATA_DIR ?? 'data');

function best(method: string, seed: number, root: string): number {
  const out = execFileSync(
    process.execPath,
    [
      path.join(repo, 'bin/pipeline.js'),
      'sweep',
      path.join(repo, 'bench/tpe-real.yaml'),
      '--method',
      method,
      '--set',
      `seed=${seed}`,
      '--runs-dir',
      root,
      '--data-dir',
      dataDir,
      '--backend',
      'wasm',
      '--json',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const board = JSON.parse(out) as { leaderboard: Array<{ value: number | null }> };
  return Math.max(...board.leaderboard.map((r) => r.value ?? -Infinity));
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-bench-tpe-'));
try {
  for (const seed of seeds) {
    const load = os.loadavg()[0].toFixed(2);
    const t0 = Date.now();
    const random = best('random', seed, root);
    const tpe = best('tpe', seed, root);
    process.stdout.write(
      `seed ${seed}: best testAccuracy random ${random.toFixed(4)}, tpe ${tpe.toFixed(4)} (${((Date.now() - t0) / 60000).toFixed(1)} min, load ${load} at start)\n`,
    );
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
