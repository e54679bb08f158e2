/** The data pipeline's contract with the experiment loader and the training loop. */

export type DatasetName = 'cifar10' | 'mnist' | 'fashionMnist' | 'imageFolder';

export type NormalizeConfig =
  | { type: 'scale' }
  | { type: 'standardize'; mean: readonly number[]; std: readonly number[] };
export interface AugmentConfig {
  randomCrop?: { padding: number };
  horizontalFlip?: boolean;
}

/**
 * The experiment's `dataset` section after defaults (its schema lives in
 * src/schema/dataset.ts). Arrays are readonly so the frozen resolved
 * experiment can be passed as it is.
 */
export interface DatasetConfig {
  name: DatasetName;
  /** The dataset's home itself (overrides the data dir); required for imageFolder. */
  path?: string;
  /** Download URL override (tests serve from 127.0.0.1). For mnist/fashionMnist: the base URL of the four files. */
  url?: string;
  /** imageFolder class order (default: sorted folder names). */
  classes?: readonly string[];
  /** [height, width]: resize imageFolder images to this size. (The schema makes it a pair; the
   *  resolved experiment's DeepReadonly type turns tuples into readonly arrays, hence number[].) */
  imageSize?: readonly number[];
  /** imageFolder: 1 = grey, 3 = RGB (default 3). */
  channels?: 1 | 3;
  /** Fraction of train held out for validation, stratified; 0 = none. */
  validationSplit: number;
  limit?: { readonly train?: number; readonly test?: number };
  normalize: NormalizeConfig;
  augment: AugmentConfig;
  shuffle: boolean;
}

/** Examples of one split: x is n*h*w*c uint8, NHWC, row-major; y holds class indices. */
export interface Split {
  x: Uint8Array;
  y: Uint8Array;
  n: number;
}

export type SourceFormat = 'cifar-binary' | 'cifar-archive' | 'image-folder' | 'idx';

export interface LoadedDataset {
  name: string;
  /** [height, width, channels] */
  shape: [number, number, number];
  classes: string[];
  train: Split;
  validation?: Split;
  test: Split;
  source: { format: SourceFormat; path: string; downloaded: boolean };
  /** sha256 over the files read (names + contents), hex. */
  fingerprint: string;
  /** Decoded-array cache: hit, miss (decoded and written), none (formats read directly). */
  cache: 'hit' | 'miss' | 'none';
}

export interface DataContext {
  /** --data-dir */
  dataDir?: string;
  /** Overrides PIPELINE_CACHE_DIR (tests). */
  cacheDir?: string;
  seed: number;
  log?: (msg: string) => void;
  /** Show a download progress bar (only drawn when stderr is a TTY). */
  progress?: boolean;
  /** Ctrl-C: downloads, archive reads and image decoding stop at once, leaving nothing behind. */
  signal?: AbortSignal;
  /** Download deadline and minimum rate (default: from the environment, see download.ts). */
  download?: DownloadLimits;
}

export interface DownloadLimits {
  /** The whole download, connection included, must finish within this (ms). */
  deadlineMs: number;
  /** Fewer bytes than this per second, averaged over `rateWindowMs`, gives up. */
  minBytesPerSecond: number;
  rateWindowMs: number;
}

/** What a registry loader returns: the source's own splits, before `limit` and `validationSplit`. */
export type SourceDataset = Omit<LoadedDataset, 'validation'>;
