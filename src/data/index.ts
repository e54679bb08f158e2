import { datasetEntry, type DatasetInfo, type LoadEnv } from './registry';
import { resolveCacheDir, resolveDataHome } from './paths';
import { holdOut, limitSplit } from './split';
import type { DataContext, DatasetConfig, LoadedDataset } from './types';

export type { DataContext, DatasetConfig, LoadedDataset, Split } from './types';
export { batches, batchCount } from './batches';
export { describeDataset, formatDatasetDescription } from './describe';

/** What is known about a dataset without reading it: for shape checks at validation time. */
export function datasetInfo(cfg: DatasetConfig): DatasetInfo {
  return datasetEntry(cfg.name).info(cfg);
}

/**
 * Load a dataset as the experiment describes it: find (or download) the
 * source, decode it to uint8 NHWC, then apply `limit` (to train and test) and
 * `validationSplit` (held out of the limited train set), both stratified and
 * seeded. Throws DataError for anything wrong with the data.
 */
export async function loadDataset(cfg: DatasetConfig, ctx: DataContext, hooks: Pick<LoadEnv, 'decode'> = {}): Promise<LoadedDataset> {
  const entry = datasetEntry(cfg.name);
  const env: LoadEnv = { home: resolveDataHome(cfg, ctx), cacheDir: resolveCacheDir(ctx), ctx, decode: hooks.decode };
  const source = await entry.load(cfg, env);
  const [h, w, c] = source.shape;
  const sample = h * w * c;
  const k = source.classes.length;
  const train = limitSplit(source.train, cfg.limit?.train, k, sample, ctx.seed, 'train');
  const test = limitSplit(source.test, cfg.limit?.test, k, sample, ctx.seed, 'test');
  const held = holdOut(train, cfg.validationSplit, k, sample, ctx.seed);
  return { ...source, train: held.train, validation: held.validation, test };
}
