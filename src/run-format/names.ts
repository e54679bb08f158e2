/**
 * The names of every file and folder in a run folder (docs/run-folder.md), defined here
 * only: the writer (`pipeline run`) and every reader take them from this file.
 */

/** The experiment file exactly as given. */
export const CONFIG_YAML = 'config.yaml';
/** The --set overrides, a JSON list of strings. */
export const OVERRIDES_JSON = 'overrides.json';
/** The experiment after overrides and defaults. */
export const RESOLVED_JSON = 'resolved.json';
/** Status, provenance and format version of the run. */
export const META_JSON = 'meta.json';
/** One line per epoch. */
export const METRICS_JSONL = 'metrics.jsonl';
/** The final and best epochs and how the best was chosen. */
export const SUMMARY_JSON = 'summary.json';
/** The run's log, one pino JSON object per line. */
export const LOG_JSONL = 'log.jsonl';
/** The learning curves drawn when the run completes. */
export const CURVES_SVG = 'curves.svg';
/** `pipeline eval RUN --save` writes its report (EvalReport in src/pipeline/evaluate.ts) here. */
export const EVALUATION_JSON = 'evaluation.json';
/** Where `pipeline collect` recorded a copied run's origin (host, folder, version there). */
export const ORIGIN_JSON = 'origin.json';

/** The final model (a TensorFlow.js layers model). */
export const MODEL_DIR = 'model';
/** Files of a model folder (model/ and every checkpoint). */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Where a run's checkpoints live, and what their folders are called. */
export const CHECKPOINTS_DIR = 'checkpoints';
export const LAST_CHECKPOINT = 'last';
export const BEST_CHECKPOINT = 'best';
/** Early stopping's best weights so far (restoreBestWeights), kept across a resume; no run reference names it. */
export const EARLY_STOPPING_CHECKPOINT = 'early-stopping-best';
export const epochCheckpointName = (epoch: number) => `epoch-${String(epoch).padStart(4, '0')}`;
/** A checkpoint folder's files besides the model's. */
export const OPTIMIZER_JSON = 'optimizer.json';
export const OPTIMIZER_BIN = 'optimizer.bin';
export const STATE_JSON = 'state.json';
