import { DataError } from '../errors';
import { CIFAR10_CLASSES } from './cifar-binary';
import { loadCifar10 } from './cifar10';
import type { DecodeOptions } from './decode-pool';
import { loadImageFolder, scanImageFolder } from './image-folder';
import { loadIdxDataset, type IdxDatasetSpec } from './mnist';
import type { DataHome } from './paths';
import type { DataContext, DatasetConfig, DatasetName, SourceDataset } from './types';

/**
 * Every dataset pipeline knows, keyed by the name the experiment uses.
 * Adding a dataset is adding one entry: its static info (for shape checks
 * before any I/O) and its loader.
 */

export interface DatasetInfo {
  shape?: [number, number, number];
  classes?: string[];
  numClasses?: number;
}

export interface LoadEnv {
  home: DataHome;
  cacheDir: string;
  ctx: DataContext;
  /** Test hook: worker count and chunk size for image decoding. */
  decode?: DecodeOptions;
}

export interface DatasetEntry {
  description: string;
  info(cfg: DatasetConfig): DatasetInfo;
  load(cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset>;
}

export const FASHION_MNIST: IdxDatasetSpec = {
  name: 'fashionMnist',
  title: 'Fashion-MNIST',
  classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  md5: [
    '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    '25c81989df183df01b3e8a0aad5dffbe',
    'bef4ecab320f06d8554ea6380940ec79',
    'bb300cfdad3c16e7a12a480ee83cd310',
  ],
};

export const MNIST: IdxDatasetSpec = {
  name: 'mnist',
  title: 'MNIST',
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  systemDirs: [],
  mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
  md5: [
    'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    'd53e105ee54ea40749a09fcbcd1e9432',
    '9fb629c4189551a2d022fa330f9573f3',
    'ec29112dd5afa0611ce80d1b7f02629c',
  ],
};

function idxEntry(spec: IdxDatasetSpec, description: string): DatasetEntry {
  return {
    description,
    info: () => ({ shape: [28, 28, 1], classes: [...spec.classes], numClasses: spec.classes.length }),
    load: (cfg, env) =>
      loadIdxDataset(spec, {
        home: env.home,
        url: cfg.url,
        progress: env.ctx.progress,
        log: env.ctx.log,
        signal: env.ctx.signal,
        download: env.ctx.download,
      }),
  };
}

async function loadFolderDataset(cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset> {
  if (!cfg.path)
    throw new DataError(
      'dataset.path is required for imageFolder: the folder that holds train/<class>/ (and test/<class>/)',
    );
  const root = env.home.home;
  const scan = scanImageFolder(root, { classes: cfg.classes, classesFrom: 'dataset.classes' });
  if (!scan.test && !(cfg.validationSplit > 0)) {
    throw new DataError(
      `${root}: no test/ folder; add test/<class>/ folders or set dataset.validationSplit to hold out part of train/`,
    );
  }
  if (scan.ignored) env.ctx.log?.(`imageFolder: ignored ${scan.ignored} files that are not .jpg, .jpeg or .png`);
  const data = await loadImageFolder(scan, {
    name: 'imageFolder',
    size: cfg.imageSize ? { height: cfg.imageSize[0], width: cfg.imageSize[1], resize: true } : undefined,
    channels: cfg.channels ?? 3,
    mismatchHint: '; all images must share one size, or set dataset.imageSize: [height, width] to resize them',
    cacheDir: env.cacheDir,
    log: env.ctx.log,
    decode: { ...env.decode, signal: env.ctx.signal },
  });
  return {
    name: 'imageFolder',
    shape: data.shape,
    classes: scan.classes,
    train: data.train,
    test: data.test,
    source: { format: 'image-folder', path: root, downloaded: false },
    fingerprint: data.fingerprint,
    cache: data.cache,
  };
}

export const DATASETS: Record<DatasetName, DatasetEntry> = {
  cifar10: {
    description:
      'CIFAR-10: 60,000 32x32 colour images in 10 classes (official binary files or archive, image folders, or downloaded)',
    info: () => ({ shape: [32, 32, 3], classes: [...CIFAR10_CLASSES], numClasses: CIFAR10_CLASSES.length }),
    load: (cfg, env) =>
      loadCifar10({
        home: env.home,
        url: cfg.url,
        cacheDir: env.cacheDir,
        progress: env.ctx.progress,
        log: env.ctx.log,
        decode: { ...env.decode, signal: env.ctx.signal },
        signal: env.ctx.signal,
        download: env.ctx.download,
      }),
  },
  mnist: idxEntry(MNIST, 'MNIST: 70,000 28x28 grey handwritten digits (gzip IDX files)'),
  fashionMnist: idxEntry(
    FASHION_MNIST,
    'Fashion-MNIST: 70,000 28x28 grey clothing images in 10 classes (gzip IDX files)',
  ),
  imageFolder: {
    description: 'Your own JPEG/PNG images: dataset.path with train/<class>/ and test/<class>/ folders',
    info(cfg) {
      const channels = cfg.channels ?? 3;
      return {
        shape: cfg.imageSize ? [cfg.imageSize[0], cfg.imageSize[1], channels] : undefined,
        classes: cfg.classes ? [...cfg.classes] : undefined,
        numClasses: cfg.classes?.length,
      };
    },
    load: loadFolderDataset,
  },
};

export function datasetEntry(name: string): DatasetEntry {
  const entry = (DATASETS as Record<string, DatasetEntry | undefined>)[name];
  if (!entry) throw new DataError(`unknown dataset "${name}" (known: ${Object.keys(DATASETS).join(', ')})`);
  return entry;
}
