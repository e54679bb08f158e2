/**
 * The shapes of the files in a run folder, as written by `pipeline run`
 * (contract: docs/run-folder.md). Readers treat every field as possibly missing:
 * a run may have been killed before writing it, or written by another version.
 */

export type WrittenStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'diverged';
/** What readers show: `crashed` is a `running` run whose process is gone; `unknown` has no readable meta.json. */
export type RunStatus = WrittenStatus | 'crashed' | 'unknown';

export interface MainMetric {
  name: string;
  goal: 'max' | 'min';
}

export interface RunMeta {
  name: string;
  version: number;
  runDir?: string;
  status: WrittenStatus;
  pid?: number;
  startedAt?: string;
  endedAt?: string | null;
  durationSeconds?: number | null;
  command?: string[];
  versions?: Record<string, string>;
  backend?: string;
  backendReason?: string;
  workers?: number;
  seed?: number;
  configHash?: string;
  dataset?: { name?: string; source?: unknown; fingerprint?: string; counts?: Record<string, number> };
  git?: { commit: string; dirty: boolean } | null;
  host?: string;
  cpus?: number;
  tags?: Record<string, string | number>;
  error?: string;
  mainMetric?: MainMetric;
  /** Each `pipeline run --resume` of this run: when, from which position, and what it was before. */
  resumes?: Array<{ at: string; epoch: number; batch: number; previousStatus: string; previousPid?: number }>;
  /** model.init: the run's starting weights came from this run or checkpoint. */
  init?: { from: string; dir: string; layers: string[] };
  /** Each `pipeline run --resume RUN --set training.epochs=N`: the run trained further in place. */
  extensions?: Array<{ at: string; fromEpochs: number; toEpochs: number; epochsDone: number; previousStatus: string }>;
}

/** One line of metrics.jsonl: `epoch` plus numbers named loss, accuracy, valXxx, testXxx, learningRate, seconds... */
export type MetricsRow = { epoch: number } & Record<string, number>;

export interface RunSummary {
  final?: MetricsRow;
  best?: MetricsRow;
  /** The metric that selected `best` (training.selectBy); `best` holds that epoch's values of every metric. */
  bestBy?: string;
  bestGoal?: 'max' | 'min';
  epochs?: number;
}

export const DEFAULT_MAIN_METRIC: MainMetric = { name: 'testAccuracy', goal: 'max' };

/** Metrics where smaller is better, by name; everything else (accuracy, auc, ...) is larger-is-better. */
export function goalOf(metric: string): 'max' | 'min' {
  return /loss|error|mse|mae|seconds/i.test(metric) ? 'min' : 'max';
}

/** `pipeline eval RUN --save` writes its report (EvalReport in src/pipeline/evaluate.ts) here, in the run folder. */
export const EVALUATION_FILE = 'evaluation.json';
