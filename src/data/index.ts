import { datasetEntry, type LoadEnv } from './registry';
import { resolveCacheDir, resolveDataHome } from './paths';
import { DataError } from '../errors';
import { holdOut, limitSplit } from './split';
import type { DataContext, DatasetConfig, LoadedDataset } from './types';

export type { DataContext, DatasetConfig, LoadedDataset, Split } from './types';
export { batches, batchCount } from './batches';
export { describeDataset, formatDatasetDescription } from './describe';
export { datasetInfo } from './registry';

/**
 * Load a dataset as the experiment describes it: find (or download) the
 * source, decode it to uint8 NHWC, then apply `limit` (to train and test) and
 * `validationSplit` (held out of the limited train set), both stratified and
 * seeded. Throws DataError for anything wrong with the data.
 */
export async function loadDataset(
  cfg: DatasetConfig,
  ctx: DataContext,
  hooks: Pick<LoadEnv, 'decode'> = {},
): Promise<LoadedDataset> {
  const entry = datasetEntry(cfg.name);
  const env: LoadEnv = { home: resolveDataHome(cfg, ctx), cacheDir: resolveCacheDir(ctx), ctx, decode: hooks.decode };
  const source = await entry.load(cfg, env);
  const [h, w, c] = source.shape;
  const sample = h * w * c;
  const k = source.classes.length;
  const train = limitSplit(source.train, cfg.limit?.train, k, sample, ctx.seed, 'train');
  const test = limitSplit(source.test, cfg.limit?.test, k, sample, ctx.seed, 'test');
  const held = holdOut(train, cfg.validationSplit, k, sample, ctx.seed);
  // Training on nothing would "complete" with null metrics; an absent test split is fine only
  // when a validation split stands in for it (an image folder without test/).
  const empty = held.train.n === 0 ? 'train' : test.n === 0 && !held.validation ? 'test' : undefined;
  if (empty) {
    throw new DataError(
      `${source.name}: the ${empty} split of ${source.source.path} (${source.source.format}) has no examples; add some, or point the dataset at a folder that has them`,
    );
  }
  return { ...source, train: held.train, validation: held.validation, test };
}
