import type { Static } from '@sinclair/typebox';
import type { DeepReadonly } from '../util/deep-readonly';
import type { DatasetSchema } from './registry';

/** The data pipeline's contract with the experiment loader and the training loop. */

/**
 * The experiment's `dataset` section after defaults, as the frozen resolved
 * experiment holds it: the type of the schema registry.ts assembles from the
 * dataset entries. An interface, so the entries can take it as a parameter
 * while the schema is being assembled from them.
 */
export interface DatasetConfig extends DeepReadonly<Static<typeof DatasetSchema>> {}
export type DatasetName = DatasetConfig['name'];
export type NormalizeConfig = DatasetConfig['normalize'];
export type AugmentConfig = DatasetConfig['augment'];

/** What the model must fit, read from a dataset's files before a run folder exists (data/probe.ts). */
export interface DataProbe {
  /** Where the classes were found, for messages. */
  where: string;
  shape: [number, number, number];
  classes: string[];
  /** A split without a folder for some class (an empty one is an error already). */
  warnings: string[];
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
