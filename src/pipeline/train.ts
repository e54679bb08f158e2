import { learningRateAt } from '../builders/schedules';
import { setLearningRate, type TrainSteps } from '../engine';
import { splitKey } from '../run-format/metrics';
import type {
  Batch,
  BatchInfo,
  BatchSource,
  Callback,
  EpochRow,
  LoopPosition,
  TrainingSetup,
  TrainResult,
} from './types';

/**
 * The training loop: a custom loop (not model.fit) so that every step is seeded from
 * (seed, epoch, batch), a signal can stop it between two batches at an exact, resumable
 * position, and a NaN loss is caught at the batch that produced it. Tensor code is in
 * src/engine/step-runner.ts; everything else (files, progress, early stopping) is in callbacks.
 */

export interface TrainOptions {
  setup: TrainingSetup;
  /** The step runner, or a data-parallel replica group (parallel/group.ts). */
  steps: TrainSteps;
  source: BatchSource;
  callbacks: readonly Callback[];
  /** Set by the signal handler; checked after every batch. */
  stop: { readonly requested: boolean };
  /** Where to continue from (a checkpoint's position); a fresh run starts at epoch 0, batch 0. */
  start?: LoopPosition;
}

export function freshPosition(keys: number): LoopPosition {
  return { epoch: 0, batch: 0, sums: new Array<number>(keys).fill(0), seen: 0, trainSeconds: 0 };
}

// Lets pending signal handlers (and stream writes) run: the loop is otherwise synchronous.
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const seconds = () => performance.now() / 1000;

export async function evaluateSplit(
  steps: TrainSteps,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
): Promise<Record<string, number>> {
  const sums = new Array<number>(steps.keys.length).fill(0);
  let seen = 0;
  for await (const batch of batches) {
    (await steps.evaluate(batch)).sums.forEach((v, i) => (sums[i] += v));
    seen += batch.size;
    await yieldToEventLoop();
  }
  return Object.fromEntries(steps.keys.map((k, i) => [k, seen > 0 ? sums[i] / seen : NaN]));
}

async function each<T>(callbacks: readonly Callback[], fn: (cb: Callback) => T | Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const cb of callbacks) out.push(await fn(cb));
  return out;
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const { setup, steps, callbacks } = o;
  const { epochs, schedule } = setup.experiment.training;
  const baseRate = setup.experiment.training.optimizer.learningRate;
  const keys = steps.keys;
  const position: LoopPosition = o.start ? structuredClone(o.start) : freshPosition(keys.length);
  const rows: EpochRow[] = [];
  const finish = async (result: Omit<TrainResult, 'rows' | 'position'>): Promise<TrainResult> => {
    const r: TrainResult = { ...result, rows, position: structuredClone(position) };
    await each(callbacks, (cb) => cb.onTrainEnd?.(r));
    return r;
  };
  const interrupt = async () => {
    await each(callbacks, (cb) => cb.onInterrupt?.(structuredClone(position)));
    return finish({
      status: 'interrupted',
      reason: `interrupted at epoch ${position.epoch + 1}, after batch ${position.batch} of ${setup.batchesPerEpoch}`,
    });
  };

  await each(callbacks, (cb) => cb.onTrainBegin?.(setup, structuredClone(position)));

  while (position.epoch < epochs) {
    const epoch = position.epoch; // 0-based here; rows and messages count from 1
    const learningRate = learningRateAt(baseRate, schedule as never, epoch, epochs);
    setLearningRate(setup.optimizer, learningRate);
    await each(callbacks, (cb) => cb.onEpochBegin?.(epoch + 1, learningRate));

    const stopped = await trainEpoch(o, position);
    if (stopped === 'interrupted') return interrupt();
    if (stopped) return finish({ status: 'diverged', reason: stopped.diverged });

    const row = await epochRow(o, position, learningRate);
    rows.push(row);
    Object.assign(position, freshPosition(keys.length), { epoch: epoch + 1 });
    const decisions = await each(callbacks, (cb) => cb.onEpochEnd?.(row, structuredClone(position)));
    const stopper = decisions.indexOf('stop');
    if (stopper >= 0)
      return finish({
        status: 'completed',
        reason: `${callbacks[stopper].name} stopped training after epoch ${epoch + 1}`,
      });
    if (o.stop.requested && position.epoch < epochs) return interrupt();
  }
  return finish({ status: 'completed' });
}

/**
 * The training batches of `position`'s epoch, from the batch it is at (a resume skips those
 * done before): undefined when the epoch is done, `interrupted` when a signal stopped it
 * between two batches, `{diverged}` when the loss stopped being finite.
 */
async function trainEpoch(
  o: TrainOptions,
  position: LoopPosition,
): Promise<undefined | 'interrupted' | { diverged: string }> {
  const { setup, steps, source, callbacks } = o;
  const epoch = position.epoch;
  const skip = position.batch; // batches this epoch already did before a resume
  let index = 0;
  let phaseStart = seconds();
  const trainBefore = position.trainSeconds;
  for await (const batch of source.train(epoch)) {
    if (index < skip) {
      index++;
      phaseStart = seconds();
      continue;
    }
    const sums = await steps.train(batch, epoch, index);
    index++;
    if (!Number.isFinite(sums[0])) {
      const what = Number.isNaN(sums[0]) ? 'NaN' : 'infinite';
      return { diverged: `loss became ${what} at epoch ${epoch + 1}, batch ${index} of ${setup.batchesPerEpoch}` };
    }
    sums.forEach((v, i) => (position.sums[i] += v));
    position.seen += batch.size;
    position.batch = index;
    position.trainSeconds = trainBefore + (seconds() - phaseStart);
    const info: BatchInfo = {
      epoch: epoch + 1,
      batch: index,
      batches: setup.batchesPerEpoch,
      size: batch.size,
      loss: position.sums[0] / position.seen,
      metrics: Object.fromEntries(steps.keys.slice(1).map((k, i) => [k, position.sums[i + 1] / position.seen])),
      samplesPerSecond: position.seen / Math.max(position.trainSeconds, 1e-9),
    };
    await each(callbacks, (cb) => cb.onBatchEnd?.(info));
    await yieldToEventLoop();
    if (o.stop.requested && index < setup.batchesPerEpoch) return 'interrupted';
  }
  return undefined;
}

/** The epoch's metrics.jsonl row: the training means, then the validation and test splits evaluated. */
async function epochRow(o: TrainOptions, position: LoopPosition, learningRate: number): Promise<EpochRow> {
  const { steps, source } = o;
  const keys = steps.keys;
  const evalStart = seconds();
  const row: EpochRow = { epoch: position.epoch + 1 };
  keys.forEach((k, i) => (row[k] = position.sums[i] / position.seen));
  if (source.counts.validation) {
    const v = await evaluateSplit(steps, source.evaluate('validation'));
    for (const k of keys) row[splitKey('validation', k)] = v[k];
  }
  const t = await evaluateSplit(steps, source.evaluate('test'));
  for (const k of keys) row[splitKey('test', k)] = t[k];
  row.learningRate = learningRate;
  row.seconds = position.trainSeconds + (seconds() - evalStart);
  row.samplesPerSecond = position.seen / Math.max(position.trainSeconds, 1e-9);
  return row;
}
