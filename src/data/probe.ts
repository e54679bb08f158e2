import { datasetEntry } from './registry';
import { classCounts } from './split';
import type { DataContext, DataProbe, DatasetConfig, LoadedDataset } from './types';

export type { DataProbe } from './types';

/**
 * What the model must fit, read cheaply before a run folder exists, for datasets
 * whose shape or classes depend on their files (their registry entry's `probe`).
 * undefined for the others, whose info (registry.ts) says it all.
 * Throws DataError for an unreadable folder.
 */
export function probeDataset(cfg: DatasetConfig, ctx: Pick<DataContext, 'dataDir'>): DataProbe | undefined {
  return datasetEntry(cfg.name).probe?.(cfg, ctx);
}

/**
 * Classes a split has no examples of (a missing or empty test/<class>/ folder, a limit
 * too small): the model is then never tested, or validated, on them. A warning, not an error.
 */
export function emptyClassWarnings(ds: Pick<LoadedDataset, 'classes' | 'train' | 'validation' | 'test'>): string[] {
  const out: string[] = [];
  const k = ds.classes.length;
  const splits: Array<[string, LoadedDataset['train'] | undefined]> = [
    ['train', ds.train],
    ['validation', ds.validation],
    ['test', ds.test],
  ];
  for (const [name, split] of splits) {
    if (!split || split.n === 0) continue;
    const counts = classCounts(split.y, k);
    const missing = ds.classes.filter((_, i) => counts[i] === 0);
    if (missing.length === 0) continue;
    const list = missing.map((c) => `"${c}"`).join(', ');
    const folders =
      name === 'validation'
        ? 'too few train/ examples to hold some out?'
        : `a missing or empty ${missing.map((c) => `${name}/${c}/`).join(', ')} folder?`;
    out.push(
      `the ${name} split has no examples of ${missing.length === 1 ? 'class' : 'classes'} ${list} (${folders}); its ${name} metrics say nothing about ${missing.length === 1 ? 'that class' : 'them'}`,
    );
  }
  return out;
}
