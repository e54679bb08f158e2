import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll } from '../util/atomic';
import type { Split } from './types';

/**
 * On-disk cache of decoded image folders, so a second load reads one file
 * instead of decoding every image. File layout:
 *   "PLDCACH1" | u32 LE header length | header JSON | zero padding to 8 | train.x | train.y | test.x | test.y
 * The header holds the key (a hash of every source path, size and mtime plus
 * the decode options); a different key, a short file or a bad header is a
 * miss. Files are written to a temp name and renamed, so a reader never sees
 * half of one and a failed load leaves nothing behind.
 */

const MAGIC = 'PLDCACH1';

export interface CacheHeader {
  key: string;
  shape: [number, number, number];
  classes: string[];
  fingerprint: string;
  train: number;
  test: number;
}

export interface CachedImages {
  header: CacheHeader;
  train: Split;
  test: Split;
}

/** One cache file per (dataset, folder, decode options): a changed folder overwrites its own entry. */
export function cacheFile(cacheDir: string, name: string, identity: unknown): string {
  const id = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'decoded', `${name}-${id}.u8`);
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function readExactly(fd: number, into: Uint8Array, position: number): boolean {
  let done = 0;
  while (done < into.length) {
    const got = fs.readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (got === 0) return false;
    done += got;
  }
  return true;
}

/**
 * The cached arrays when `file` exists with exactly this key; undefined when it
 * is missing, damaged or for another key. Throws when it cannot be read.
 */
export function readCache(file: string, key: string): CachedImages | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    const head = Buffer.alloc(12);
    if (!readExactly(fd, head, 0) || head.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const headerLength = head.readUInt32LE(8);
    if (12 + headerLength > fileSize) return undefined;
    const headerBytes = Buffer.alloc(headerLength);
    if (!readExactly(fd, headerBytes, 12)) return undefined;
    let header: CacheHeader;
    try {
      header = JSON.parse(headerBytes.toString('utf8')) as CacheHeader;
    } catch {
      return undefined; // a damaged header: a miss, and the entry is rewritten
    }
    if (header.key !== key) return undefined;
    const sample = header.shape[0] * header.shape[1] * header.shape[2];
    const payload = (header.train + header.test) * (sample + 1);
    const dataOffset = align8(12 + headerLength);
    if (fileSize !== dataOffset + payload) return undefined;
    const bytes = new Uint8Array(payload);
    if (!readExactly(fd, bytes, dataOffset)) return undefined;
    let at = 0;
    const take = (n: number) => bytes.subarray(at, (at += n));
    const train: Split = { x: take(header.train * sample), y: take(header.train), n: header.train };
    const test: Split = { x: take(header.test * sample), y: take(header.test), n: header.test };
    return { header, train, test };
  } finally {
    fs.closeSync(fd);
  }
}

/** Temp files of writers that were killed mid-write (their pid is gone) only waste space. */
function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = /^\..*\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/** Write the cache entry atomically (temp file in the same directory, fsync, rename). */
export function writeCache(file: string, header: CacheHeader, train: Split, test: Split): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  removeStaleTemps(path.dirname(file));
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(align8(12 + headerBytes.length));
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(prefix, 12);
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of [prefix, train.x, train.y, test.x, test.y]) writeAll(fd, part, file);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // Already closed (the error came after closeSync): the write's own error is what to report.
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
