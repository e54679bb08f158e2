import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { loadExperimentFile } from '../../config/load';
import { summarizeModel, formatSummary, formatDot, formatMermaid, type ModelSummary } from '../../pipeline/summary';
import { UsageError } from '../../errors';

const FORMATS: Record<string, (s: ModelSummary) => string> = {
  text: formatSummary,
  json: (s) => JSON.stringify(s) + '\n',
  dot: formatDot,
  mermaid: formatMermaid,
};

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("show the model layer by layer, like Keras' model.summary()")
    .argument('<file>', 'experiment YAML file')
    .option('--set <key=value>', 'override a value (repeatable)', collect, [])
    .option('--json', 'print the summary as JSON (same as --format json)')
    .option('--format <format>', 'text, json, dot (Graphviz) or mermaid', 'text')
    .action(async (file: string, opts: { set: string[]; json?: boolean; format: string }) => {
      process.exitCode = await withBoundary(async () => {
        const format = FORMATS[opts.json ? 'json' : opts.format];
        if (!format)
          throw new UsageError(`unknown --format "${opts.format}"; one of ${Object.keys(FORMATS).join(', ')}`);
        const loaded = loadExperimentFile(file, { overrides: opts.set });
        process.stdout.write(format(summarizeModel(loaded)));
      });
    });
}
