import * as fs from 'node:fs';
import { DataError } from '../errors';
import { decodeImage } from './image-decode';
import { scanImageFolder } from './image-folder';
import { resolveDataHome } from './paths';
import { classCounts } from './split';
import type { DataContext, DatasetConfig, LoadedDataset } from './types';

/**
 * What the model must fit, read cheaply before a run folder exists: an image folder's
 * classes (its train/ folders) and image shape (dataset.imageSize, else the first image's
 * header). Other datasets have fixed shapes, known without reading them.
 */
export interface DataProbe {
  /** Where the classes were found, for messages. */
  where: string;
  shape: [number, number, number];
  classes: string[];
  /** A split without a folder for some class (an empty one is an error already). */
  warnings: string[];
}

/** undefined when nothing beyond the config is known (a fixed-shape dataset). Throws DataError for an unreadable folder. */
export function probeDataset(cfg: DatasetConfig, ctx: Pick<DataContext, 'dataDir'>): DataProbe | undefined {
  if (cfg.name !== 'imageFolder' || !cfg.path) return undefined;
  const root = resolveDataHome(cfg, ctx).home;
  const scan = scanImageFolder(root, { classes: cfg.classes, classesFrom: 'dataset.classes' });
  const channels = cfg.channels ?? 3;
  const warnings: string[] = [];
  for (const [split, files] of [
    ['train', scan.train],
    ['test', scan.test],
  ] as const) {
    if (!files) continue;
    const have = new Set(files.map((f) => f.label));
    const missing = scan.classes.filter((_, i) => !have.has(i));
    const one = missing.length === 1;
    if (missing.length)
      warnings.push(
        `${root}/${split}: no images of ${one ? 'class' : 'classes'} ${missing.map((c) => `"${c}"`).join(', ')} (a missing or empty folder): the ${split} split has no examples of ${one ? 'it' : 'them'}`,
      );
  }
  const where = `${root}/train`;
  if (cfg.imageSize)
    return { where, shape: [cfg.imageSize[0], cfg.imageSize[1], channels], classes: scan.classes, warnings };
  const first = scan.train[0];
  if (!first) return undefined;
  let img;
  try {
    img = decodeImage(fs.readFileSync(first.abs));
  } catch (err) {
    throw new DataError(`${first.abs}: ${(err as Error).message}`);
  }
  return { where, shape: [img.height, img.width, channels], classes: scan.classes, warnings };
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
