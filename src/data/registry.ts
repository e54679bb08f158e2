import { Type, type TProperties } from '@sinclair/typebox';
import { DataError } from '../errors';
import { Registry, type Entry } from '../registry/registry';
import { Closed, StringEnum } from '../registry/schema-parts';
import { EXAMPLE_KEYS, SOURCE_KEYS } from './dataset-keys';
import type { DecodeOptions } from './decode-pool';
import type { IdxDatasetSpec } from './mnist';
import type { DataHome } from './paths';
import type { DataContext, DataProbe, DatasetConfig, SourceDataset } from './types';

/**
 * Every dataset pipeline knows, keyed by the name the experiment uses. Adding a
 * dataset is adding one entry to DATASET_ENTRIES: its name, its own keys of the
 * `dataset` section (the schema and the DatasetConfig type are generated from
 * them), what is known about it before any I/O, and its loader.
 */

/** What is known about a dataset without reading it: enough for shape checks in `validate`, which must not touch the disk. */
export interface DatasetInfo {
  /** [height, width, channels] */
  shape?: [number, number, number];
  /** Class names in label order. */
  classes?: string[];
}

export interface LoadEnv {
  home: DataHome;
  cacheDir: string;
  ctx: DataContext;
  /** Test hook: worker count and chunk size for image decoding. */
  decode?: DecodeOptions;
}

export interface DatasetEntry<T extends string = string, O extends TProperties = TProperties> extends Entry {
  readonly type: T;
  /** The keys of the `dataset` section only this dataset reads, besides those every dataset has (dataset-keys.ts). */
  readonly options: O;
  /** What is known about the data before reading it. */
  info(cfg: DatasetConfig): DatasetInfo;
  /**
   * The source's own splits, before `limit` and `validationSplit`. Loaders are
   * imported when called, so loading the schema (`validate`) does not load them.
   */
  load(cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset>;
  /**
   * For a dataset whose shape or classes depend on its files: read them cheaply, so
   * `validate --data` and `run` check the model before a run folder exists.
   */
  probe?(cfg: DatasetConfig, ctx: Pick<DataContext, 'dataDir'>): DataProbe | undefined;
}

/** An entry, its name and keys kept as literal types for the generated schema and type. */
function dataset<const T extends string, O extends TProperties>(e: DatasetEntry<T, O>): DatasetEntry<T, O> {
  return e;
}

/** A dataset whose every image has one shape and whose classes are fixed: its info is these facts. */
export interface FixedInfo {
  readonly shape: readonly [number, number, 1 | 3];
  readonly classes: readonly string[];
  /** Examples in the official train and test splits (a copy may hold others: these are not checked). */
  readonly splits: { readonly train: number; readonly test: number };
}

const fixedInfo = (facts: FixedInfo) => (): DatasetInfo => ({
  shape: [facts.shape[0], facts.shape[1], facts.shape[2]],
  classes: [...facts.classes],
});

export const CIFAR10: FixedInfo = {
  shape: [32, 32, 3],
  classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  splits: { train: 50000, test: 10000 },
};

export const MNIST: IdxDatasetSpec = {
  name: 'mnist',
  title: 'MNIST',
  shape: [28, 28, 1],
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  splits: { train: 60000, test: 10000 },
  systemDirs: [],
  mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
  md5: [
    'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    'd53e105ee54ea40749a09fcbcd1e9432',
    '9fb629c4189551a2d022fa330f9573f3',
    'ec29112dd5afa0611ce80d1b7f02629c',
  ],
};

export const FASHION_MNIST: IdxDatasetSpec = {
  name: 'fashionMnist',
  title: 'Fashion-MNIST',
  shape: [28, 28, 1],
  classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  splits: { train: 60000, test: 10000 },
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  md5: [
    '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    '25c81989df183df01b3e8a0aad5dffbe',
    'bef4ecab320f06d8554ea6380940ec79',
    'bb300cfdad3c16e7a12a480ee83cd310',
  ],
};

/**
 * A loader module, required when a dataset is loaded: the schema is built from
 * this file, and `validate` should not pay for the decoders and downloaders.
 */
const lazy = <M>(file: string): M => require(file) as M;

async function loadIdx(spec: IdxDatasetSpec, cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset> {
  const { loadIdxDataset } = lazy<typeof import('./mnist')>('./mnist');
  const { progress, log, signal, download } = env.ctx;
  return loadIdxDataset(spec, { home: env.home, url: cfg.url, progress, log, signal, download });
}

/** The keys only imageFolder reads. */
const IMAGE_FOLDER_KEYS = {
  classes: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      minItems: 2,
      uniqueItems: true,
      description: 'imageFolder: class order (default: sorted folder names)',
    }),
  ),
  imageSize: Type.Optional(
    Type.Tuple([Type.Integer({ minimum: 1, maximum: 4096 }), Type.Integer({ minimum: 1, maximum: 4096 })], {
      description: 'imageFolder: resize every image to [height, width]',
    }),
  ),
  channels: Type.Optional(
    Type.Union([Type.Literal(1), Type.Literal(3)], { description: 'imageFolder: 1 (grey) or 3 (RGB); default 3' }),
  ),
};

/** An image folder knows its shape only when `imageSize` is given, and its classes only with `classes`. */
function imageFolderInfo(cfg: DatasetConfig): DatasetInfo {
  return {
    shape: cfg.imageSize ? [cfg.imageSize[0], cfg.imageSize[1], cfg.channels ?? 3] : undefined,
    classes: cfg.classes ? [...cfg.classes] : undefined,
  };
}

async function loadFolderDataset(cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset> {
  if (!cfg.path)
    throw new DataError(
      'dataset.path is required for imageFolder: the folder that holds train/<class>/ (and test/<class>/)',
    );
  const { loadImageFolder, scanImageFolder } = lazy<typeof import('./image-folder')>('./image-folder');
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

export const DATASET_ENTRIES = [
  dataset({
    type: 'cifar10',
    summary:
      'CIFAR-10: 60,000 32x32 colour images in 10 classes (official binary files or archive, image folders, or downloaded)',
    options: {},
    info: fixedInfo(CIFAR10),
    load: (cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset> =>
      lazy<typeof import('./cifar10')>('./cifar10').loadCifar10(CIFAR10, {
        home: env.home,
        url: cfg.url,
        cacheDir: env.cacheDir,
        progress: env.ctx.progress,
        log: env.ctx.log,
        decode: { ...env.decode, signal: env.ctx.signal },
        signal: env.ctx.signal,
        download: env.ctx.download,
      }),
  }),
  dataset({
    type: 'mnist',
    summary: 'MNIST: 70,000 28x28 grey handwritten digits (gzip IDX files)',
    options: {},
    info: fixedInfo(MNIST),
    load: (cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset> => loadIdx(MNIST, cfg, env),
  }),
  dataset({
    type: 'fashionMnist',
    summary: 'Fashion-MNIST: 70,000 28x28 grey clothing images in 10 classes (gzip IDX files)',
    options: {},
    info: fixedInfo(FASHION_MNIST),
    load: (cfg: DatasetConfig, env: LoadEnv): Promise<SourceDataset> => loadIdx(FASHION_MNIST, cfg, env),
  }),
  dataset({
    type: 'imageFolder',
    summary: 'Your own JPEG/PNG images: dataset.path with train/<class>/ and test/<class>/ folders',
    options: IMAGE_FOLDER_KEYS,
    info: imageFolderInfo,
    load: loadFolderDataset,
    probe: (cfg: DatasetConfig, ctx: Pick<DataContext, 'dataDir'>) =>
      lazy<typeof import('./image-folder-probe')>('./image-folder-probe').probeImageFolder(cfg, ctx),
  }),
];

export const DATASETS = new Registry<DatasetEntry>('dataset', DATASET_ENTRIES);

type Entries = typeof DATASET_ENTRIES;
export const DATASET_NAMES = DATASET_ENTRIES.map((e) => e.type) as Entries[number]['type'][];

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** Every entry's own keys, in entry order. */
const ENTRY_KEYS = Object.assign({}, ...DATASET_ENTRIES.map((e) => e.options)) as UnionToIntersection<
  Entries[number]['options']
>;

/**
 * The `dataset` section. Input shape and class count come from here (the
 * dataset), never from the model.
 */
export const DatasetSchema = Type.Object(
  {
    name: StringEnum(DATASET_NAMES, { description: 'where examples come from' }),
    ...SOURCE_KEYS,
    ...ENTRY_KEYS,
    ...EXAMPLE_KEYS,
  },
  { ...Closed, description: 'the data to train and test on' },
);

export function datasetEntry(name: string): DatasetEntry {
  const entry = DATASETS.get(name);
  if (!entry) throw new DataError(`unknown dataset "${name}" (known: ${DATASETS.names().join(', ')})`);
  return entry;
}

/** What is known about the experiment's dataset without reading it: for shape checks before any I/O. */
export function datasetInfo(cfg: DatasetConfig): DatasetInfo {
  return datasetEntry(cfg.name).info(cfg);
}
