import { ConfigError, type Diagnostic } from '../../errors';
import { loadExperimentText, type LoadedExperiment } from '../../config/load';
import type { PlannedTrial } from './plan';

/**
 * Every trial's experiment is built and validated (schema, then shapes) before
 * any trial starts, so a sweep never dies at trial 7 of 8 on a typo. All
 * problems of all trials are reported at once; each names its trial and the
 * overrides that made it. A problem every trial shares is the file's, and is
 * reported once.
 */

export interface ValidTrial {
  index: number;
  /** Where this trial's run folders go (a trial may override `name`). */
  name: string;
}

export function trialLabel(t: PlannedTrial): string {
  return `trial ${t.index} (${t.overrides.join(' ')})`;
}

export function validateTrials(file: string, text: string, baseOverrides: string[], trials: PlannedTrial[]): ValidTrial[] {
  const valid: ValidTrial[] = [];
  const failures: Array<{ trial: PlannedTrial; problems: Diagnostic[] }> = [];
  for (const t of trials) {
    let loaded: LoadedExperiment;
    try {
      loaded = loadExperimentText(file, text, { overrides: [...baseOverrides, ...t.overrides] });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      failures.push({ trial: t, problems: err.diagnostics });
      continue;
    }
    valid.push({ index: t.index, name: loaded.experiment.name });
  }
  if (failures.length === 0) return valid;

  const key = (d: Diagnostic) => `${d.file}\u0000${d.line}\u0000${d.column}\u0000${d.path}\u0000${d.message}`;
  const shared = new Set<string>();
  if (failures.length === trials.length) {
    const [first, ...rest] = failures;
    for (const d of first.problems) if (rest.every((f) => f.problems.some((x) => key(x) === key(d)))) shared.add(key(d));
  }
  const out: Diagnostic[] = [];
  const sharedOnce = new Set<string>();
  for (const f of failures) {
    for (const d of f.problems) {
      if (shared.has(key(d))) {
        if (!sharedOnce.has(key(d))) (sharedOnce.add(key(d)), out.push({ ...d, message: `${d.message} (in every trial)` }));
        continue;
      }
      // A problem caused by a --set is located at the trial; one in the file keeps its line, prefixed by the trial.
      const label = trialLabel(f.trial);
      out.push(d.file.startsWith('--set ') ? { ...d, file: label } : { ...d, file: `${label}: ${d.file}` });
    }
  }
  throw new ConfigError(out);
}
