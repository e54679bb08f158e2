import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { resolveRunsRoot } from '../../runs/read';
import { resolveRun } from '../../runs/refs';
import { formatShow, showReport } from '../../runs/show';
import { formatSweepShow, isSweepRef } from '../../runs/sweep/show';
import { resolveSweep } from '../../runs/sweep/state';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description(
      'one run: meta, the resolved config, per-epoch metrics, final and best (or a sweep: its plan and trials)',
    )
    .argument(
      '<run>',
      'a run: cifar-lenet/3, cifar-lenet/latest, cifar-lenet/best, or a path; or a sweep: cifar-lenet/sweeps/1',
    )
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--json', 'print everything as one JSON object')
    .action(async (ref: string, opts: { runsDir?: string; json?: boolean }) => {
      process.exitCode = await withBoundary(async () => {
        const root = resolveRunsRoot(opts.runsDir);
        if (isSweepRef(ref)) {
          const state = resolveSweep(ref, root);
          process.stdout.write(opts.json ? JSON.stringify(state, null, 2) + '\n' : formatSweepShow(state));
          return;
        }
        const report = showReport(resolveRun(ref, root));
        process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatShow(report));
      });
    });
}
