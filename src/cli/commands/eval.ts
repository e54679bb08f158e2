import type { Command } from 'commander';
import * as path from 'node:path';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import type { BackendRequest } from '../../backend';
import { InterruptedError, UsageError } from '../../errors';
import { evaluateRun, formatEvalReport } from '../../pipeline/evaluate';
import { installStopSignals } from '../../pipeline/signals';
import { resolveRunRef } from '../../runs/refs';
import { resolveRunsRoot } from '../../runs/read';
import { EVALUATION_JSON } from '../../run-format/names';
import { writeFileAtomic } from '../../util/atomic';

interface EvalFlags {
  set: string[];
  runsDir?: string;
  dataDir?: string;
  backend?: string;
  json?: boolean;
  save?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      "evaluate a run's saved model: loss, accuracy, per-class accuracy and confusion matrix on the test split",
    )
    .argument(
      '<run>',
      'a run folder, NAME/VERSION, NAME/latest or NAME/best; a checkpoint with @best, @last, @epoch-N (or its folder)',
    )
    .option(
      '--set <key=value>',
      'evaluate on other data: dataset.* overrides (repeatable), e.g. dataset.limit.test=1000',
      collect,
      [],
    )
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--data-dir <dir>', 'where datasets live (default: $PIPELINE_DATA_DIR, else the cache)')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu (default: auto)')
    .option('--json', 'print the report as JSON')
    .option('--save', `also write the report into the run folder (${EVALUATION_JSON}), where pipeline ui shows it`)
    .action(async (ref: string, opts: EvalFlags) => {
      // Ctrl-C or SIGTERM stops a download or decode of the data at once, leaving nothing behind.
      const stop = installStopSignals();
      process.exitCode = await withBoundary(async () => {
        // The saved report is the run's own: its final model on its test split, not other data or a checkpoint.
        if (opts.save && opts.set.length > 0)
          throw new UsageError("--save keeps the evaluation on the run's own test split; drop --set, or drop --save");
        const { run, checkpoint } = resolveRunRef(ref, resolveRunsRoot(opts.runsDir));
        if (opts.save && checkpoint)
          throw new UsageError(
            "--save keeps the evaluation of the run's final model; drop the @checkpoint, or drop --save",
          );
        const report = await evaluateRun({
          runDir: run.dir,
          checkpoint,
          overrides: opts.set,
          dataDir: opts.dataDir,
          backend: opts.backend as BackendRequest | undefined,
          log: (m) => process.stderr.write(m + '\n'),
          signal: stop.abort,
        });
        if (stop.requested) throw new InterruptedError(`interrupted (${stop.signal})`);
        if (opts.save) writeFileAtomic(path.join(run.dir, EVALUATION_JSON), JSON.stringify(report, null, 2) + '\n');
        process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : formatEvalReport(report));
      }).finally(() => stop.dispose());
    });
}
