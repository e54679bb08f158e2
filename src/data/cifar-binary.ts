import { DataError } from '../errors';

/**
 * The official CIFAR-10 binary format: records of 1 label byte + 3,072 pixel
 * bytes (1,024 R, then 1,024 G, then 1,024 B, each 32x32 row-major).
 */

export const CIFAR_PIXELS = 32 * 32;
export const CIFAR_RECORD = 1 + 3 * CIFAR_PIXELS;
export const CIFAR_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
];
export const CIFAR_TEST_FILES = ['test_batch.bin'];
export const CIFAR_BINARY_FILES = [...CIFAR_TRAIN_FILES, ...CIFAR_TEST_FILES];

const fmt = (n: number) => n.toLocaleString('en-US');

/** Records in a batch file of `byteLength` bytes; throws DataError naming `file` when it is not whole records. */
export function cifarRecordCount(byteLength: number, file: string): number {
  if (byteLength === 0 || byteLength % CIFAR_RECORD !== 0) {
    throw new DataError(
      `${file}: ${fmt(byteLength)} bytes is not a multiple of ${fmt(CIFAR_RECORD)} (1 label byte + 3,072 pixel bytes per image); the file is truncated or not a CIFAR-10 binary batch`,
    );
  }
  return byteLength / CIFAR_RECORD;
}

/**
 * Decode the records of one batch file into `x` (NHWC uint8) and `y` from
 * example `offset` on; returns the number of records. Labels are checked.
 */
export function decodeCifarRecords(
  buf: Uint8Array,
  file: string,
  x: Uint8Array,
  y: Uint8Array,
  offset: number,
  numClasses: number,
): number {
  const n = cifarRecordCount(buf.length, file);
  for (let r = 0; r < n; r++) {
    const src = r * CIFAR_RECORD;
    const label = buf[src];
    if (label >= numClasses) {
      throw new DataError(
        `${file}: record ${fmt(r + 1)} of ${fmt(n)} has label ${label}, outside the ${numClasses} classes (0-${numClasses - 1})`,
      );
    }
    y[offset + r] = label;
    // Planar RGB -> interleaved HWC.
    let dst = (offset + r) * 3 * CIFAR_PIXELS;
    const red = src + 1;
    const green = red + CIFAR_PIXELS;
    const blue = green + CIFAR_PIXELS;
    for (let p = 0; p < CIFAR_PIXELS; p++) {
      x[dst++] = buf[red + p];
      x[dst++] = buf[green + p];
      x[dst++] = buf[blue + p];
    }
  }
  return n;
}
