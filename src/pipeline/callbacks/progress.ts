import { duration, fixed, thousands } from '../format';
import type { Terminal } from '../terminal';
import type { BatchInfo, Callback, EpochRow, LoopPosition, TrainingSetup } from '../types';

const BAR = 20;
const REDRAW_MS = 100;

/** Everything of a row except epoch and the timings, in row order: loss, accuracy, valLoss, ..., learningRate. */
function rowFields(row: EpochRow): string {
  return Object.entries(row)
    .filter(([k]) => !['epoch', 'seconds', 'samplesPerSecond'].includes(k))
    .map(([k, v]) => `${k} ${k === 'learningRate' ? String(Number(v.toPrecision(4))) : fixed(v)}`)
    .join('  ');
}

export function formatEpochLine(row: EpochRow, epochs: number): string {
  return `epoch ${row.epoch}/${epochs}  ${rowFields(row)}  ${row.seconds.toFixed(1)}s  ${thousands(row.samplesPerSecond)} samples/s`;
}

/**
 * On a terminal: a progress bar redrawn at most every 100 ms (epoch, batch, running loss
 * and accuracy, samples/s, ETA for the epoch and the run). Everywhere: one plain line
 * per finished epoch.
 */
export class ProgressCallback implements Callback {
  readonly name = 'progress';
  private epochs = 0;
  private lastDraw = 0;
  private epochStart = 0;
  private firstBatch = 0;
  private lastEpochSeconds: number | undefined;

  constructor(private readonly terminal: Terminal) {}

  onTrainBegin(setup: TrainingSetup, start: LoopPosition): void {
    this.epochs = setup.experiment.training.epochs;
    this.firstBatch = start.batch;
  }

  onEpochBegin(): void {
    this.epochStart = performance.now();
  }

  onBatchEnd(info: BatchInfo): void {
    if (!this.terminal.isTTY) return;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && info.batch < info.batches) return;
    this.lastDraw = now;
    const elapsed = (now - this.epochStart) / 1000;
    const done = info.batch - this.firstBatch;
    const perBatch = done > 0 ? elapsed / done : NaN;
    const epochLeft = (info.batches - info.batch) * perBatch;
    const epochSeconds = this.lastEpochSeconds ?? info.batches * perBatch;
    const runLeft = epochLeft + (this.epochs - info.epoch) * epochSeconds;
    const filled = Math.round((info.batch / info.batches) * BAR);
    const acc = info.metrics.accuracy !== undefined ? ` accuracy ${fixed(info.metrics.accuracy)}` : '';
    this.terminal.status(
      `epoch ${info.epoch}/${this.epochs} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${info.batch}/${info.batches}` +
        ` loss ${fixed(info.loss)}${acc} ${thousands(info.samplesPerSecond)} samples/s ETA ${duration(epochLeft)} (run ${duration(runLeft)})`,
    );
  }

  onEpochEnd(row: EpochRow): void {
    this.firstBatch = 0;
    this.lastEpochSeconds = row.seconds;
    this.terminal.clearStatus();
    this.terminal.print(formatEpochLine(row, this.epochs));
  }

  onTrainEnd(): void {
    this.terminal.clearStatus();
  }
}
