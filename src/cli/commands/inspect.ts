import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { loadExperimentFile } from '../../config/load';
import { summarizeModel, formatSummary } from '../../pipeline/summary';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("show the model layer by layer, like Keras' model.summary()")
    .argument('<file>', 'experiment YAML file')
    .option('--set <key=value>', 'override a value (repeatable)', collect, [])
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, opts: { set: string[]; json?: boolean }) => {
      process.exitCode = await withBoundary(async () => {
        const loaded = loadExperimentFile(file, { overrides: opts.set });
        const summary = summarizeModel(loaded);
        process.stdout.write(opts.json ? JSON.stringify(summary) + '\n' : formatSummary(summary));
      });
    });
}
