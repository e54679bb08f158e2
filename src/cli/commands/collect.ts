import type { Command } from 'commander';
import * as path from 'node:path';
import { withBoundary } from '../boundary';
import { resolveRunsRoot } from '../../runs/read';
import { collectRuns } from '../../runs/sweep/queue/collect';

export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description("copy runs from other machines' runs folders into this runs root, each under the next free version")
    .argument('<folders...>', "runs folders to collect from (e.g. each worker's runs/, copied here with rsync)")
    .option('--runs-dir <dir>', 'runs root to collect into (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--json', 'print what was copied and skipped as JSON')
    .addHelpText(
      'after',
      `
After a queued sweep, from the machine that ran \`pipeline sweep\`:
  rsync -a worker1:runs/ gathered/worker1/ && rsync -a worker2:runs/ gathered/worker2/
  pipeline collect gathered/worker1 gathered/worker2
  pipeline ls tiny/sweeps/1
A run collected before is skipped; a run still marked running is left for a later collect.`,
    )
    .action(async (folders: string[], opts: { runsDir?: string; json?: boolean }) => {
      process.exitCode = await withBoundary(async () => {
        const root = resolveRunsRoot(opts.runsDir);
        const r = collectRuns(folders, root);
        if (opts.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        for (const c of r.copied) process.stdout.write(`${c.from} -> ${path.relative(root, c.to)}\n`);
        for (const s of r.skipped) process.stderr.write(`skipped ${s.from}: ${s.why}\n`);
        for (const id of r.sweepsUpdated) process.stdout.write(`sweep ${id}: trials now point at the collected runs\n`);
        process.stdout.write(`collected ${r.copied.length} run${r.copied.length === 1 ? '' : 's'} into ${root}\n`);
      });
    });
}
