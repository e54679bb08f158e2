import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors';
import {
  CIFAR_BINARY_FILES,
  CIFAR_PIXELS,
  CIFAR_TEST_FILES,
  CIFAR_TRAIN_FILES,
  cifarRecordCount,
  decodeCifarRecords,
} from './cifar-binary';
import type { DecodeOptions } from './decode-pool';
import { DownloadError, download, splitUrlChecksums } from './download';
import { Fingerprint } from './fingerprint';
import { loadImageFolder, scanImageFolder } from './image-folder';
import { claimPartialDir, finishPartialDir } from './partial-dir';
import type { DataHome } from './paths';
import type { FixedInfo } from './registry';
import { extractTarGz, readTarGz } from './tar';
import type { DownloadLimits, SourceDataset, Split } from './types';

/**
 * CIFAR-10 from whichever layout its home holds: the official binary files
 * (in the home or in cifar-10-batches-bin/), the official archive, or image
 * folders. With none of them, the official archive is downloaded, verified
 * and extracted atomically into <home>/cifar-10-batches-bin/.
 */

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_ARCHIVE = 'cifar-10-binary.tar.gz';
export const CIFAR10_BATCH_DIR = 'cifar-10-batches-bin';

/**
 * What the official archive may hold: six batches of 30,730,000 bytes and a small text file
 * (about 184 MB in all). An archive declaring more is refused before it is read.
 */
export const CIFAR_ARCHIVE_LIMITS = { maxEntryBytes: 64 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 };

export type CifarLayout =
  | { format: 'cifar-binary'; dir: string }
  | { format: 'cifar-archive'; file: string }
  | { format: 'image-folder'; dir: string };

/** Which layout the home holds, or undefined when it holds none. */
export function detectCifarLayout(home: string): CifarLayout | undefined {
  for (const dir of [home, path.join(home, CIFAR10_BATCH_DIR)]) {
    if (CIFAR_BINARY_FILES.some((f) => fs.existsSync(path.join(dir, f)))) return { format: 'cifar-binary', dir };
  }
  const archive = path.join(home, CIFAR10_ARCHIVE);
  if (fs.existsSync(archive)) return { format: 'cifar-archive', file: archive };
  if (fs.existsSync(path.join(home, 'train'))) return { format: 'image-folder', dir: home };
  return undefined;
}

export interface CifarLoadOptions {
  home: DataHome;
  url?: string;
  cacheDir: string;
  progress?: boolean;
  log?: (msg: string) => void;
  decode?: DecodeOptions;
  /** Ctrl-C: a download or archive read stops at once. */
  signal?: AbortSignal;
  download?: DownloadLimits;
}

/** CIFAR-10 as `info` (its registry entry) describes it: its class names and image shape. */
export async function loadCifar10(info: FixedInfo, opts: CifarLoadOptions): Promise<SourceDataset> {
  const { home } = opts.home;
  const layout = detectCifarLayout(home);
  if (!layout) return downloadCifar10(info, opts);
  switch (layout.format) {
    case 'cifar-binary':
      return readCifarBinaryDir(info, layout.dir, home, false);
    case 'cifar-archive':
      return readCifarArchive(info, layout.file, home, opts.signal);
    case 'image-folder':
      return readCifarImages(info, layout.dir, opts);
  }
}

/** Records from named batch buffers (the five train files, then the test file) into NHWC arrays. */
function decodeBatches(
  numClasses: number,
  names: string[],
  get: (name: string) => Uint8Array,
  size: (name: string) => number,
  label: (name: string) => string,
): Split {
  const counts = names.map((n) => cifarRecordCount(size(n), label(n)));
  const total = counts.reduce((a, b) => a + b, 0);
  const x = new Uint8Array(total * 3 * CIFAR_PIXELS);
  const y = new Uint8Array(total);
  let offset = 0;
  for (const name of names) offset += decodeCifarRecords(get(name), label(name), x, y, offset, numClasses);
  return { x, y, n: total };
}

function cifarDataset(
  info: FixedInfo,
  train: Split,
  test: Split,
  format: 'cifar-binary' | 'cifar-archive',
  where: string,
  fingerprint: string,
  downloaded: boolean,
): SourceDataset {
  return {
    name: 'cifar10',
    shape: [info.shape[0], info.shape[1], info.shape[2]],
    classes: [...info.classes],
    train,
    test,
    source: { format, path: where, downloaded },
    fingerprint,
    cache: 'none',
  };
}

export function readCifarBinaryDir(info: FixedInfo, dir: string, home: string, downloaded: boolean): SourceDataset {
  const missing = CIFAR_BINARY_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length) throw new DataError(`${dir}: incomplete CIFAR-10 binary files: missing ${missing.join(', ')}`);
  const fp = new Fingerprint();
  const file = (name: string) => path.join(dir, name);
  const get = (name: string) => {
    const buf = fs.readFileSync(file(name));
    fp.addContent(path.relative(home, file(name)).split(path.sep).join('/'), buf);
    return buf;
  };
  const size = (name: string) => fs.statSync(file(name)).size;
  const train = decodeBatches(info.classes.length, CIFAR_TRAIN_FILES, get, size, file);
  const test = decodeBatches(info.classes.length, CIFAR_TEST_FILES, get, size, file);
  return cifarDataset(info, train, test, 'cifar-binary', dir, fp.digest(), downloaded);
}

/** Read the batches straight out of the archive (no extraction into the user's folder). */
export async function readCifarArchive(
  info: FixedInfo,
  archive: string,
  home: string,
  signal?: AbortSignal,
): Promise<SourceDataset> {
  const members = new Map<string, Buffer>();
  const hash = new Fingerprint();
  const raw = createHash('sha256');
  await readTarGz(
    archive,
    (name) => CIFAR_BINARY_FILES.includes(path.posix.basename(name)),
    ({ name, data }) => void members.set(path.posix.basename(name), data),
    (chunk) => void raw.update(chunk),
    { ...CIFAR_ARCHIVE_LIMITS, signal },
  );
  const missing = CIFAR_BINARY_FILES.filter((f) => !members.has(f));
  if (missing.length) throw new DataError(`${archive}: not a CIFAR-10 binary archive: missing ${missing.join(', ')}`);
  hash.addDigest(path.relative(home, archive).split(path.sep).join('/'), raw.digest('hex'));
  const label = (name: string) => `${archive}:${CIFAR10_BATCH_DIR}/${name}`;
  const get = (name: string) => members.get(name)!;
  const size = (name: string) => members.get(name)!.length;
  const train = decodeBatches(info.classes.length, CIFAR_TRAIN_FILES, get, size, label);
  const test = decodeBatches(info.classes.length, CIFAR_TEST_FILES, get, size, label);
  return cifarDataset(info, train, test, 'cifar-archive', archive, hash.digest(), false);
}

async function readCifarImages(info: FixedInfo, dir: string, opts: CifarLoadOptions): Promise<SourceDataset> {
  const scan = scanImageFolder(dir, { classes: info.classes, classesFrom: 'CIFAR-10' });
  if (!scan.test)
    throw new DataError(`${dir}: no test/ folder (CIFAR-10 in image folders needs train/<class>/ and test/<class>/)`);
  if (scan.ignored) opts.log?.(`cifar10: ignored ${scan.ignored} files that are not .jpg, .jpeg or .png`);
  const data = await loadImageFolder(scan, {
    name: 'cifar10',
    size: { height: info.shape[0], width: info.shape[1], resize: false },
    channels: info.shape[2],
    mismatchHint: `; CIFAR-10 images are ${info.shape[1]}x${info.shape[0]}`,
    cacheDir: opts.cacheDir,
    log: opts.log,
    decode: opts.decode,
  });
  return {
    name: 'cifar10',
    shape: data.shape,
    classes: [...info.classes],
    train: data.train,
    test: data.test,
    source: { format: 'image-folder', path: dir, downloaded: false },
    fingerprint: data.fingerprint,
    cache: data.cache,
  };
}

async function downloadCifar10(info: FixedInfo, opts: CifarLoadOptions): Promise<SourceDataset> {
  const { home } = opts.home;
  const { url, md5 } = opts.url ? splitUrlChecksums(opts.url) : { url: CIFAR10_URL, md5: undefined };
  const partial = claimPartialDir(home);
  const extracted = path.join(partial.dir, 'extract');
  let ok = false;
  try {
    const archive = path.join(partial.dir, CIFAR10_ARCHIVE);
    opts.log?.(`cifar10: no data in ${home}; downloading ${url}`);
    await download({
      url,
      dest: archive,
      md5: md5?.[0] ?? CIFAR10_MD5,
      progress: opts.progress,
      signal: opts.signal,
      limits: opts.download,
    });
    // Extract into the partial dir and check every batch parses; only then move it into the home.
    await extractTarGz(archive, extracted, (name) => name.startsWith(`${CIFAR10_BATCH_DIR}/`), {
      ...CIFAR_ARCHIVE_LIMITS,
      signal: opts.signal,
    });
    const staged = path.join(extracted, CIFAR10_BATCH_DIR);
    const data = readCifarBinaryDir(info, staged, extracted, true);
    const final = path.join(home, CIFAR10_BATCH_DIR);
    fs.renameSync(staged, final);
    ok = true;
    return { ...data, source: { ...data.source, path: final } };
  } catch (err) {
    if (err instanceof DownloadError) throw new DataError(offlineMessage(opts.home, err.message));
    // Names inside the (now removed) partial dir would mean nothing to the user: name the URL.
    if (err instanceof DataError) {
      const detail = err.message.split(`${extracted}${path.sep}`).join('').split(`${partial.dir}${path.sep}`).join('');
      throw new DataError(`cifar10: the archive downloaded from ${url} is unusable, nothing was written: ${detail}`);
    }
    throw err;
  } finally {
    finishPartialDir(partial, ok);
  }
}

function offlineMessage(where: DataHome, reason: string): string {
  const lines = [
    `cifar10: no CIFAR-10 data in ${where.home} and the download failed: ${reason}`,
    `Nothing was written. To work offline, put one of these in ${where.home}:`,
    `  - ${CIFAR10_ARCHIVE}, the official archive (MD5 ${CIFAR10_MD5})`,
    `  - its extracted files ${CIFAR_BINARY_FILES.join(', ')} (directly or in ${CIFAR10_BATCH_DIR}/)`,
    `  - the images as train/<class>/*.jpg|png and test/<class>/*.jpg|png`,
  ];
  if (where.source !== 'dataset.path')
    lines.push(`or point --data-dir or PIPELINE_DATA_DIR at a directory holding cifar10/.`);
  return lines.join('\n');
}
