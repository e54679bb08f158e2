import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Making a run directory (its files: src/run-format/): `<root>/<experiment name>/<version>/`.
 * Versions are claimed with a non-recursive mkdir, so two processes can never get the
 * same one.
 */

/** Claims the next free version of `name` under `root`: mkdir without `recursive` fails with EEXIST for a taken one. */
export function claimRunDir(root: string, name: string): { dir: string; version: number } {
  const expDir = path.join(root, name);
  fs.mkdirSync(expDir, { recursive: true });
  const taken = fs
    .readdirSync(expDir)
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number);
  let version = taken.length ? Math.max(...taken) + 1 : 1;
  for (;;) {
    const dir = path.join(expDir, String(version));
    try {
      fs.mkdirSync(dir);
      return { dir, version };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      version++;
    }
  }
}

/** The commit and dirty flag of the git work tree containing `cwd`, or null outside one (or without git). */
export function gitState(cwd = process.cwd()): { commit: string; dirty: boolean } | null {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 10_000 });
  try {
    const commit = git(['rev-parse', 'HEAD']).trim();
    const dirty = git(['status', '--porcelain']).trim() !== '';
    return { commit, dirty };
  } catch {
    // Deliberate: no git, or not a work tree; meta.json records null either way.
    return null;
  }
}

export function hostInfo(): { host: string; cpus: number } {
  return { host: os.hostname(), cpus: os.cpus().length };
}
