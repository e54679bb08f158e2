import type * as tfjs from '@tensorflow/tfjs';
import type { ResolvedExperiment } from '../config/load';

import type { Batch, TF } from '../engine/types';
import type { MetricsRow } from '../run-format/types';

export type { Batch, TF };

export type EvalSplit = 'validation' | 'test';

/**
 * Where batches come from. Train batches are a pure function of the epoch (shuffle and
 * augmentation seeded from experiment seed + epoch), so a resumed run sees exactly the
 * batches an uninterrupted one would.
 */
export interface BatchSource {
  /** Examples per split (validation absent when there is no validation split). */
  counts: { train: number; validation?: number; test: number };
  train(epoch: number): Iterable<Batch> | AsyncIterable<Batch>;
  evaluate(split: EvalSplit): Iterable<Batch> | AsyncIterable<Batch>;
}

/** One line of metrics.jsonl, as the loop makes it (run-format/types.ts). */
export type EpochRow = MetricsRow;

/**
 * Where the loop is, exactly enough to continue: `epoch` epochs are complete and `batch`
 * batches of the next one are done, with the running sums of that partial epoch. All
 * randomness (shuffle, augmentation, dropout) is derived from (seed, epoch, batch), so
 * there is no mutable RNG state to save beyond these counters.
 */
export interface LoopPosition {
  epoch: number;
  batch: number;
  /** Sample-weighted sums over the partial epoch's batches: loss, then each metric. */
  sums: number[];
  seen: number;
  /** Wall seconds spent training in the partial epoch so far (for samplesPerSecond across a resume). */
  trainSeconds: number;
}

/** What callbacks get at each batch. */
export interface BatchInfo {
  epoch: number; // 1-based
  batch: number; // 1-based, batches done in this epoch
  batches: number;
  size: number;
  /** Running means over the epoch so far. */
  loss: number;
  metrics: Record<string, number>;
  samplesPerSecond: number;
}

export interface TrainingSetup {
  tf: TF;
  experiment: ResolvedExperiment;
  model: tfjs.LayersModel;
  optimizer: tfjs.Optimizer;
  numClasses: number;
  inputShape: [number, number, number];
  /** Batches per training epoch. */
  batchesPerEpoch: number;
  mainMetric: { name: string; goal: 'max' | 'min' };
}

/**
 * A training-loop callback: each one does one thing (metrics file, checkpoints,
 * early stopping, progress, log). `state`/`restore` carry what it needs across a resume.
 */
export interface Callback {
  readonly name: string;
  onTrainBegin?(setup: TrainingSetup, start: LoopPosition): void | Promise<void>;
  onEpochBegin?(epoch: number, learningRate: number): void | Promise<void>;
  onBatchEnd?(info: BatchInfo): void | Promise<void>;
  /** Return 'stop' to end training after this epoch (early stopping). */
  onEpochEnd?(row: EpochRow, position: LoopPosition): void | 'stop' | Promise<void | 'stop'>;
  /** Training stopped on a signal after a whole batch; `position` is where to resume. */
  onInterrupt?(position: LoopPosition): void | Promise<void>;
  /** Training is over (completed, stopped early, diverged or interrupted). */
  onTrainEnd?(result: TrainResult): void | Promise<void>;
  state?(): unknown;
  restore?(state: unknown): void | Promise<void>;
}

export interface TrainResult {
  status: 'completed' | 'interrupted' | 'diverged';
  /** Why training ended early, when it did ('early stopping: ...', 'loss became NaN at ...'). */
  reason?: string;
  rows: EpochRow[];
  position: LoopPosition;
}
