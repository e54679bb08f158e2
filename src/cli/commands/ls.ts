import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { collect } from '../options';
import { listTable, lsNotes, lsTable } from '../../runs/ls';
import { renderCsv, renderMarkdown, renderText } from '../../runs/table';

interface LsFlags {
  runsDir?: string;
  sort?: string;
  allColumns?: boolean;
  columns?: string;
  filter: string[];
  tag: string[];
  sweeps?: boolean;
  json?: boolean;
  csv?: boolean;
  md?: boolean;
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list runs: status, timing, the main metric, and the config values that differ among them')
    .argument(
      '[refs...]',
      'experiment names, runs or sweeps (cifar-lenet, cifar-lenet/3, cifar-lenet/sweeps/1); default: all',
    )
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--sort <key>', 'sort by a column or dotted config key; -KEY or KEY:desc for descending')
    .option(
      '--columns <names>',
      'exactly these columns, comma-separated: run, trial, status, when, took, backend, epochs, tags, arch, a metric (testAccuracy, best.testAccuracy), lr, batch, or a config key',
    )
    .option(
      '--filter <key=value>',
      'only runs where a column or config key has this value (or key!=value); repeatable',
      collect,
      [],
    )
    .option('--tag <key=value>', 'only runs with this tag (or just key: any value); repeatable', collect, [])
    .option('--sweeps', "list sweep trials with their experiment's other runs (by default: pipeline ls NAME/sweeps/N)")
    .option('--all-columns', 'every config key, metric and tag, not only those that differ, without fitting the width')
    .option('--json', 'print the rows as JSON')
    .option('--csv', 'print CSV')
    .option('--md', 'print a Markdown table')
    .action(async (refs: string[], opts: LsFlags) => {
      process.exitCode = await withBoundary(async () => {
        if ([opts.json, opts.csv, opts.md].filter(Boolean).length > 1)
          throw new UsageError('choose one of --json, --csv, --md');
        const plain = !opts.json && !opts.csv && !opts.md;
        const result = listTable({
          root: resolveRunsRoot(opts.runsDir),
          refs,
          sort: opts.sort,
          allColumns: opts.allColumns,
          columns: opts.columns
            ?.split(',')
            .map((c) => c.trim())
            .filter(Boolean),
          filters: opts.filter,
          tags: opts.tag,
          sweeps: opts.sweeps,
          width: plain ? terminalWidth() : undefined,
        });
        for (const note of lsNotes(result)) process.stderr.write(note + '\n');
        if (opts.json) {
          process.stdout.write(JSON.stringify(result.rows, null, 2) + '\n');
          return;
        }
        if (result.rows.length === 0) {
          const filtered = opts.filter.length || opts.tag.length;
          if (!Object.keys(result.hiddenTrials).length)
            process.stderr.write(filtered ? 'no runs match\n' : `no runs in ${resolveRunsRoot(opts.runsDir)}\n`);
          return;
        }
        const table = lsTable(result, { csv: opts.csv });
        const text = opts.csv ? renderCsv(table) : opts.md ? renderMarkdown(table) : renderText(table);
        process.stdout.write(text + '\n');
      });
    });
}

/** $COLUMNS when set, else the terminal's width; undefined (no fitting) when writing to a file or pipe. */
function terminalWidth(): number | undefined {
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}
