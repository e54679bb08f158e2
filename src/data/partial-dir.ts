import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors';

/**
 * Downloads and extractions happen in `<home>/.partial-<pid>-XXXXXX` and
 * only complete, verified files are renamed into the home. On failure the
 * partial dir goes, and so does any directory this process created for the
 * home, so an interrupted or failed download leaves nothing behind. A partial
 * dir left by a killed process is removed by the next download.
 */

export interface PartialDir {
  dir: string;
  /** The outermost directory mkdir created for the home (removed on failure), if any. */
  created?: string;
}

const PREFIX = '.partial-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isPartialName(name: string): boolean {
  return name.startsWith(PREFIX);
}

export function claimPartialDir(home: string): PartialDir {
  let created: string | undefined;
  try {
    created = fs.mkdirSync(home, { recursive: true });
  } catch (err) {
    throw new DataError(
      `cannot create ${home} to download into: ${(err as Error).message}; choose another location (dataset.path, --data-dir or PIPELINE_DATA_DIR)`,
    );
  }
  for (const name of fs.readdirSync(home)) {
    const m = /^\.partial-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])))
      fs.rmSync(path.join(home, name), { recursive: true, force: true });
  }
  const dir = fs.mkdtempSync(path.join(home, `${PREFIX}${process.pid}-`));
  return { dir, created };
}

export function finishPartialDir(partial: PartialDir, success: boolean): void {
  fs.rmSync(partial.dir, { recursive: true, force: true });
  if (!success && partial.created) fs.rmSync(partial.created, { recursive: true, force: true });
}
