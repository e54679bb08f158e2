import type { EarlyStopSpec } from '../spec';

/**
 * A queued trial as it travels on the queue: everything a worker on another
 * machine needs to run it, and nothing secret. The worker checks a job's
 * payload against this shape before anything else and refuses what it does
 * not understand (another program's job, another format version).
 */

export const TRIAL_KIND = 'pipeline-sweep-trial';
export const TRIAL_FORMAT = 1;

export interface TrialJob {
  kind: typeof TRIAL_KIND;
  format: typeof TRIAL_FORMAT;
  /** `cifar-lenet/sweeps/3`. */
  sweep: string;
  name: string;
  trial: number;
  /** Trials in the sweep (for the early-stopping rules' curves). */
  total: number;
  params: Record<string, unknown>;
  overrides: string[];
  baseOverrides: string[];
  /** The experiment file as the sweep read it; the worker validates and runs this text. */
  experiment: { fileName: string; text: string; sha256: string };
  /** `pipeline run` flags for every trial (--backend; never --data-dir or --runs-dir: those are the worker's). */
  runArgs: string[];
  workersAuto: boolean;
  metric: string;
  goal: 'max' | 'min';
  earlyStopping: EarlyStopSpec | null;
  /** Milliseconds since the epoch when the sweep put the job on the queue. */
  enqueuedAt: number;
}

const RUN_FLAGS = new Set(['--backend']);

/** Why `data` is not a TrialJob this worker can run, or undefined when it is one. */
export function checkTrialJob(data: unknown): string | undefined {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return 'the payload is not an object';
  const d = data as Record<string, unknown>;
  if (d.kind !== TRIAL_KIND)
    return `the payload is not a pipeline sweep trial (kind ${JSON.stringify(d.kind ?? null)}, expected "${TRIAL_KIND}")`;
  if (d.format !== TRIAL_FORMAT)
    return `the trial payload has format ${JSON.stringify(d.format ?? null)}; this worker reads format ${TRIAL_FORMAT} (upgrade the worker or the sweep)`;
  const bad = (field: string, what: string) => `the trial payload's ${field} is not ${what}`;
  if (typeof d.sweep !== 'string' || !/^[^/]+\/sweeps\/[1-9][0-9]*$/.test(d.sweep))
    return bad('sweep', 'NAME/sweeps/N');
  if (typeof d.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(d.name))
    return bad('name', 'an experiment name');
  if (!Number.isInteger(d.trial) || (d.trial as number) < 1) return bad('trial', 'a trial number');
  if (!Number.isInteger(d.total) || (d.total as number) < (d.trial as number))
    return bad('total', 'the number of trials');
  if (!d.params || typeof d.params !== 'object' || Array.isArray(d.params)) return bad('params', 'an object');
  if (!isStrings(d.overrides) || !isStrings(d.baseOverrides)) return bad('overrides', 'a list of key=value strings');
  const e = d.experiment as Record<string, unknown> | undefined;
  if (!e || typeof e.text !== 'string' || typeof e.fileName !== 'string' || typeof e.sha256 !== 'string')
    return bad('experiment', 'a file name and text');
  if (!/^[^/\\]+\.ya?ml$/i.test(e.fileName)) return bad('experiment file name', 'a plain .yaml name');
  if (!isStrings(d.runArgs)) return bad('runArgs', 'a list of strings');
  const args = d.runArgs as string[];
  for (let i = 0; i < args.length; i += 2)
    if (!RUN_FLAGS.has(args[i]) || args[i + 1] === undefined)
      return `the trial payload passes "${args[i]}" to pipeline run; a worker only passes ${[...RUN_FLAGS].join(', ')}`;
  if (typeof d.metric !== 'string' || (d.goal !== 'max' && d.goal !== 'min'))
    return bad('metric and goal', 'a metric name and max or min');
  if (typeof d.enqueuedAt !== 'number') return bad('enqueuedAt', 'a time');
  return undefined;
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
