import type { Command } from 'commander';
import * as fs from 'node:fs';
import { withBoundary } from '../boundary';
import { UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { pipelineScript } from '../../runs/sweep/sweep';
import { runWorker } from '../../runs/sweep/queue/worker';
import { hideQueueFromPs, queueFrom } from '../../runs/sweep/queue/url';

interface WorkerCliFlags {
  queue?: string;
  concurrency?: string;
  runsDir?: string;
  dataDir?: string;
  lockSeconds?: string;
  maxStalls?: string;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run queued sweep trials (pipeline sweep --queue) on this machine until stopped')
    .option(
      '--queue <url>',
      'the Redis queue: redis://[user:password@]host:port[/db] or rediss:// (default: $PIPELINE_QUEUE; prefer it for a password)',
    )
    .option('--concurrency <n>', 'trials run at once (default 1)')
    .option('--runs-dir <dir>', "where this machine's trial runs go (default: $PIPELINE_RUNS_DIR or ./runs)")
    .option('--data-dir <dir>', 'where datasets live on this machine (default: $PIPELINE_DATA_DIR, else the cache)')
    .option('--lock-seconds <n>', 'a trial whose worker is silent this long goes to another worker (default 30)')
    .option('--max-stalls <n>', 'times a trial may lose its worker before it is failed (default 3)')
    .addHelpText(
      'after',
      `
Each trial is a normal \`pipeline run\` in its own versioned folder under --runs-dir, tagged with
its sweep and trial, after its experiment validates here. Ctrl-C (or SIGTERM): running trials
write a checkpoint and go back on the queue, then the worker exits 130. A worker that dies
outright loses its trials' locks; after --lock-seconds another worker takes them over: it
continues a trial from its checkpoint when the runs folder is shared, else starts it over.

  PIPELINE_QUEUE=redis://:SECRET@HOST:6379 pipeline worker --concurrency 2 --data-dir data`,
    )
    .action(async (opts: WorkerCliFlags) => {
      process.exitCode = await withBoundary(async () => {
        const queue = queueFrom(opts.queue);
        if (!queue)
          throw new UsageError('pipeline worker needs the queue: --queue redis://host:port or $PIPELINE_QUEUE');
        hideQueueFromPs();
        const runsDir = resolveRunsRoot(opts.runsDir);
        // Checked before taking any trial: every trial of a worker with a runs folder it cannot write would fail.
        if (fs.existsSync(runsDir)) fs.readdirSync(runsDir);
        else fs.mkdirSync(runsDir, { recursive: true });
        fs.accessSync(runsDir, fs.constants.W_OK);
        await runWorker({
          queue,
          runsDir,
          dataDir: opts.dataDir,
          concurrency: whole('concurrency', opts.concurrency, 1),
          lockSeconds: whole('lock-seconds', opts.lockSeconds, 30),
          maxStalls: whole('max-stalls', opts.maxStalls, 3),
          script: pipelineScript(),
          log: (line) => process.stderr.write(line + '\n'),
        });
      });
    });
}

function whole(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number >= 1, got "${raw}"`);
  return n;
}
