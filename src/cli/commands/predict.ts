import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import type { BackendRequest } from '../../backend';
import { DataError, UsageError } from '../../errors';
import { expandInputs } from '../../predict/inputs';
import { openModelSource } from '../../predict/model-source';
import { predictInputs, type PredictFormat } from '../../predict/predict-files';
import { createPredictor } from '../../predict/predictor';
import { resolveRunsRoot } from '../../runs/read';

interface PredictFlags {
  topK: string;
  json?: boolean;
  csv?: boolean;
  failFast?: boolean;
  batchSize?: string;
  runsDir?: string;
  backend?: string;
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${value}: expected a whole number >= 1`);
  return n;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description(
      "classify images with a trained model: top-k classes and probabilities, with the run's own preprocessing",
    )
    .argument(
      '<model>',
      'a run (NAME/VERSION, NAME/latest, NAME/best, a run folder) or a model bundle folder (pipeline export)',
    )
    .argument('<inputs...>', 'JPEG or PNG files, folders of them (recursively), or - for paths on stdin, one a line')
    .option('--top-k <k>', 'classes per input', '3')
    .option(
      '--json',
      'one JSON object per input and line: {input, predictions: [{class, probability}], resized} or {input, error}',
    )
    .option('--csv', 'CSV: input, class_1, probability_1, ..., resized, error')
    .option(
      '--fail-fast',
      'stop at the first input that cannot be read or decoded (default: report it and go on, exit 1 at the end)',
    )
    .option('--batch-size <n>', 'images per forward pass (default 256)')
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu (default: auto)')
    .action(async (ref: string, inputs: string[], opts: PredictFlags) => {
      process.exitCode = await withBoundary(async () => {
        if (opts.json && opts.csv) throw new UsageError('choose one of --json, --csv');
        const topK = positiveInt(opts.topK, '--top-k');
        const batchSize = opts.batchSize === undefined ? undefined : positiveInt(opts.batchSize, '--batch-size');
        const format: PredictFormat = opts.json ? 'json' : opts.csv ? 'csv' : 'text';
        const source = openModelSource(ref, resolveRunsRoot(opts.runsDir));
        const predictor = await createPredictor(source, {
          backend: opts.backend as BackendRequest | undefined,
          batchSize,
        });
        const warn = (text: string) => process.stderr.write(text);
        const m = source.manifest;
        warn(
          `${source.label}: ${m.classes.length} classes, input ${m.inputShape.join('x')}, normalize ${m.preprocessing.normalize.type}, backend ${predictor.backend}\n`,
        );
        try {
          const stream = expandInputs(inputs, process.stdin, {
            onIgnored: (dir, n) =>
              warn(
                `${dir}: ignored ${n} file${n === 1 ? '' : 's'} that ${n === 1 ? 'is' : 'are'} not .jpg, .jpeg or .png\n`,
              ),
          });
          const summary = await predictInputs(predictor, stream, {
            format,
            topK,
            failFast: opts.failFast,
            write: (t) => process.stdout.write(t),
            warn,
          });
          if (summary.total === 0) throw new UsageError('no images among the inputs');
          if (summary.failed)
            throw new DataError(
              `${summary.failed} of ${summary.total} inputs could not be read as images (named above)`,
            );
        } finally {
          predictor.dispose();
        }
      });
    });
}
