import { PipelineError } from '../../errors';
import { loadRunExperiment } from '../../run-format/experiment';
import { isNotFound } from '../../util/not-found';
import { bestValue } from '../../run-format/metrics';
import type { MetricsRow } from '../../run-format/types';
import { Run } from '../read';

/** What a trial's run gives its sweep: its final metrics, the sweep metric there, and that metric's best over epochs. */
export interface TrialValues {
  final: MetricsRow | null;
  value: number | null;
  bestValue: number | null;
}

/** A trial's values from its run folder (`reported`: the final row the run printed, when it did). */
export function trialValues(
  runDir: string | undefined | null,
  metric: string,
  goal: 'max' | 'min',
  reported?: MetricsRow,
): TrialValues {
  const rows = runDir ? Run.fromDir(runDir).refreshMetrics() : [];
  const final = reported ?? rows.at(-1) ?? null;
  const value = typeof final?.[metric] === 'number' ? final[metric] : null;
  return {
    final,
    value,
    bestValue:
      bestValue(
        rows.map((r) => r[metric]),
        goal,
      ) ?? value,
  };
}

/** The run's last stdout line with --json. */
export interface RunResult {
  runDir?: string;
  status?: string;
  metrics?: MetricsRow;
  best?: MetricsRow;
}

/** The result line among the last three lines of a trial's stdout, if it printed one. */
export function lastJsonLine(stdout: string): RunResult | undefined {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 3; i--) {
    let v: unknown;
    try {
      v = JSON.parse(lines[i]);
    } catch {
      continue; // Deliberate: progress and log lines are not the result line.
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as RunResult;
  }
  return undefined;
}

/** How a trial's process ended: the status its result line reported, else what its exit code says. */
export function trialStatus(
  status: string | undefined,
  code: number | null,
): 'completed' | 'failed' | 'diverged' | 'interrupted' {
  if (status === 'completed' || status === 'failed' || status === 'diverged' || status === 'interrupted') return status;
  if (code === 130) return 'interrupted';
  return code === 0 ? 'completed' : 'failed';
}

/** `[12:00:01] INFO: ...` (pino-pretty below ERROR) and `epoch 3/10  loss ...` (the plain progress line). */
const ROUTINE_OUTPUT = /^(\[[^\]]*\] (TRACE|DEBUG|INFO|WARN):|epoch \d+\/\d+\s)/;

/**
 * Why a trial failed: the error its run recorded, else the last line of its stderr that is not
 * routine progress (pino-pretty info lines, one line per epoch say what it was doing, not why it
 * stopped, so a killed trial is not blamed on them), with how the process ended.
 */
export function trialError(
  runDir: string | undefined | null,
  stderr: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): string {
  const recorded = runDir ? Run.fromDir(runDir).meta()?.error : undefined;
  if (recorded) return recorded;
  const last = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('{') && !ROUTINE_OUTPUT.test(l))
    .at(-1);
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  return last ? `${last} (${how})` : how;
}

/**
 * Whether `run --resume` would take this run: it stopped part-way (interrupted, crashed, or
 * failed once: a resume retries from the last checkpoint, not a run resumed before that failed
 * again), and its recorded experiment still resolves to the hash it ran with.
 */
export function resumable(run: Run): boolean {
  const meta = run.meta();
  const status = run.status();
  const partWay =
    status === 'interrupted' ||
    status === 'crashed' ||
    status === 'running' ||
    (status === 'failed' && !meta?.resumes?.length);
  return partWay && resolvesAsRecorded(run.dir, meta?.configHash);
}

/** Whether a run's recorded experiment still resolves to the hash it ran with (what `run --resume` checks). */
function resolvesAsRecorded(dir: string, configHash: string | undefined): boolean {
  try {
    return loadRunExperiment(dir).hash === configHash;
  } catch (err) {
    // A recorded experiment that no longer loads (or files gone) is one `run --resume` refuses.
    if (err instanceof PipelineError || isNotFound(err)) return false;
    throw err;
  }
}
