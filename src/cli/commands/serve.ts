import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import type { BackendRequest } from '../../backend';
import { UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { serveModel } from '../../serve/serve-model';
import { positiveInt } from './predict';

interface ServeFlags {
  port: string;
  host: string;
  topK: string;
  maxBatch: string;
  batchDelay: string;
  maxConcurrent: string;
  bodyLimit: string;
  runsDir?: string;
  backend?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'an HTTP JSON service for a trained model: POST /predict, GET /metadata, GET /healthz (dynamic batching, limits, graceful SIGTERM)',
    )
    .argument('<model>', 'a run (NAME/VERSION, NAME/latest, NAME/best, a run folder) or a model bundle folder')
    .option('--port <port>', 'TCP port (0: any free one, logged)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--top-k <k>', 'classes per prediction (a request may ask ?top_k=)', '3')
    .option('--max-batch <n>', 'dynamic batching: most images per forward pass', '256')
    .option('--batch-delay <ms>', 'dynamic batching: how long a request waits for others to share its batch', '2')
    .option('--max-concurrent <n>', 'requests in progress at once; more get 503', '256')
    .option('--body-limit <bytes>', 'largest request body; larger get 413', String(8 * 1024 * 1024))
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu (default: auto)')
    .action(async (ref: string, opts: ServeFlags) => {
      process.exitCode = await withBoundary(async () => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UsageError(`--port ${opts.port}: expected a port number 0-65535`);
        const delay = Number(opts.batchDelay);
        if (!(delay >= 0 && delay <= 10_000))
          throw new UsageError(`--batch-delay ${opts.batchDelay}: expected milliseconds 0-10000`);
        await serveModel({
          ref,
          runsRoot: resolveRunsRoot(opts.runsDir),
          host: opts.host,
          port,
          backend: opts.backend as BackendRequest | undefined,
          topK: positiveInt(opts.topK, '--top-k'),
          maxBatch: positiveInt(opts.maxBatch, '--max-batch'),
          batchDelayMs: delay,
          maxConcurrent: positiveInt(opts.maxConcurrent, '--max-concurrent'),
          bodyLimit: positiveInt(opts.bodyLimit, '--body-limit'),
        });
      });
    });
}
