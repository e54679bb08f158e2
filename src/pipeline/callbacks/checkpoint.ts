import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { improves } from '../../run-format/metrics';
import { BEST_CHECKPOINT, CHECKPOINTS_DIR, epochCheckpointName, LAST_CHECKPOINT } from '../../run-format/names';
import { writeDirAtomic } from '../../util/atomic-dir';
import { checkpointFiles, type CheckpointState } from '../checkpoint-files';
import type { Callback, EpochRow, LoopPosition, TF } from '../types';

export interface CheckpointOptions {
  tf: TF;
  runDir: string;
  model: tfjs.LayersModel;
  optimizer: tfjs.Optimizer;
  seed: number;
  /** Also keep checkpoints/epoch-NNNN/ every N epochs (0: never). */
  every: number;
  /** best/ follows this metric. */
  by: { name: string; goal: 'max' | 'min' };
  /** Every callback's state(), collected when a checkpoint is written. */
  states: () => Record<string, unknown>;
  log?: (msg: string, fields?: object) => void;
}

/**
 * checkpoints/last/ after every epoch and on interrupt (mid-epoch), best/ when the main
 * metric improves, epoch-NNNN/ every `every` epochs. Each is a whole folder swapped in
 * atomically (atomic-dir.ts).
 */
export class CheckpointCallback implements Callback {
  readonly name = 'checkpoint';
  private best: number | undefined;
  private bestEpoch: number | undefined;
  private learningRate = NaN;

  constructor(private readonly o: CheckpointOptions) {}

  onEpochBegin(_epoch: number, learningRate: number): void {
    this.learningRate = learningRate;
  }

  async onEpochEnd(row: EpochRow, position: LoopPosition): Promise<void> {
    const targets = [LAST_CHECKPOINT];
    if (improves(row[this.o.by.name], this.best, this.o.by.goal)) {
      this.best = row[this.o.by.name];
      this.bestEpoch = row.epoch;
      targets.push(BEST_CHECKPOINT);
    }
    if (this.o.every > 0 && row.epoch % this.o.every === 0) targets.push(epochCheckpointName(row.epoch));
    await this.write(position, targets);
  }

  async onInterrupt(position: LoopPosition): Promise<void> {
    await this.write(position, [LAST_CHECKPOINT]);
  }

  state(): unknown {
    return { best: this.best, bestEpoch: this.bestEpoch };
  }

  restore(state: unknown): void {
    const s = (state ?? {}) as { best?: number; bestEpoch?: number };
    this.best = s.best;
    this.bestEpoch = s.bestEpoch;
  }

  private async write(position: LoopPosition, targets: string[]): Promise<void> {
    const state: CheckpointState = {
      format: 1,
      position,
      rng: { seed: this.o.seed, derivedFrom: 'seed, epoch, batch' },
      learningRate: this.learningRate,
      callbacks: this.o.states(),
      savedAt: new Date().toISOString(),
    };
    const files = await checkpointFiles(this.o.tf, this.o.model, this.o.optimizer, state);
    for (const t of targets) writeDirAtomic(path.join(this.o.runDir, CHECKPOINTS_DIR, t), files);
    this.o.log?.('checkpoint', { targets, epoch: position.epoch, batch: position.batch });
  }
}
