import { DataError } from '../errors';
import { createRng, deriveSeed } from '../util/random';
import type { AugmentConfig, NormalizeConfig, Split } from './types';

/**
 * The batch pipeline: pixels stay uint8 in memory and become float32 one
 * batch at a time (CIFAR-10's train set: 150 MB as bytes, 600 MB as floats).
 * Shuffling and augmentation draw from streams derived from (seed, epoch), so
 * an epoch's batches are the same whenever it is replayed (e.g. on resume).
 */

export interface BatchOptions {
  batchSize: number;
  epoch: number;
  seed: number;
  shuffle: boolean;
  normalize: NormalizeConfig;
  augment?: AugmentConfig;
  /** 'last' drops a final batch smaller than batchSize. Default 'none'. */
  drop?: 'none' | 'last';
  /**
   * Reuse this many x arrays in turn instead of a fresh one per batch: batch b's x is
   * overwritten by batch b + recycle. For a consumer done with each batch before it takes
   * `recycle - 1` more (the training loop, reading one batch ahead). Why: a fresh 393 KB
   * array per CIFAR batch is a fresh zeroed mapping from the system (page faults) and garbage
   * for the collector, as long as the conversion itself.
   */
  recycle?: number;
}

export interface Batch {
  /** size*h*w*c float32, NHWC; a fresh array per batch (tensors may keep it) unless BatchOptions.recycle. */
  x: Float32Array;
  /** Class indices. */
  y: Uint8Array;
  size: number;
}

/** Batches an epoch yields. */
export function batchCount(n: number, batchSize: number, drop: 'none' | 'last' = 'none'): number {
  return drop === 'last' ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** The example order of one epoch: identity, or a seeded permutation. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (shuffle) createRng(deriveSeed(seed, 'shuffle', epoch)).shuffle(order);
  return order;
}

/**
 * lut[c * 256 + v] = the float for byte v in channel c: v/255 ('scale', as
 * torchvision's ToTensor), or (v/255 - mean[c]) / std[c] ('standardize').
 */
export function normalizationTable(normalize: NormalizeConfig, channels: number): Float32Array {
  const lut = new Float32Array(channels * 256);
  const pick = (values: readonly number[], what: string, c: number) => {
    if (values.length !== 1 && values.length !== channels) {
      throw new DataError(
        `dataset.normalize.${what} has ${values.length} values but the images have ${channels} channel${channels === 1 ? '' : 's'}`,
      );
    }
    return values.length === 1 ? values[0] : values[c];
  };
  for (let c = 0; c < channels; c++) {
    const mean = normalize.type === 'standardize' ? pick(normalize.mean, 'mean', c) : 0;
    const std = normalize.type === 'standardize' ? pick(normalize.std, 'std', c) : 1;
    if (std === 0) throw new DataError('dataset.normalize.std must not be 0');
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean) / std;
  }
  return lut;
}

export function* batches(split: Split, shape: [number, number, number], opts: BatchOptions): Generator<Batch> {
  const [h, w, c] = shape;
  const sample = h * w * c;
  const { batchSize } = opts;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const lut = normalizationTable(opts.normalize, c);
  const order = epochOrder(split.n, opts.seed, opts.epoch, opts.shuffle);
  const padding = opts.augment?.randomCrop?.padding ?? 0;
  const crop = opts.augment?.randomCrop !== undefined && padding > 0;
  const flip = opts.augment?.horizontalFlip === true;
  const rng = crop || flip ? createRng(deriveSeed(opts.seed, 'augment', opts.epoch)) : undefined;
  const count = batchCount(split.n, batchSize, opts.drop);
  const recycled: Float32Array[] = [];

  for (let b = 0; b < count; b++) {
    const start = b * batchSize;
    const size = Math.min(batchSize, split.n - start);
    const x = opts.recycle ? xArray(recycled, b % opts.recycle, size * sample) : new Float32Array(size * sample);
    const y = new Uint8Array(size);
    for (let k = 0; k < size; k++) {
      const i = order[start + k];
      y[k] = split.y[i];
      const src = i * sample;
      const dst = k * sample;
      if (!rng) {
        convertPlain(split.x, src, x, dst, sample, c, lut);
        continue;
      }
      // Draw order per example is fixed: crop offsets, then the flip coin.
      const dy = crop ? rng.int(2 * padding + 1) - padding : 0;
      const dx = crop ? rng.int(2 * padding + 1) - padding : 0;
      const mirrored = flip ? rng.next() < 0.5 : false;
      convertAugmented(split.x, src, x, dst, h, w, c, lut, dy, dx, mirrored);
    }
    yield { x, y, size };
  }
}

/** Array `k` of a recycling batcher, its first `length` values (every one of them is then written). */
function xArray(recycled: Float32Array[], k: number, length: number): Float32Array {
  if (!recycled[k] || recycled[k].length < length) recycled[k] = new Float32Array(length);
  return recycled[k].length === length ? recycled[k] : recycled[k].subarray(0, length);
}

function convertPlain(
  src: Uint8Array,
  from: number,
  out: Float32Array,
  to: number,
  length: number,
  c: number,
  lut: Float32Array,
): void {
  if (c === 1) {
    for (let j = 0; j < length; j++) out[to + j] = lut[src[from + j]];
    return;
  }
  if (c === 3) {
    for (let j = 0; j < length; j += 3) {
      out[to + j] = lut[src[from + j]];
      out[to + j + 1] = lut[256 + src[from + j + 1]];
      out[to + j + 2] = lut[512 + src[from + j + 2]];
    }
    return;
  }
  for (let j = 0; j < length; j++) out[to + j] = lut[(j % c) * 256 + src[from + j]];
}

/**
 * out(r, col) = in(r + dy, col' + dx) where col' mirrors col when flipped;
 * outside the image it is the value of a 0 byte (zero padding before
 * normalization, as torchvision's RandomCrop(padding) then ToTensor).
 */
function convertAugmented(
  src: Uint8Array,
  from: number,
  out: Float32Array,
  to: number,
  h: number,
  w: number,
  c: number,
  lut: Float32Array,
  dy: number,
  dx: number,
  mirrored: boolean,
): void {
  for (let r = 0; r < h; r++) {
    const sr = r + dy;
    const rowOut = to + r * w * c;
    if (sr < 0 || sr >= h) {
      for (let col = 0; col < w; col++) for (let k = 0; k < c; k++) out[rowOut + col * c + k] = lut[k * 256];
      continue;
    }
    const rowIn = from + sr * w * c;
    for (let col = 0; col < w; col++) {
      const sc = (mirrored ? w - 1 - col : col) + dx;
      const o = rowOut + col * c;
      if (sc < 0 || sc >= w) {
        for (let k = 0; k < c; k++) out[o + k] = lut[k * 256];
      } else {
        const s = rowIn + sc * c;
        for (let k = 0; k < c; k++) out[o + k] = lut[k * 256 + src[s + k]];
      }
    }
  }
}
