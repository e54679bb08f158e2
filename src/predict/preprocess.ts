import { decodeImage, resizeBilinear, writeChannels } from '../data/image-decode';

/**
 * Inputs to pixels, the way the data pipeline makes them for training: the same decoders
 * (libjpeg-turbo, pngjs), the same bilinear resize dataset.imageSize uses and the same
 * channel conversion, into uint8 HWC slots of a batch. Normalization happens later, in the
 * data pipeline's batches() (predictor.ts), exactly as for training and eval.
 */

export interface InputSize {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** What was done to fit an image to the input: undefined when it already had the input size. */
export interface ResizeNote {
  from: [width: number, height: number];
  to: [width: number, height: number];
  method: 'bilinear';
}

export function formatResize(r: ResizeNote | undefined): string {
  return r ? `resized ${r.from[0]}x${r.from[1]} -> ${r.to[0]}x${r.to[1]} (${r.method})` : '';
}

/**
 * Decodes a JPEG or PNG into image slot `index` of `out`. Throws Error with the decoder's
 * message ('not a JPEG or PNG file', 'cannot decode JPEG: corrupt or truncated image data', ...).
 */
export function imageInto(bytes: Uint8Array, size: InputSize, out: Uint8Array, index: number): ResizeNote | undefined {
  let img = decodeImage(bytes);
  let note: ResizeNote | undefined;
  if (img.width !== size.width || img.height !== size.height) {
    note = { from: [img.width, img.height], to: [size.width, size.height], method: 'bilinear' };
    img = resizeBilinear(img, size.height, size.width);
  }
  writeChannels(img, size.channels, out, index * size.height * size.width * size.channels);
  return note;
}

/**
 * A nested pixel array [height][width][channels] (or [height][width] for one channel) of
 * 0-255 values into slot `index`: the image before normalization, at the input size.
 * Throws Error saying which index is wrong.
 */
export function pixelArrayInto(value: unknown, size: InputSize, out: Uint8Array, index: number): void {
  const { height, width, channels } = size;
  const expected =
    channels === 1 ? `[${height}][${width}] or [${height}][${width}][1]` : `[${height}][${width}][${channels}]`;
  const bad = (where: string, what: string) =>
    new Error(`pixel array${where}: ${what}; expected ${expected} numbers 0-255`);
  if (!Array.isArray(value) || value.length !== height)
    throw bad('', `has ${Array.isArray(value) ? value.length : 'no'} rows`);
  let o = index * height * width * channels;
  for (let y = 0; y < height; y++) {
    const row = value[y] as unknown;
    if (!Array.isArray(row) || row.length !== width)
      throw bad(`[${y}]`, `has ${Array.isArray(row) ? row.length : 'no'} columns`);
    for (let x = 0; x < width; x++) {
      const px = row[x] as unknown;
      const values = typeof px === 'number' && channels === 1 ? [px] : px;
      if (!Array.isArray(values) || values.length !== channels) throw bad(`[${y}][${x}]`, `is ${JSON.stringify(px)}`);
      for (let c = 0; c < channels; c++) {
        const v = values[c] as unknown;
        if (typeof v !== 'number' || !(v >= 0 && v <= 255)) throw bad(`[${y}][${x}][${c}]`, `is ${JSON.stringify(v)}`);
        out[o++] = Math.round(v);
      }
    }
  }
}
