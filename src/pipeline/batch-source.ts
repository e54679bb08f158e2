import { batchCount, batches, type LoadedDataset } from '../data';
import type { ResolvedExperiment } from '../config/load';
import type { AugmentConfig } from '../data/types';
import type { BatchSource } from './types';

/**
 * The training loop's view of a loaded dataset. Train batches are shuffled and augmented
 * from (experiment seed, epoch); evaluation batches are in order, unaugmented, at
 * training.evalBatchSize. Both come in 3 arrays reused in turn (data/batches.ts `recycle`): a
 * batch is only valid until the loop takes the one two after it (it reads one ahead, prefetch.ts).
 */
export function datasetBatchSource(dataset: LoadedDataset, experiment: ResolvedExperiment): BatchSource {
  const { seed } = experiment;
  const { batchSize, evalBatchSize } = experiment.training;
  const normalize = experiment.dataset.normalize;
  const augment = experiment.dataset.augment as AugmentConfig;
  return {
    counts: { train: dataset.train.n, validation: dataset.validation?.n, test: dataset.test.n },
    train: (epoch) =>
      batches(dataset.train, dataset.shape, {
        batchSize,
        epoch,
        seed,
        shuffle: experiment.dataset.shuffle,
        normalize,
        augment,
        recycle: 3,
      }),
    evaluate(split) {
      const data = split === 'validation' ? dataset.validation : dataset.test;
      if (!data) throw new Error(`evaluate: the dataset has no ${split} split`);
      return batches(data, dataset.shape, {
        batchSize: evalBatchSize,
        epoch: 0,
        seed,
        shuffle: false,
        normalize,
        recycle: 3,
      });
    },
  };
}

export function trainBatchCount(dataset: LoadedDataset, experiment: ResolvedExperiment): number {
  return batchCount(dataset.train.n, experiment.training.batchSize);
}
