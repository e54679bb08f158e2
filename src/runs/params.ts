import * as path from 'node:path';
import { applyDefaults } from '../config/defaults';
import { inferShapes } from '../config/semantic';
import { ExperimentSchema, type Experiment } from '../schema/experiment';
import { MODEL_DIR, MODEL_JSON } from '../run-format/names';
import { readJsonIfExists, type Run } from './read';

/**
 * A run's parameter count: from its resolved config by the same shape rules
 * `validate` and `inspect` use (no backend, no data), else, when the input shape
 * is only known from the data (an image folder without imageSize), from the
 * weights its saved model lists.
 */
export function parameterCount(run: Run): number | undefined {
  const resolved = run.resolved();
  if (resolved) {
    try {
      const layers = (resolved as { model?: { layers?: unknown[] } }).model?.layers;
      // Defaults the config was resolved with are in resolved.json; ones a later version added are filled in.
      const config = structuredClone(resolved);
      applyDefaults(ExperimentSchema as unknown as Parameters<typeof applyDefaults>[0], config);
      const report = inferShapes(config as unknown as Experiment, undefined, []);
      if (Array.isArray(layers) && report.layers.length === layers.length) return report.totalParams;
    } catch {
      // Deliberate: a config another version wrote, or shapes that do not infer; the saved model still says.
    }
  }
  const model = readJsonIfExists<{ weightsManifest?: Array<{ weights?: Array<{ shape?: number[] }> }> }>(
    path.join(run.dir, MODEL_DIR, MODEL_JSON),
  );
  const weights = model?.weightsManifest?.flatMap((g) => g.weights ?? []);
  if (!weights?.length) return undefined;
  return weights.reduce((sum, w) => sum + (w.shape ?? []).reduce((p, n) => p * n, 1), 0);
}
