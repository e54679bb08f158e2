import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { resolveRun } from '../../runs/refs';
import { diffRuns, formatDiff } from '../../runs/diff';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('what changed between two runs (config, typed) and what it did (metrics, epoch by epoch)')
    .argument('<a>', 'the old run: cifar-lenet/3, cifar-lenet/best, a path...')
    .argument('<b>', 'the new run')
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--json', 'print the comparison as JSON')
    .option('--md', 'print Markdown, ready to paste into a pull request')
    .action(async (a: string, b: string, opts: { runsDir?: string; json?: boolean; md?: boolean }) => {
      process.exitCode = await withBoundary(async () => {
        if (opts.json && opts.md) throw new UsageError('choose one of --json, --md');
        const root = resolveRunsRoot(opts.runsDir);
        const report = diffRuns(resolveRun(a, root), resolveRun(b, root));
        process.stdout.write(
          opts.json ? JSON.stringify(report, null, 2) + '\n' : formatDiff(report, opts.md ? 'md' : 'text'),
        );
      });
    });
}
