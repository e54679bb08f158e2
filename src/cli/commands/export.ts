import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { exportBundle } from '../../predict/export';
import { openModelSource } from '../../predict/model-source';
import { resolveRunsRoot } from '../../runs/read';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'write a self-describing model bundle: model.json + weights.bin + pipeline.json (classes, input shape, preprocessing, experiment, metrics)',
    )
    .argument('<model>', 'a run (NAME/VERSION, NAME/latest, NAME/best, a run folder) or a model bundle folder')
    .argument('<out-dir>', 'the bundle folder to write (new, empty, or an earlier bundle, which is replaced)')
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--json', 'print {dir, files, run} as JSON')
    .action(async (ref: string, outDir: string, opts: { runsDir?: string; json?: boolean }) => {
      process.exitCode = await withBoundary(async () => {
        const source = openModelSource(ref, resolveRunsRoot(opts.runsDir));
        const out = exportBundle(source, outDir);
        // The run's reference with its checkpoint (tiny/4@best), as the user named it; a bundle's own run otherwise.
        const run = source.kind === 'run' ? source.label : source.manifest.run.ref;
        process.stdout.write(
          opts.json
            ? JSON.stringify({ ...out, run }) + '\n'
            : `exported ${run} to ${out.dir} (${out.files.join(', ')})\n`,
        );
      });
    });
}
