import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODEL_DIR } from '../run-format/names';
import { isNotFound } from '../util/not-found';
import { resolveAtomicDir } from '../util/atomic-dir';
import { Forbidden, NotFound } from './http-errors';

/**
 * Which files of the runs folder the dashboard may hand out, and how a URL names
 * one. Only regular files inside the runs folder, named by plain path segments:
 * no `..` or `.` segments, no absolute paths, no hidden (in-progress) names, and no
 * symlink that leads out of the folder — checked on the real path, after links.
 */

export interface RunFile {
  /** Relative to the runs root, '/'-separated: what /files/ takes. */
  path: string;
  size: number;
}

/** Segments of a raw `/files/...` URL path (still percent-encoded), checked one by one. */
export function fileSegments(rawPath: string): string[] {
  if (rawPath === '' || rawPath.startsWith('/')) throw new Forbidden('absolute paths are not served');
  return rawPath.split('/').map((raw) => {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      // Deliberate: decodeURIComponent throws only for a malformed escape.
      throw new Forbidden(`bad percent-encoding in "${raw}"`);
    }
    if (seg === '' || seg === '.' || seg === '..') throw new Forbidden(`path segment "${seg}" is not allowed`);
    if (seg.includes('/') || seg.includes('\\') || seg.includes('\0'))
      throw new Forbidden(`path segment "${seg}" is not allowed`);
    if (seg.startsWith('.')) throw new Forbidden(`hidden files are not served`);
    return seg;
  });
}

/**
 * The real path of a file inside the runs root, relative to the root's real path.
 * Throws Forbidden for anything that resolves outside, NotFound for what is not a file.
 */
export function resolveServedFile(root: string, rawPath: string): { realRoot: string; relative: string } {
  const segments = fileSegments(rawPath);
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(path.join(realRoot, ...segments));
  } catch {
    // Deliberate: whatever stops it resolving (missing, a loop, no permission), the dashboard does not say which.
    throw new NotFound(`no file ${segments.join('/')} in the runs folder`);
  }
  if (!real.startsWith(realRoot + path.sep)) throw new Forbidden(`${segments.join('/')} leads outside the runs folder`);
  if (!fs.statSync(real).isFile()) throw new NotFound(`${segments.join('/')} is not a file`);
  return { realRoot, relative: path.relative(realRoot, real) };
}

/** A run folder's own files and its final model's, for links on the run page. */
export function listRunFiles(root: string, runDir: string): RunFile[] {
  const out: RunFile[] = [];
  const add = (dir: string, servedAs: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const st = fs.lstatSync(path.join(dir, n));
      if (st.isFile()) out.push({ path: `${servedAs}/${n}`, size: st.size });
    }
  };
  const rel = path.relative(root, runDir).split(path.sep).join('/');
  add(runDir, rel);
  // model/ is swapped in whole; mid-swap the complete copy is the hidden `.model.old-*`, not served.
  const model = resolveAtomicDir(path.join(runDir, MODEL_DIR));
  if (model === path.join(runDir, MODEL_DIR)) add(model, `${rel}/${MODEL_DIR}`);
  return out;
}
