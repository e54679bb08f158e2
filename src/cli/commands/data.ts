import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { loadExperiment } from '../../config/load';
import { describeDataset, formatDatasetDescription, loadDataset } from '../../data';
import { emptyClassWarnings } from '../../data/probe';
import { InterruptedError } from '../../errors';
import { installStopSignals } from '../../pipeline/signals';

export function registerData(program: Command): void {
  program
    .command('data')
    .description(
      'describe the data an experiment would use (source, counts per split and class, shape, fingerprint, cache) without training',
    )
    .argument('<file>', 'experiment YAML file')
    .option('--set <key=value>', 'override a value (repeatable), e.g. dataset.limit.train=1000', collect, [])
    .option('--data-dir <dir>', 'where datasets live (default: $PIPELINE_DATA_DIR, else ~/.cache/pipeline/datasets)')
    .option('--json', 'print the description as JSON')
    .action(async (file: string, opts: { set: string[]; dataDir?: string; json?: boolean }) => {
      // Ctrl-C or SIGTERM stops a download or decode at once; its partial files are removed.
      const stop = installStopSignals();
      process.exitCode = await withBoundary(async () => {
        const exp = await loadExperiment(file, { overrides: opts.set });
        const started = process.hrtime.bigint();
        const ds = await loadDataset(exp.dataset, {
          dataDir: opts.dataDir,
          seed: exp.seed,
          progress: true,
          log: (msg) => process.stderr.write(`${msg}\n`),
          signal: stop.abort,
        });
        if (stop.requested) throw new InterruptedError(`interrupted (${stop.signal})`);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const description = describeDataset(ds, exp.dataset, { seconds });
        const warnings = emptyClassWarnings(ds);
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ...description, warnings }, null, 2)}\n`
            : `${formatDatasetDescription(description)}\n`,
        );
      }).finally(() => stop.dispose());
    });
}
