import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors';
import { DownloadError, download, splitUrlChecksums } from './download';
import { Fingerprint } from './fingerprint';
import { maybeGunzip, parseIdx } from './idx';
import { claimPartialDir, finishPartialDir } from './partial-dir';
import type { DataHome } from './paths';
import type { DownloadLimits, Split, SourceDataset } from './types';

/**
 * MNIST-style datasets (MNIST, Fashion-MNIST): four gzip IDX files. Looked
 * for in the home, then in system directories (Debian's dataset-fashion-mnist),
 * else downloaded from the official mirrors and checked against their MD5s.
 */

export const IDX_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

export interface IdxDatasetSpec {
  name: string;
  title: string;
  /** [28, 28, 1]: what `validate` checks the model against (the loader reads each file's own size). */
  shape: readonly [number, number, 1];
  classes: readonly string[];
  /** Examples in the official train and test files. */
  splits: { readonly train: number; readonly test: number };
  /** Directories a system package installs the files into. */
  systemDirs: string[];
  /** Base URLs tried in order; each serves `<file>.gz`. */
  mirrors: string[];
  /** MD5 of each `<file>.gz`, in IDX_FILES order. */
  md5: string[];
}

export interface IdxLoadOptions {
  home: DataHome;
  /** dataset.url: a base URL replacing the mirrors; `#md5=a,b,c,d` replaces the checksums. */
  url?: string;
  progress?: boolean;
  log?: (msg: string) => void;
  /** Ctrl-C: a download stops at once. */
  signal?: AbortSignal;
  download?: DownloadLimits;
}

/** The file for `base` in `dir`: the .gz, else the uncompressed one, else undefined. */
function findIdx(dir: string, base: string): string | undefined {
  for (const name of [`${base}.gz`, base]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function present(dir: string): Array<string | undefined> {
  return IDX_FILES.map((base) => findIdx(dir, base));
}

export async function loadIdxDataset(spec: IdxDatasetSpec, opts: IdxLoadOptions): Promise<SourceDataset> {
  const { home } = opts.home;
  const inHome = present(home);
  if (inHome.some(Boolean)) return readIdxDir(spec, home, inHome, false);
  for (const dir of spec.systemDirs) {
    const found = present(dir);
    if (found.every(Boolean)) {
      opts.log?.(`${spec.name}: using ${dir}`);
      return readIdxDir(spec, dir, found, false);
    }
  }
  const downloaded = await downloadIdx(spec, opts);
  return readIdxDir(spec, home, downloaded, true);
}

function readIdxDir(
  spec: IdxDatasetSpec,
  dir: string,
  files: Array<string | undefined>,
  downloaded: boolean,
): SourceDataset {
  const missing = IDX_FILES.filter((_, i) => !files[i]);
  if (missing.length)
    throw new DataError(`${dir}: incomplete ${spec.title} files: missing ${missing.map((m) => `${m}.gz`).join(', ')}`);
  const fp = new Fingerprint();
  const read = (i: number) => {
    const file = files[i]!;
    const raw = fs.readFileSync(file);
    fp.addContent(path.basename(file), raw);
    return { file, bytes: maybeGunzip(raw, file) };
  };
  const split = (imagesAt: number): { split: Split; rows: number; cols: number } => {
    const images = read(imagesAt);
    const labels = read(imagesAt + 1);
    const img = parseIdx(images.bytes, images.file, 3);
    const lab = parseIdx(labels.bytes, labels.file, 1);
    const [n, rows, cols] = img.dims;
    if (lab.dims[0] !== n)
      throw new DataError(
        `${labels.file}: holds ${lab.dims[0]} labels but ${path.basename(images.file)} holds ${n} images`,
      );
    for (let i = 0; i < n; i++) {
      if (lab.data[i] >= spec.classes.length) {
        throw new DataError(
          `${labels.file}: label ${i + 1} of ${n} is ${lab.data[i]}, outside the ${spec.classes.length} classes (0-${spec.classes.length - 1})`,
        );
      }
    }
    return { split: { x: img.data, y: lab.data, n }, rows, cols };
  };
  const train = split(0);
  const test = split(2);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DataError(
      `${files[2]}: images are ${test.rows}x${test.cols} but the training images are ${train.rows}x${train.cols}`,
    );
  }
  return {
    name: spec.name,
    shape: [train.rows, train.cols, 1],
    classes: [...spec.classes],
    train: train.split,
    test: test.split,
    source: { format: 'idx', path: dir, downloaded },
    fingerprint: fp.digest(),
    cache: 'none',
  };
}

/** Download the four files into the home (all or nothing); returns their paths. */
async function downloadIdx(spec: IdxDatasetSpec, opts: IdxLoadOptions): Promise<string[]> {
  const { home } = opts.home;
  const override = opts.url ? splitUrlChecksums(opts.url) : undefined;
  const mirrors = override ? [override.url] : spec.mirrors;
  const md5 = override?.md5 ?? spec.md5;
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const base = mirror.endsWith('/') ? mirror : `${mirror}/`;
    const partial = claimPartialDir(home);
    try {
      for (const [i, file] of IDX_FILES.entries()) {
        const url = `${base}${file}.gz`;
        opts.log?.(`${spec.name}: downloading ${url}`);
        await download({
          url,
          dest: path.join(partial.dir, `${file}.gz`),
          md5: md5[i],
          progress: opts.progress,
          signal: opts.signal,
          limits: opts.download,
        });
      }
      // Check the files parse before they enter the home.
      readIdxDir(spec, partial.dir, present(partial.dir), true);
      for (const file of IDX_FILES) fs.renameSync(path.join(partial.dir, `${file}.gz`), path.join(home, `${file}.gz`));
      finishPartialDir(partial, true);
      return present(home) as string[];
    } catch (err) {
      finishPartialDir(partial, false);
      if (err instanceof DownloadError) {
        failures.push(err.message);
        continue;
      }
      if (err instanceof DataError) {
        const detail = err.message.split(`${partial.dir}${path.sep}`).join('');
        throw new DataError(
          `${spec.name}: the files downloaded from ${base} are unusable, nothing was written: ${detail}`,
        );
      }
      throw err;
    }
  }
  const hint =
    opts.home.source === 'dataset.path'
      ? ''
      : `, or point --data-dir or PIPELINE_DATA_DIR at a directory holding ${spec.name}/`;
  throw new DataError(
    `${spec.name}: no ${spec.title} files in ${home} and the download failed:\n` +
      failures.map((f) => `  ${f}\n`).join('') +
      `Nothing was written. To work offline, put ${IDX_FILES.map((f) => `${f}.gz`).join(', ')} in ${home}${hint}.`,
  );
}
