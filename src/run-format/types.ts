/**
 * The shapes of a run folder's files (docs/run-folder.md), declared once: `pipeline run`
 * writes them, every reader reads them. Readers treat fields as possibly missing: a run
 * may have been killed before writing one, or written by an older pipeline.
 */

/**
 * The run folder's format version, recorded in meta.json as `formatVersion`. A reader
 * refuses a folder with a higher one (run-format/read.ts); folders written before the
 * field existed are version 1. Raise it when a change would make older readers misread.
 */
export const FORMAT_VERSION = 1;

/** What meta.json's `status` says. */
export type WrittenStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'diverged';
/** What readers show: `crashed` is a `running` run whose process is gone; `unknown` has no readable meta.json. */
export type RunStatus = WrittenStatus | 'crashed' | 'unknown';

/** The metric that selects the best epoch, and which way is better. */
export interface MainMetric {
  name: string;
  goal: 'max' | 'min';
}

/** meta.json as `pipeline run` writes it. */
export interface RunMeta {
  /** The run folder's format (FORMAT_VERSION when written); absent in folders from before it was recorded: 1. */
  formatVersion?: number;
  name: string;
  version: number;
  runDir: string;
  status: WrittenStatus;
  pid: number;
  /** When the process now owning the run started (a resume sets it anew; liveness checks rely on it). */
  startedAt: string;
  endedAt: string | null;
  /** Seconds the run has been working, summed over its resumes. */
  durationSeconds: number | null;
  command: string[];
  versions: { pipeline: string; tfjs: string; node: string };
  backend: string;
  backendReason: string;
  workers: number;
  seed: number;
  configHash: string;
  /** `classes`: the class names in output order (runs before they were recorded lack them). */
  dataset?: { name: string; source: unknown; fingerprint: string; counts: Record<string, number>; classes?: string[] };
  git: { commit: string; dirty: boolean } | null;
  host: string;
  cpus: number;
  tags?: Record<string, string | number>;
  error?: string;
  mainMetric: MainMetric;
  /** Why training ended before `training.epochs` (early stopping), when it did. */
  stopReason?: string;
  /** One entry per `run --resume`: where it continued from. */
  resumes?: Array<{ at: string; epoch: number; batch: number; previousStatus: string; previousPid: number }>;
  /** model.init: the weights this run started from. */
  init?: { from: string; dir: string; layers: string[] };
  /** One entry per `run --resume --set training.epochs=N`: the run trained further, in place. */
  extensions?: RunExtension[];
}

export interface RunExtension {
  at: string;
  fromEpochs: number;
  toEpochs: number;
  /** Epochs trained when it was extended. */
  epochsDone: number;
  previousStatus: string;
}

/**
 * meta.json as listings read it: what the schema requires (run-format/check.ts), every other
 * field possibly missing (older runs lack newer fields).
 */
export type StoredMeta = Pick<RunMeta, 'name' | 'version' | 'status'> & Partial<RunMeta>;

/** One line of metrics.jsonl: `epoch` plus numbers named loss, accuracy, valXxx, testXxx, learningRate, seconds... */
export type MetricsRow = { epoch: number } & Record<string, number>;

/** summary.json as `pipeline run` writes it after every epoch. */
export interface Summary {
  final: MetricsRow;
  /** The epoch selected by `bestBy` (training.selectBy): every metric in it is that epoch's, not each metric's own best. */
  best: MetricsRow;
  /** The one place that says which metric selected the best epoch, and which way is better. */
  bestBy: string;
  bestGoal: 'max' | 'min';
  epochs: number;
}

/** summary.json as readers take it (older runs lack bestGoal). */
export type RunSummary = Partial<Summary>;
