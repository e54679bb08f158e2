import type { Logger } from '../logger';
import type { Callback, EpochRow, LoopPosition, TrainingSetup, TrainResult } from '../types';

/** Training events into the run's log (log.jsonl, and the terminal for info and up). */
export class LogCallback implements Callback {
  readonly name = 'log';

  constructor(private readonly log: Logger) {}

  onTrainBegin(setup: TrainingSetup, start: LoopPosition): void {
    const { epochs, batchSize } = setup.experiment.training;
    const where =
      start.epoch > 0 || start.batch > 0 ? `, resuming at epoch ${start.epoch + 1} after batch ${start.batch}` : '';
    this.log.info(
      { epochs, batchSize, batchesPerEpoch: setup.batchesPerEpoch, start: { epoch: start.epoch, batch: start.batch } },
      `training ${epochs} epoch${epochs === 1 ? '' : 's'} of ${setup.batchesPerEpoch} batches${where}`,
    );
  }

  onEpochEnd(row: EpochRow): void {
    this.log.debug({ row }, 'epoch');
  }

  onInterrupt(position: LoopPosition): void {
    this.log.warn(
      { position: { epoch: position.epoch, batch: position.batch } },
      `interrupted: checkpoint written at epoch ${position.epoch + 1}, batch ${position.batch}`,
    );
  }

  onTrainEnd(result: TrainResult): void {
    const fields = { status: result.status, epochs: result.rows.length };
    if (result.status === 'diverged') this.log.error(fields, result.reason ?? 'diverged');
    else if (result.reason && result.status === 'completed') this.log.info(fields, result.reason);
  }
}
