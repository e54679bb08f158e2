import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { InterruptedError, PipelineError, RunError, UsageError } from '../../errors';
import type { BackendRequest } from '../../backend';
import { runExperiment, type RunOutcome } from '../../pipeline/run';
import { resolveRun } from '../../runs/refs';
import { resolveRunsRoot } from '../../runs/read';

interface RunFlags {
  set: string[];
  tag: string[];
  runsDir?: string;
  dataDir?: string;
  backend?: string;
  workers?: string;
  json?: boolean;
  resume?: string;
}

/** `--tag sweep=abc --tag trial=3` -> {sweep: 'abc', trial: 3}. */
export function parseTags(raw: readonly string[]): Record<string, string | number> {
  const tags: Record<string, string | number> = {};
  for (const t of raw) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag ${t}: expected key=value, e.g. --tag sweep=lr-search`);
    const value = t.slice(eq + 1);
    tags[t.slice(0, eq)] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return tags;
}

function parseWorkers(raw: string | undefined): number | 'auto' | undefined {
  if (raw === undefined || raw === 'auto') return raw;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`--workers ${raw}: expected auto or an integer from 1 to 64`);
  return n;
}

/** stdout: the result (JSON line with --json, else a line naming the run folder); the exit code from the status. */
export function reportOutcome(outcome: RunOutcome, json: boolean): void {
  const { runDir, status, metrics, best } = outcome;
  if (json) process.stdout.write(JSON.stringify({ runDir, status, metrics, best }) + '\n');
  else process.stdout.write(`${status}: ${runDir}\n`);
  switch (status) {
    case 'completed':
      return;
    case 'interrupted':
      throw new InterruptedError(`${outcome.message ?? 'interrupted'}; continue with: pipeline run --resume ${runDir}`);
    case 'diverged':
      throw new RunError(`diverged: ${outcome.message}`);
    case 'failed':
      throw outcome.error instanceof PipelineError ? outcome.error : new RunError(`run failed: ${outcome.message}`);
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('train an experiment into a new versioned run folder (runs/<name>/<version>/)')
    .argument('[file]', 'experiment YAML file (omit with --resume)')
    .option('--set <key=value>', 'override a value (repeatable), e.g. training.epochs=10', collect, [])
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--data-dir <dir>', 'where datasets live (default: $PIPELINE_DATA_DIR, else the cache)')
    .option('--backend <name>', "auto, tensorflow, wasm or cpu (default: auto; on --resume, the run's own)")
    .option('--workers <n>', 'data-parallel workers, auto or 1-64 (overrides training.workers)')
    .option('--tag <key=value>', 'label the run (repeatable), e.g. --tag sweep=lr', collect, [])
    .option(
      '--resume <run>',
      'continue an interrupted run from its last checkpoint (a run folder, NAME/VERSION or NAME/latest); with --set training.epochs=N, train a run further',
    )
    .option('--json', 'print {runDir, status, metrics, best} as the last stdout line')
    .action(async (file: string | undefined, opts: RunFlags) => {
      process.exitCode = await withBoundary(async () => {
        const resume = opts.resume ? resolveRun(opts.resume, resolveRunsRoot(opts.runsDir)).dir : undefined;
        if (!resume && !file)
          throw new UsageError(
            'pipeline run needs an experiment file, e.g. pipeline run configs/cifar-lenet.yaml (or --resume RUN)',
          );
        const outcome = await runExperiment({
          file,
          overrides: opts.set,
          resume,
          runsDir: opts.runsDir,
          dataDir: opts.dataDir,
          backend: opts.backend as BackendRequest | undefined,
          workers: parseWorkers(opts.workers),
          tags: parseTags(opts.tag),
          command: ['pipeline', ...process.argv.slice(2)],
        });
        reportOutcome(outcome, opts.json === true);
      });
    });
}
