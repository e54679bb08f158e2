import { ConfigError } from '../../../errors';
import { yamlValue, type PlannedTrial } from '../plan';
import type { SweepSpec } from '../spec';
import { validateTrials } from '../validate';
import { proposeTpe, TPE_STARTUP, type Observation } from './tpe';

/**
 * TPE in a running sweep: a trial's parameters are chosen when it starts, from
 * the trials finished by then (in the order they finished). Until `TPE_STARTUP`
 * trials have finished, a trial keeps its planned random draw (the plan of
 * `--method random` with the same seed), so TPE and random search share their
 * first trials. A proposal that does not validate (a shape the ranges allow but
 * the model does not) falls back to the planned draw, which validated up front.
 */

export interface FinishedTrial {
  params: Record<string, unknown>;
  status: string;
  value: number | null;
  /** Completion order: ISO time or a counter, compared as given. */
  endedAt: string | number | null;
}

export function observationsOf(trials: FinishedTrial[]): Observation[] {
  return trials
    .filter((t) => t.status === 'completed' || t.status === 'pruned' || t.status === 'diverged')
    .sort((a, b) => ((a.endedAt ?? '') < (b.endedAt ?? '') ? -1 : (a.endedAt ?? '') > (b.endedAt ?? '') ? 1 : 0))
    .map((t) => ({ params: t.params, value: t.status === 'completed' && t.value !== null ? t.value : undefined }));
}

export interface Proposal {
  params: Record<string, unknown>;
  overrides: string[];
  /** Set when the trial keeps its planned draw although TPE proposed: why. */
  fallback?: string;
  byTpe: boolean;
}

export function proposeTrial(
  spec: SweepSpec,
  seed: number,
  planned: PlannedTrial,
  finished: FinishedTrial[],
  validation: { file: string; text: string; baseOverrides: string[] },
): Proposal {
  const obs = observationsOf(finished);
  if (spec.method !== 'tpe' || obs.length < TPE_STARTUP)
    return { params: planned.params, overrides: planned.overrides, byTpe: false };
  const params = proposeTpe(spec.parameters, obs, planned.index, { goal: spec.goal, seed });
  const overrides = Object.keys(spec.parameters).map((k) => `${k}=${yamlValue(params[k])}`);
  try {
    validateTrials(validation.file, validation.text, validation.baseOverrides, [
      { index: planned.index, params, overrides },
    ]);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      params: planned.params,
      overrides: planned.overrides,
      byTpe: false,
      fallback: `TPE proposed ${overrides.join(' ')}, which does not validate: ${err.message.split('\n')[0]}`,
    };
  }
  return { params, overrides, byTpe: true };
}
