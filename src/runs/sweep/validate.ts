import { ConfigError, type Diagnostic } from '../../errors';
import { loadExperimentText, type LoadedExperiment } from '../../config/load';
import { parseExperimentText } from '../../config/parse';
import { parsePath } from '../../config/paths';
import type { PlannedTrial } from './plan';

/**
 * Every trial's experiment is built and validated (schema, then shapes) before
 * any trial starts, so a sweep never dies at trial 7 of 8 on a typo. All
 * problems of all trials are reported at once; each names its trial and the
 * overrides that made it. A problem every trial shares is the file's, and is
 * reported once. A problem a value of the file's `sweep.parameters` causes is
 * located at that parameter in the file (one of --param: at that value) and
 * reported once, naming the trials it breaks (every trial, or e.g. trials 2,
 * 4), not once per trial.
 */

export interface ValidTrial {
  index: number;
  /** Where this trial's run folders go (a trial may override `name`). */
  name: string;
}

export function trialLabel(t: PlannedTrial): string {
  return `trial ${t.index} (${t.overrides.join(' ')})`;
}

export function validateTrials(
  file: string,
  text: string,
  baseOverrides: string[],
  trials: PlannedTrial[],
): ValidTrial[] {
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

  // Problems a sweep parameter of the file causes: at the parameter's line, grouped over trials.
  const located = locateSweepParameters(file, text);
  const byPlace = new Map<string, { d: Diagnostic; trials: number[] }>();
  for (const f of failures) {
    f.problems = f.problems.filter((d) => {
      const override = d.file.startsWith('--set ') ? d.file.slice(6) : undefined;
      if (override === undefined || !f.trial.overrides.includes(override)) return true;
      // In the file's sweep section, or else from --param on the command line.
      const at = located(override);
      const placed = at
        ? { ...d, file, line: at.line, column: at.column, excerpt: at.excerpt }
        : { ...d, file: `--param ${override}` };
      const group = byPlace.get(key(placed)) ?? { d: placed, trials: [] };
      group.trials.push(f.trial.index);
      byPlace.set(key(placed), group);
      return false;
    });
  }
  const grouped = [...byPlace.values()].map(({ d, trials: which }) => ({
    ...d,
    message: `${d.message} (${which.length === trials.length ? 'in every trial' : `trial${which.length === 1 ? '' : 's'} ${which.join(', ')}`})`,
  }));

  const shared = new Set<string>();
  if (failures.length === trials.length) {
    const [first, ...rest] = failures;
    for (const d of first.problems)
      if (rest.every((f) => f.problems.some((x) => key(x) === key(d)))) shared.add(key(d));
  }
  const out: Diagnostic[] = [...grouped];
  const sharedOnce = new Set<string>();
  for (const f of failures) {
    for (const d of f.problems) {
      if (shared.has(key(d))) {
        if (!sharedOnce.has(key(d)))
          sharedOnce.add(key(d)), out.push({ ...d, message: `${d.message} (in every trial)` });
        continue;
      }
      // A problem caused by a --set is located at the trial; one in the file keeps its line, prefixed by the trial.
      const label = trialLabel(f.trial);
      out.push(d.file.startsWith('--set ') ? { ...d, file: label } : { ...d, file: `${label}: ${d.file}` });
    }
  }
  throw new ConfigError(out);
}

/**
 * Where the file sets a sweep parameter, for a trial override `key=value`: the parameter's
 * key in `sweep.parameters` (undefined for a parameter given only by --param).
 */
function locateSweepParameters(
  file: string,
  text: string,
): (override: string) => { line: number; column: number; excerpt?: string } | undefined {
  let parsed: ReturnType<typeof parseExperimentText>;
  try {
    parsed = parseExperimentText(file, text);
  } catch (err) {
    // A file that does not parse has no lines to point at; its own error is reported by validation.
    if (!(err instanceof ConfigError)) throw err;
    return () => undefined;
  }
  const parameters = ((parsed.data as { sweep?: { parameters?: Record<string, unknown> } })?.sweep?.parameters ??
    {}) as Record<string, unknown>;
  const byPath = new Map(Object.keys(parameters).map((k) => [canonical(k), k]));
  return (override) => {
    const eq = override.indexOf('=');
    const name = eq > 0 ? byPath.get(canonical(override.slice(0, eq))) : undefined;
    if (name === undefined) return undefined;
    const at = parsed.map.locate(['sweep', 'parameters', name], { key: true });
    return { ...at, excerpt: parsed.map.excerpt(at) };
  };
}

/** A dotted key in one spelling (`a.b[0]` and `a.b.0` alike), to match overrides with the file's keys. */
function canonical(key: string): string {
  return JSON.stringify(parsePath(key) ?? key);
}
