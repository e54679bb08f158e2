import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { CHECKPOINTS_DIR, EARLY_STOPPING_CHECKPOINT } from '../../run-format/names';
import { improves, metricGoal } from '../../run-format/metrics';
import { resolveAtomicDir } from '../../util/atomic-dir';
import { assignWeights, readWeights, saveModelDir } from '../snapshot';
import type { Callback, EpochRow, TF, TrainResult } from '../types';

export interface EarlyStoppingConfig {
  monitor: string;
  mode: 'auto' | 'min' | 'max';
  patience: number;
  minDelta: number;
  restoreBestWeights: boolean;
}

/**
 * Keras' EarlyStopping: stop when `monitor` has not improved by more than minDelta for
 * `patience` epochs. With restoreBestWeights the best epoch's weights are kept on disk
 * (checkpoints/early-stopping-best/, not in memory, so a resumed run still has them)
 * and put back when training ends, before the final model is saved.
 */
export class EarlyStoppingCallback implements Callback {
  readonly name = 'earlyStopping';
  private best: number | undefined;
  private bestEpoch: number | undefined;
  private wait = 0;
  private lastEpoch = 0;
  private readonly goal: 'min' | 'max';

  constructor(
    private readonly cfg: EarlyStoppingConfig,
    private readonly o: {
      tf: TF;
      runDir: string;
      model: tfjs.LayersModel;
      log?: (msg: string, fields?: object) => void;
    },
  ) {
    this.goal = cfg.mode === 'auto' ? metricGoal(cfg.monitor) : cfg.mode;
  }

  private get dir(): string {
    return path.join(this.o.runDir, CHECKPOINTS_DIR, EARLY_STOPPING_CHECKPOINT);
  }

  async onEpochEnd(row: EpochRow): Promise<'stop' | void> {
    this.lastEpoch = row.epoch;
    const value = row[this.cfg.monitor];
    if (improves(value, this.best, this.goal, this.cfg.minDelta)) {
      this.best = value;
      this.bestEpoch = row.epoch;
      this.wait = 0;
      if (this.cfg.restoreBestWeights) await saveModelDir(this.o.tf, this.o.model, this.dir);
      return;
    }
    this.wait++;
    if (this.wait >= this.cfg.patience) {
      this.o.log?.('early stopping', {
        monitor: this.cfg.monitor,
        best: this.best,
        bestEpoch: this.bestEpoch,
        epoch: row.epoch,
      });
      return 'stop';
    }
  }

  onTrainEnd(result: TrainResult): void {
    if (
      result.status !== 'completed' ||
      !this.cfg.restoreBestWeights ||
      this.bestEpoch === undefined ||
      this.bestEpoch === this.lastEpoch
    )
      return;
    const dir = resolveAtomicDir(this.dir);
    if (!dir) return;
    const weights = readWeights(this.o.tf, dir);
    try {
      assignWeights(this.o.model, weights);
    } finally {
      this.o.tf.dispose(Object.values(weights));
    }
    this.o.log?.('restored best weights', { monitor: this.cfg.monitor, epoch: this.bestEpoch, value: this.best });
  }

  state(): unknown {
    return { best: this.best, bestEpoch: this.bestEpoch, wait: this.wait, lastEpoch: this.lastEpoch };
  }

  restore(state: unknown): void {
    const s = (state ?? {}) as { best?: number; bestEpoch?: number; wait?: number; lastEpoch?: number };
    this.best = s.best;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait ?? 0;
    this.lastEpoch = s.lastEpoch ?? 0;
  }
}
