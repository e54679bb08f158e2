import * as zlib from 'node:zlib';
import { DataError } from '../errors';

/**
 * IDX files (MNIST, Fashion-MNIST): big-endian header `0 0 <type> <ndims>`,
 * one u32 per dimension, then the data. Only unsigned bytes (type 0x08) occur
 * in these datasets.
 */

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Gunzip when the bytes start with the gzip magic; DataError naming `file` when it is damaged. */
export function maybeGunzip(buf: Buffer, file: string): Buffer {
  if (buf.length < 2 || buf[0] !== 0x1f || buf[1] !== 0x8b) return buf;
  try {
    return zlib.gunzipSync(buf);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message))
      throw new DataError(`${file}: truncated gzip file (${e.message})`);
    throw new DataError(`${file}: corrupt gzip file (${e.message})`);
  }
}

export function parseIdx(buf: Uint8Array, file: string, expectedDims: number): IdxArray {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new DataError(`${file}: not an IDX file (bad magic number)`);
  if (buf[2] !== 0x08)
    throw new DataError(
      `${file}: IDX data type 0x${buf[2].toString(16).padStart(2, '0')} is not unsigned bytes (0x08)`,
    );
  const ndims = buf[3];
  if (ndims !== expectedDims)
    throw new DataError(`${file}: IDX file has ${ndims} dimensions, expected ${expectedDims}`);
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) throw new DataError(`${file}: IDX header is truncated (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (buf.length !== expected) {
    throw new DataError(
      `${file}: IDX header says ${dims.map(fmt).join(' x ')} (${fmt(expected)} bytes with the header) but the file holds ${fmt(buf.length)} bytes`,
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}
