import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors';
import { decodeAll, type DecodeOptions } from './decode-pool';
import { cacheFile, readCache, writeCache, type CachedImages } from './decoded-cache';
import { Fingerprint } from './fingerprint';
import { type DecodedImage, decodeImage, DECODERS, type ImageTarget } from './image-decode';
import type { Split } from './types';

/**
 * Image-folder datasets: <root>/train/<class>/*.jpg|png and optionally
 * <root>/test/<class>/*. Used by `imageFolder` and by `cifar10` when its home
 * holds images. Decoding runs on worker threads; the decoded arrays are
 * cached on disk, keyed by every file's path, size and mtime.
 */

export interface ImageFile {
  /** Path relative to the root, '/'-separated: named in the fingerprint. */
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
  label: number;
}

export interface FolderScan {
  root: string;
  classes: string[];
  train: ImageFile[];
  /** undefined when there is no test/ folder. */
  test?: ImageFile[];
  /** Files in class folders that are not .jpg/.jpeg/.png (reported, not read). */
  ignored: number;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Nothing there (or a dangling or looping link) is not a folder; any other error (permission denied...) is reported. */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch (err) {
    if (NOT_THERE.has(String((err as NodeJS.ErrnoException).code))) return false;
    throw err;
  }
}

function subfolders(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) => !d.name.startsWith('.') && (d.isDirectory() || (d.isSymbolicLink() && isDir(path.join(dir, d.name)))),
    )
    .map((d) => d.name)
    .sort(byName);
}

export interface ScanOptions {
  /** A fixed class list (dataset.classes, or CIFAR-10's); default: sorted train/ folder names. */
  classes?: readonly string[];
  /** Where a fixed class list comes from, for messages: 'dataset.classes', 'CIFAR-10'. */
  classesFrom?: string;
}

/** List the images of a folder dataset, checking its layout. Throws DataError naming the folder. */
export function scanImageFolder(root: string, opts: ScanOptions = {}): FolderScan {
  if (!isDir(root)) throw new DataError(`${root}: no such directory`);
  const trainDir = path.join(root, 'train');
  if (!isDir(trainDir)) {
    throw new DataError(
      `${root}: no train/ folder; an image folder dataset needs train/<class>/ folders of .jpg, .jpeg or .png images (and test/<class>/ folders, or dataset.validationSplit)`,
    );
  }
  const folders = subfolders(trainDir);
  if (folders.length === 0)
    throw new DataError(`${trainDir}: no class folders (expected train/<class>/ folders of images)`);
  const from = opts.classesFrom ?? 'dataset.classes';
  const classes = opts.classes ? [...opts.classes] : folders;
  const index = new Map(classes.map((c, i) => [c, i]));
  if (index.size !== classes.length) throw new DataError(`${from} lists a class twice: ${classes.join(', ')}`);
  for (const c of classes) {
    if (!folders.includes(c))
      throw new DataError(`${trainDir}: no folder for class "${c}" (classes from ${from}: ${classes.join(', ')})`);
  }

  let ignored = 0;
  const listSplit = (splitDir: string, split: string): ImageFile[] => {
    const files: ImageFile[] = [];
    for (const folder of subfolders(splitDir)) {
      const label = index.get(folder);
      const classDir = path.join(splitDir, folder);
      if (label === undefined) {
        throw new DataError(
          `${classDir}: folder "${folder}" is not one of the ${classes.length} classes (${classes.join(', ')})`,
        );
      }
      // Plain names + one stat each: the stat says file or not, and gives the size and mtime the cache key needs.
      const names = fs
        .readdirSync(classDir)
        .filter((n) => !n.startsWith('.'))
        .sort(byName);
      let images = 0;
      for (const name of names) {
        const dot = name.lastIndexOf('.');
        if (dot === -1 || !IMAGE_EXT.has(name.slice(dot).toLowerCase())) {
          ignored++;
          continue;
        }
        const abs = classDir + path.sep + name;
        const st = fs.statSync(abs);
        if (!st.isFile()) continue;
        files.push({ rel: `${split}/${folder}/${name}`, abs, size: st.size, mtimeMs: st.mtimeMs, label });
        images++;
      }
      // A class nobody can learn is an error; one the test split lacks is a warning (probe.ts), like a missing folder.
      if (images === 0 && split === 'train')
        throw new DataError(`${classDir}: empty class folder (no .jpg, .jpeg or .png images)`);
    }
    return files;
  };

  const train = listSplit(trainDir, 'train');
  const testDir = path.join(root, 'test');
  const test = isDir(testDir) ? listSplit(testDir, 'test') : undefined;
  return { root, classes, train, test, ignored };
}

export interface FolderLoadOptions {
  /** Dataset name: names the cache file. */
  name: string;
  /** Fixed output size; undefined = the first training image's size (then all must match). */
  size?: { height: number; width: number; resize: boolean };
  channels: 1 | 3;
  /** Appended to a size-mismatch message. */
  mismatchHint?: string;
  cacheDir: string;
  log?: (msg: string) => void;
  decode?: DecodeOptions;
}

export interface FolderData {
  shape: [number, number, number];
  train: Split;
  test: Split;
  fingerprint: string;
  cache: 'hit' | 'miss';
}

const CACHE_VERSION = 1;

/** Decode (or read from the cache) every image the scan found. */
export async function loadImageFolder(scan: FolderScan, opts: FolderLoadOptions): Promise<FolderData> {
  const test = scan.test ?? [];
  const all = [...scan.train, ...test];
  const target = resolveTarget(scan, opts);
  const identity = {
    root: scan.root,
    classes: scan.classes,
    target: { ...target, reference: undefined, mismatchHint: undefined },
  };
  const key = cacheKey(identity, all);
  const file = cacheFile(opts.cacheDir, opts.name, identity);

  const cached = readCacheOrLog(file, key, opts);
  if (cached) {
    opts.log?.(`${opts.name}: decoded images from cache ${file}`);
    return {
      shape: cached.header.shape,
      train: cached.train,
      test: cached.test,
      fingerprint: cached.header.fingerprint,
      cache: 'hit',
    };
  }

  const sample = target.height * target.width * target.channels;
  const pixels = allocatePixels(all.length, target, scan.root);
  const digests = new SharedArrayBuffer(all.length * 32);
  const started = Date.now();
  opts.log?.(`${opts.name}: decoding ${all.length} images`);
  await decodeAll({ files: all.map((f) => f.abs), target, pixels, digests }, opts.decode);
  opts.log?.(`${opts.name}: decoded ${all.length} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const fp = new Fingerprint();
  const digestBytes = Buffer.from(digests);
  all.forEach((f, i) => fp.addDigest(f.rel, digestBytes.toString('hex', i * 32, i * 32 + 32)));
  const x = new Uint8Array(pixels);
  const labels = (files: ImageFile[]) => Uint8Array.from(files, (f) => f.label);
  const trainSplit: Split = {
    x: x.subarray(0, scan.train.length * sample),
    y: labels(scan.train),
    n: scan.train.length,
  };
  const testSplit: Split = { x: x.subarray(scan.train.length * sample), y: labels(test), n: test.length };
  const shape: [number, number, number] = [target.height, target.width, target.channels];
  const fingerprint = fp.digest();
  try {
    writeCache(
      file,
      { key, shape, classes: scan.classes, fingerprint, train: trainSplit.n, test: testSplit.n },
      trainSplit,
      testSplit,
    );
  } catch (err) {
    // A read-only or full cache dir slows the next load; it does not fail this one.
    opts.log?.(`${opts.name}: could not write the decoded-image cache ${file}: ${(err as Error).message}`);
  }
  return { shape, train: trainSplit, test: testSplit, fingerprint, cache: 'miss' };
}

/** The cache entry, if readable; an unreadable one is decoded afresh (and said so), never a failed load. */
function readCacheOrLog(file: string, key: string, opts: FolderLoadOptions): CachedImages | undefined {
  try {
    return readCache(file, key);
  } catch (err) {
    opts.log?.(`${opts.name}: could not read the decoded-image cache ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

/** All decoded images live in one shared buffer; say plainly when it cannot exist. */
function allocatePixels(count: number, target: ImageTarget, root: string): SharedArrayBuffer {
  const bytes = count * target.height * target.width * target.channels;
  try {
    return new SharedArrayBuffer(bytes);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err; // RangeError: more memory than an array buffer may have
    const gb = (bytes / 2 ** 30).toFixed(1);
    throw new DataError(
      `${root}: ${count} images of ${target.width}x${target.height}x${target.channels} need ${gb} GB of memory as bytes; set a smaller dataset.imageSize or use fewer images`,
    );
  }
}

function resolveTarget(scan: FolderScan, opts: FolderLoadOptions): ImageTarget {
  if (opts.size) return { ...opts.size, channels: opts.channels, mismatchHint: opts.mismatchHint };
  // No fixed size: the first training image sets it, and every other image must match.
  const first = scan.train[0];
  let img: DecodedImage;
  try {
    img = decodeImage(fs.readFileSync(first.abs));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DataError(`${first.abs}: ${e.code ? `cannot read: ${e.message}` : e.message}`);
  }
  return {
    height: img.height,
    width: img.width,
    channels: opts.channels,
    resize: false,
    reference: first.rel,
    mismatchHint: opts.mismatchHint,
  };
}

export function cacheKey(
  identity: unknown,
  files: ReadonlyArray<Pick<ImageFile, 'rel' | 'size' | 'mtimeMs'>>,
  decoders: object = DECODERS,
): string {
  // One string, one update: 60,000 small update() calls cost more than the hashing.
  const lines = files.map((f) => `${f.rel}\u0000${f.size}\u0000${f.mtimeMs}\n`).join('');
  return createHash('sha256')
    .update(JSON.stringify({ v: CACHE_VERSION, decoders, identity }))
    .update('\n')
    .update(lines)
    .digest('hex');
}
