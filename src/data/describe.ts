import { classCounts } from './split';
import type { DatasetConfig, LoadedDataset } from './types';

/** What `pipeline data` reports (also the `dataset` block a run's meta.json can copy). */
export interface DatasetDescription {
  name: string;
  source: LoadedDataset['source'];
  shape: [number, number, number];
  classes: string[];
  counts: { train: number; validation: number; test: number };
  perClass: Array<{ class: string; train: number; validation: number; test: number }>;
  fingerprint: string;
  cache: LoadedDataset['cache'];
  options?: Pick<DatasetConfig, 'validationSplit' | 'limit' | 'normalize' | 'augment' | 'shuffle'>;
  /** Wall time of the load, when measured. */
  seconds?: number;
}

export function describeDataset(
  ds: LoadedDataset,
  cfg?: DatasetConfig,
  extra: { seconds?: number } = {},
): DatasetDescription {
  const k = ds.classes.length;
  const train = classCounts(ds.train.y, k);
  const validation = ds.validation ? classCounts(ds.validation.y, k) : new Array<number>(k).fill(0);
  const test = classCounts(ds.test.y, k);
  return {
    name: ds.name,
    source: { ...ds.source },
    shape: [...ds.shape],
    classes: [...ds.classes],
    counts: { train: ds.train.n, validation: ds.validation?.n ?? 0, test: ds.test.n },
    perClass: ds.classes.map((name, i) => ({ class: name, train: train[i], validation: validation[i], test: test[i] })),
    fingerprint: ds.fingerprint,
    cache: ds.cache,
    options: cfg
      ? {
          validationSplit: cfg.validationSplit,
          limit: cfg.limit,
          normalize: cfg.normalize,
          augment: cfg.augment,
          shuffle: cfg.shuffle,
        }
      : undefined,
    ...(extra.seconds !== undefined ? { seconds: extra.seconds } : {}),
  };
}

const num = (n: number) => n.toLocaleString('en-US');

const FORMAT_NAMES: Record<LoadedDataset['source']['format'], string> = {
  'cifar-binary': 'CIFAR-10 binary files',
  'cifar-archive': 'CIFAR-10 binary archive',
  'image-folder': 'image folders',
  idx: 'IDX files',
};

const CACHE_WORDS: Record<LoadedDataset['cache'], string> = {
  hit: 'hit (decoded images read from the cache)',
  miss: 'miss (images decoded, cache written)',
  none: 'none (read directly)',
};

/** The human-readable report: a header block, then counts per class. */
export function formatDatasetDescription(d: DatasetDescription): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(12)}${value}`);
  row('dataset', d.name);
  row(
    'source',
    `${d.source.path} (${FORMAT_NAMES[d.source.format]}, ${d.source.downloaded ? 'downloaded now' : 'local'})`,
  );
  row('shape', `${d.shape.join('x')} (height x width x channels)`);
  row('classes', `${d.classes.length}: ${d.classes.join(', ')}`);
  const counts = [`train ${num(d.counts.train)}`];
  if (d.counts.validation) counts.push(`validation ${num(d.counts.validation)}`);
  counts.push(`test ${num(d.counts.test)}`);
  row('examples', counts.join(', '));
  if (d.options) {
    const o = d.options;
    const parts = [];
    if (o.limit?.train !== undefined || o.limit?.test !== undefined) {
      parts.push(`limit train ${o.limit.train ?? 'all'} / test ${o.limit.test ?? 'all'}`);
    }
    if (o.validationSplit) parts.push(`validationSplit ${o.validationSplit}`);
    parts.push(
      o.normalize.type === 'scale'
        ? 'normalize scale to [0,1]'
        : `normalize mean [${o.normalize.mean.join(', ')}] std [${o.normalize.std.join(', ')}]`,
    );
    const aug = [];
    if (o.augment?.randomCrop) aug.push(`randomCrop padding ${o.augment.randomCrop.padding}`);
    if (o.augment?.horizontalFlip) aug.push('horizontalFlip');
    parts.push(aug.length ? `augment ${aug.join(' + ')}` : 'no augmentation');
    parts.push(o.shuffle ? 'shuffled each epoch' : 'not shuffled');
    row('options', parts.join('; '));
  }
  row('fingerprint', `sha256:${d.fingerprint}`);
  row('cache', CACHE_WORDS[d.cache]);
  if (d.seconds !== undefined) row('loaded in', `${d.seconds.toFixed(2)} s`);

  lines.push('');
  const hasVal = d.counts.validation > 0;
  const width = Math.max(5, ...d.classes.map((c) => c.length));
  const cols = hasVal ? ['train', 'validation', 'test'] : ['train', 'test'];
  const colWidth = 12;
  lines.push(`${'class'.padEnd(width)}${cols.map((c) => c.padStart(colWidth)).join('')}`);
  for (const r of d.perClass) {
    const values = hasVal ? [r.train, r.validation, r.test] : [r.train, r.test];
    lines.push(`${r.class.padEnd(width)}${values.map((v) => num(v).padStart(colWidth)).join('')}`);
  }
  const totals = hasVal ? [d.counts.train, d.counts.validation, d.counts.test] : [d.counts.train, d.counts.test];
  lines.push(`${'total'.padEnd(width)}${totals.map((v) => num(v).padStart(colWidth)).join('')}`);
  return lines.join('\n');
}
