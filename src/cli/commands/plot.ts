import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { resolveRunsRoot, type Run } from '../../runs/read';
import { resolveRuns } from '../../runs/refs';
import { leftOutNote, plotRuns } from '../../runs/plot';
import { CURVES_SVG } from '../../run-format/names';

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('learning curves of several runs overlaid, as SVG or a self-contained HTML page')
    .argument('<runs...>', 'runs or experiments (cifar-lenet/3, cifar-lenet/best, cifar-lenet: all its runs)')
    .option('--metric <names>', 'metric(s) to plot, comma-separated: one panel each', 'testAccuracy')
    .option('--out <file>', 'output file: .svg, or .html (interactive: hover, hide runs, fits the window)', CURVES_SVG)
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .action(async (refs: string[], opts: { metric: string; out: string; runsDir?: string }) => {
      process.exitCode = await withBoundary(async () => {
        const root = resolveRunsRoot(opts.runsDir);
        const runs: Run[] = [];
        for (const ref of refs)
          for (const r of resolveRuns(ref, root)) if (!runs.some((x) => x.dir === r.dir)) runs.push(r);
        const metrics = opts.metric
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean);
        const result = await plotRuns(runs, metrics, opts.out);
        process.stdout.write(
          `${result.file} (${result.runs.length} run${result.runs.length === 1 ? '' : 's'}, ${result.metrics.join(', ')})\n`,
        );
        const note = leftOutNote(result.leftOut);
        if (note) process.stderr.write(note + '\n');
      });
    });
}
