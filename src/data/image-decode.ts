import { PNG } from 'pngjs';
import { decodeJpegRgb } from './jpeg-turbo';

/**
 * Decoding one JPEG or PNG into the dataset's uint8 HWC layout. Pure
 * functions shared by the decode workers and the main thread; errors are
 * plain Errors whose message the caller prefixes with the file's name.
 */

/**
 * What turns image files into pixels, for the decoded-data cache key (image-folder.ts): another
 * decoder or version gives other pixels, so it must miss the cache. (When JPEG decoding moved
 * from jpeg-js to libjpeg-turbo the key stayed the same, and caches written before served
 * jpeg-js's pixels, up to 93 levels off libjpeg-turbo's, to the new code.)
 */
export const DECODERS = {
  jpeg: `libjpeg-turbo (@cwasm/jpeg-turbo ${(require('@cwasm/jpeg-turbo/package.json') as { version: string }).version})`,
  png: `pngjs ${(require('pngjs/package.json') as { version: string }).version}`,
};

export interface DecodedImage {
  width: number;
  height: number;
  /** 1 grey, 3 RGB, 4 RGBA */
  channels: number;
  data: Uint8Array;
}

export interface ImageTarget {
  height: number;
  width: number;
  channels: 1 | 3;
  /** Resize images of another size (dataset.imageSize); otherwise a size mismatch is an error. */
  resize: boolean;
  /** The file that fixed the size, named when another image differs. */
  reference?: string;
  /** Appended to the size-mismatch message: what the user can do about it. */
  mismatchHint?: string;
}

export function sniffFormat(buf: Uint8Array): 'jpeg' | 'png' | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return 'png';
  return undefined;
}

export function decodeImage(buf: Uint8Array): DecodedImage {
  const format = sniffFormat(buf);
  if (format === 'jpeg') {
    const img = decodeJpegRgb(buf);
    return { width: img.width, height: img.height, channels: 3, data: img.data };
  }
  if (format === 'png') {
    let img: PNG;
    try {
      // pngjs always yields 8-bit RGBA (grey and palette images are expanded, 16-bit scaled down).
      img = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    } catch (err) {
      const message = (err as Error).message;
      // pngjs reports a file that ends early as pending reads on a finished stream.
      if (/read requests waiti?ng on finished stream|unexpected end/i.test(message))
        throw new Error('cannot decode PNG: the file is truncated');
      throw new Error(`cannot decode PNG: ${message}`);
    }
    return { width: img.width, height: img.height, channels: 4, data: img.data };
  }
  throw new Error('not a JPEG or PNG file');
}

/** Bilinear resize (half-pixel centres, as tf.image.resizeBilinear with halfPixelCenters). */
export function resizeBilinear(img: DecodedImage, height: number, width: number): DecodedImage {
  const { channels: c, data: src } = img;
  const out = new Uint8Array(height * width * c);
  const sy = img.height / height;
  const sx = img.width / width;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * img.width + x0) * c + k];
        const b = src[(y0 * img.width + x1) * c + k];
        const d = src[(y1 * img.width + x0) * c + k];
        const e = src[(y1 * img.width + x1) * c + k];
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        out[(y * width + x) * c + k] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return { width, height, channels: c, data: out };
}

/**
 * Write `img` into `out` at byte `offset` with the target's channels:
 * RGBA drops alpha, colour to grey uses ITU-R 601 luma (as PIL's 'L'), grey to RGB repeats.
 */
export function writeChannels(img: DecodedImage, channels: 1 | 3, out: Uint8Array, offset: number): void {
  const pixels = img.width * img.height;
  const src = img.data;
  const c = img.channels;
  if (channels === 3) {
    if (c === 3) {
      out.set(src.subarray(0, pixels * 3), offset);
      return;
    }
    for (let p = 0, o = offset; p < pixels; p++) {
      if (c === 1) {
        const v = src[p];
        out[o++] = v;
        out[o++] = v;
        out[o++] = v;
      } else {
        out[o++] = src[p * c];
        out[o++] = src[p * c + 1];
        out[o++] = src[p * c + 2];
      }
    }
    return;
  }
  if (c === 1) {
    out.set(src.subarray(0, pixels), offset);
    return;
  }
  for (let p = 0; p < pixels; p++) {
    const i = p * c;
    out[offset + p] = Math.round(0.299 * src[i] + 0.587 * src[i + 1] + 0.114 * src[i + 2]);
  }
}

/** Decode `buf` and place it, as the target says, at image slot `index` of `out`. */
export function decodeInto(buf: Uint8Array, target: ImageTarget, out: Uint8Array, index: number): void {
  let img = decodeImage(buf);
  if (img.width !== target.width || img.height !== target.height) {
    if (!target.resize) {
      const like = target.reference ? ` like ${target.reference}` : '';
      throw new Error(
        `image is ${img.width}x${img.height} pixels, expected ${target.width}x${target.height}${like}${target.mismatchHint ?? ''}`,
      );
    }
    img = resizeBilinear(img, target.height, target.width);
  }
  writeChannels(img, target.channels, out, index * target.height * target.width * target.channels);
}
