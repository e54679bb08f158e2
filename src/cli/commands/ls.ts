import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { listTable, lsTable } from '../../runs/ls';
import { renderCsv, renderMarkdown, renderText } from '../../runs/table';

interface LsFlags {
  runsDir?: string;
  sort?: string;
  allColumns?: boolean;
  json?: boolean;
  csv?: boolean;
  md?: boolean;
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list runs: status, timing, test metrics, and the config values that differ among them')
    .argument('[refs...]', 'experiment names or runs (cifar-lenet, cifar-lenet/3, runs/cifar-lenet/latest); default: all')
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--sort <key>', 'sort by a column or dotted config key; -KEY or KEY:desc for descending')
    .option('--all-columns', 'every config key, metric and tag, not only those that differ')
    .option('--json', 'print the rows as JSON')
    .option('--csv', 'print CSV')
    .option('--md', 'print a Markdown table')
    .action(async (refs: string[], opts: LsFlags) => {
      process.exitCode = await withBoundary(async () => {
        if ([opts.json, opts.csv, opts.md].filter(Boolean).length > 1) throw new UsageError('choose one of --json, --csv, --md');
        const result = listTable({ root: resolveRunsRoot(opts.runsDir), refs, sort: opts.sort, allColumns: opts.allColumns });
        if (opts.json) {
          process.stdout.write(JSON.stringify(result.rows, null, 2) + '\n');
          return;
        }
        if (result.rows.length === 0) {
          process.stderr.write(`no runs in ${resolveRunsRoot(opts.runsDir)}\n`);
          return;
        }
        const table = lsTable(result, { csv: opts.csv });
        const text = opts.csv ? renderCsv(table) : opts.md ? renderMarkdown(table) : renderText(table);
        process.stdout.write(text + '\n');
      });
    });
}
