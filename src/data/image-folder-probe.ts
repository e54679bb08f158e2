import * as fs from 'node:fs';
import { DataError } from '../errors';
import { type DecodedImage, decodeImage } from './image-decode';
import { scanImageFolder } from './image-folder';
import { resolveDataHome } from './paths';
import type { DataContext, DataProbe, DatasetConfig } from './types';

/**
 * An image folder's classes (its train/ folders) and image shape (dataset.imageSize,
 * else the first image's header), and the classes a split has no folder for.
 */
export function probeImageFolder(cfg: DatasetConfig, ctx: Pick<DataContext, 'dataDir'>): DataProbe | undefined {
  if (!cfg.path) return undefined;
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
  let img: DecodedImage;
  try {
    img = decodeImage(fs.readFileSync(first.abs));
  } catch (err) {
    throw new DataError(`${first.abs}: ${(err as Error).message}`);
  }
  return { where, shape: [img.height, img.width, channels], classes: scan.classes, warnings };
}
