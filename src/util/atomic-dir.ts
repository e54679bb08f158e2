import * as fs from 'node:fs';
import * as path from 'node:path';
import { namingTarget, writeFileSynced } from './atomic';
import { isNotFound } from './not-found';

/**
 * Directories whose files must change together (model.json with its weights.bin, a
 * checkpoint's five files). Each file being atomic is not enough: a crash between two
 * renames would pair a new model.json with old weights. So the whole directory is
 * written under a temporary name and swapped in:
 *
 *   1. write every file into `.<name>.tmp-<tag>/` (fsync each)
 *   2. rename `<name>/` -> `.<name>.old-<tag>/` (if it exists)
 *   3. rename `.<name>.tmp-<tag>/` -> `<name>/`
 *   4. delete `.<name>.old-<tag>/`
 *
 * At every instant either `<name>/` or `.<name>.old-<tag>/` is a complete copy;
 * resolveAtomicDir() finds it. Names starting with '.' are in-progress temporaries that
 * readers ignore (docs/run-folder.md).
 */

export type DirFiles = Record<string, string | Uint8Array>;

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Deliberate: some filesystems refuse fsync on directories; the renames are still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const tag = () => `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

export function writeDirAtomic(dir: string, files: DirFiles): void {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  fs.mkdirSync(parent, { recursive: true });
  const t = tag();
  const tmp = path.join(parent, `.${base}.tmp-${t}`);
  fs.mkdirSync(tmp);
  let writing = dir;
  try {
    for (const [name, data] of Object.entries(files)) {
      writing = path.join(dir, name);
      writeFileSynced(path.join(tmp, name), data);
    }
    fsyncDir(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Named as the file it was to become (model/weights.bin), not the temp folder.
    throw namingTarget(err, writing);
  }
  const old = path.join(parent, `.${base}.old-${t}`);
  let moved = false;
  try {
    fs.renameSync(dir, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.renameSync(tmp, dir);
  fsyncDir(parent);
  if (moved) fs.rmSync(old, { recursive: true, force: true });
}

/** The complete copy of `dir`: itself, or the previous copy a crash left between steps 2 and 3. */
export function resolveAtomicDir(dir: string): string | undefined {
  if (fs.existsSync(dir)) return dir;
  const parent = path.dirname(dir);
  const prefix = `.${path.basename(dir)}.old-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith(prefix));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const newest = names
    .map((n) => ({ p: path.join(parent, n), t: fs.statSync(path.join(parent, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t)[0];
  return newest?.p;
}

/**
 * Tidies a folder after a crash: a missing `<name>/` is restored from its `.old-` copy,
 * and every other temporary (`.x.tmp-*`, `.x.old-*`, `.file.*.tmp`) is removed.
 */
export function recoverAtomicDirs(parent: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const n of names) {
    const m = /^\.(.+)\.old-[^/]+$/.exec(n);
    if (m && !fs.existsSync(path.join(parent, m[1]))) fs.renameSync(path.join(parent, n), path.join(parent, m[1]));
  }
  for (const n of fs.readdirSync(parent)) {
    if (/^\..+\.(tmp-[^/]+|old-[^/]+|tmp)$/.test(n)) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
  }
}
