import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Write a file so that readers see either the old content or the new one, never half of it:
 * write a temp file in the same directory (same filesystem, so rename is atomic), fsync, rename.
 * On any failure (a full disk, say) the temp file is removed and the error names `file`, the
 * path the caller asked for, not the temp name.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSynced(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw namingTarget(err, file);
  }
}

/** Writes and fsyncs a file in place: the building block of atomic writes (the rename makes them atomic). */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data, file);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * writeSync may write fewer bytes than asked (a nearly full disk does): loop until every byte
 * is written. A write that makes no progress is the disk being full; it throws ENOSPC.
 */
export function writeAll(fd: number, data: Uint8Array, file: string): void {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, Math.min(data.length - done, 1 << 30));
    if (n <= 0)
      throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), {
        code: 'ENOSPC',
        syscall: 'write',
        path: file,
      });
    done += n;
  }
}

/** An fs error about a temp file, re-addressed to the file it stood for (the name the user knows). */
export function namingTarget(err: unknown, file: string): unknown {
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string')
    (err as NodeJS.ErrnoException).path = file;
  return err;
}
