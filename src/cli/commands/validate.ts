import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { ConfigError, EXIT, type Diagnostic } from '../../errors';
import { checkAgainstData, loadExperimentFile, type LoadedExperiment } from '../../config/load';
import type { ShapeReport } from '../../config/semantic';
import { probeDataset } from '../../data/probe';
import { formatDiagnostics } from '../../config/diagnostics';
import { buildSpec } from '../../runs/sweep/spec';
import { planTrials } from '../../runs/sweep/plan';
import { validateTrials } from '../../runs/sweep/validate';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'check experiment files against the schema and shape rules (no backend; --data also checks the model against the data)',
    )
    .argument('<files...>', 'experiment YAML files')
    .option('--set <key=value>', 'override a value (repeatable), e.g. training.epochs=5', collect, [])
    .option(
      '--data',
      "also check the model against the data: an image folder's classes and image size (reads folder listings and one image)",
    )
    .option('--data-dir <dir>', 'where datasets live, with --data (default: $PIPELINE_DATA_DIR, else the cache)')
    .option('--json', 'print machine-readable results')
    .action(async (files: string[], opts: { set: string[]; json?: boolean; data?: boolean; dataDir?: string }) => {
      process.exitCode = await withBoundary(async () => {
        const results: Array<{ file: string; valid: boolean; errors: Diagnostic[] }> = [];
        for (const file of files) {
          try {
            const loaded = loadExperimentFile(file, { overrides: opts.set });
            // A `sweep:` section is checked as `pipeline sweep` would: every trial's experiment, built and validated.
            const sweep = loaded.experiment.sweep
              ? planTrials(buildSpec(loaded.experiment, {}), loaded.experiment.seed).trials
              : [];
            if (sweep.length > 0) validateTrials(file, loaded.text, opts.set, sweep);
            const checked = opts.data ? checkData(loaded, opts.dataDir) : undefined;
            const shapes = checked?.shapes ?? loaded.shapes;
            results.push({ file, valid: true, errors: [] });
            if (!opts.json) {
              const e = loaded.experiment;
              // An image folder without dataset.imageSize has no input shape until its images are read.
              const params = shapes.inputShape
                ? `${shapes.totalParams.toLocaleString('en-US')} parameters`
                : 'parameters unknown until the data is read (set dataset.imageSize)';
              const trials =
                sweep.length > 0 ? `; sweep of ${sweep.length} trial${sweep.length === 1 ? '' : 's'}, each valid` : '';
              const data = checked ? `; ${checked.note}` : '';
              process.stdout.write(
                `${file}: ok (${e.name}: ${e.model.layers.length} layers, ${params}${trials}${data})\n`,
              );
            }
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            results.push({ file, valid: false, errors: err.diagnostics });
            if (!opts.json) process.stderr.write(formatDiagnostics(err.diagnostics) + '\n');
          }
        }
        if (opts.json) {
          const strip = (d: Diagnostic) => ({
            file: d.file,
            line: d.line,
            column: d.column,
            path: d.path,
            message: d.message,
          });
          process.stdout.write(JSON.stringify(results.map((r) => ({ ...r, errors: r.errors.map(strip) }))) + '\n');
        }
        return results.every((r) => r.valid) ? EXIT.ok : EXIT.usage;
      });
    });
}

/**
 * `--data`: the checks `run` makes before it creates a run folder; warnings go to stderr. The
 * note says what was checked, so an `ok` with --data reads differently from one without.
 */
function checkData(loaded: LoadedExperiment, dataDir: string | undefined): { shapes?: ShapeReport; note: string } {
  const probe = probeDataset(loaded.experiment.dataset, { dataDir });
  if (!probe) return { note: `${loaded.experiment.dataset.name} has a fixed shape and classes: nothing more to check` };
  for (const w of probe.warnings) process.stderr.write(`warning: ${w}\n`);
  const shapes = checkAgainstData(loaded, probe);
  const [h, w, c] = probe.shape;
  return { shapes, note: `the data matches: ${probe.classes.length} classes, ${h}x${w}x${c} images` };
}
