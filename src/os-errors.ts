import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Operating-system errors a user can cause (a full disk, a read-only or missing folder, a file
 * where a folder belongs...) in words: what happened, to which path, and what to do. The one
 * place these are worded: the CLI's error boundary prints them (exit 1), and a run records
 * them in meta.json. Any other error stays an internal error (a bug).
 */

export const USER_OS_ERRORS = [
  'ENOSPC',
  'EDQUOT',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOTDIR',
  'EISDIR',
  'ENOENT',
  'EEXIST',
  'ENOTEMPTY',
  'EMFILE',
  'ENFILE',
] as const;

export interface OsErrorContext {
  /** Paths under this folder are shown relative to it (a run folder: `model/weights.bin`). */
  relativeTo?: string;
  /** What to do once the cause is fixed (default: "try again"). */
  retry?: string;
}

type Errno = NodeJS.ErrnoException & { dest?: string };

export function isUserOsError(err: unknown): err is Errno {
  return err instanceof Error && (USER_OS_ERRORS as readonly string[]).includes(String((err as Errno).code));
}

const VERBS: Record<string, string> = {
  open: 'opening',
  write: 'writing',
  fsync: 'writing',
  close: 'writing',
  mkdir: 'creating',
  mkdtemp: 'creating',
  rename: 'moving',
  unlink: 'removing',
  rmdir: 'removing',
  rm: 'removing',
  scandir: 'listing',
  opendir: 'listing',
  read: 'reading',
  stat: 'reading',
  lstat: 'reading',
  access: 'reading',
  copyfile: 'copying',
  symlink: 'creating',
  link: 'creating',
};

/** For a missing-folder error while creating one: the nearest folder that does exist. */
function nearestExisting(p: string): string | undefined {
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    if (fs.existsSync(dir)) return dir;
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** Why `dir` cannot be written to (EACCES, EROFS), or undefined when it can. */
function unwritable(dir: string): string | undefined {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EACCES';
  }
}

/** The message for an OS error the user can fix, or undefined for any other error. */
export function describeOsError(err: unknown, ctx: OsErrorContext = {}): string | undefined {
  if (!isUserOsError(err)) return undefined;
  const show = (p: string) => {
    if (ctx.relativeTo) {
      const rel = path.relative(ctx.relativeTo, path.resolve(p));
      if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    }
    return p;
  };
  const retry = ctx.retry ?? 'try again';
  const verb = VERBS[err.syscall ?? ''] ?? 'accessing';
  // A rename fails on its destination for these.
  const onDest =
    err.syscall === 'rename' && err.dest && ['EEXIST', 'ENOTEMPTY', 'EISDIR', 'ENOTDIR'].includes(err.code!);
  const raw = (onDest ? err.dest : err.path) ?? '(unknown path)';
  const p = show(raw);
  switch (err.code) {
    case 'ENOSPC':
      return `disk full while ${verb === 'moving' || verb === 'opening' || verb === 'creating' ? verb : 'writing'} ${p}: free space and ${retry}`;
    case 'EDQUOT':
      return `disk quota exceeded while writing ${p}: free space or raise the quota, and ${retry}`;
    case 'EACCES':
    case 'EPERM':
      if (err.syscall === 'mkdir' || err.syscall === 'mkdtemp')
        return `cannot create ${p}: ${show(path.dirname(path.resolve(raw)))} is not writable; change its permissions or choose another location`;
      return `permission denied ${verb} ${p}: change its permissions or choose another location, and ${retry}`;
    case 'EROFS':
      return `cannot write ${p}: it is on a read-only file system; choose a writable location and ${retry}`;
    case 'ENOTDIR':
      return `cannot use ${p}: part of that path is a file, not a folder; move the file away or choose another location`;
    case 'EISDIR':
      return `cannot use ${p}: it is a folder where a file belongs; choose a file name`;
    case 'EEXIST':
      return `cannot create ${p}: it already exists; move it away or choose another location`;
    case 'ENOTEMPTY':
      return `cannot create ${p}: a folder by that name already exists and is not empty; move it away and ${retry}`;
    case 'EMFILE':
    case 'ENFILE':
      return `too many open files while ${verb} ${p}: raise the limit (ulimit -n) and ${retry}`;
    case 'ENOENT': {
      if (err.syscall === 'mkdir' || err.syscall === 'mkdtemp') {
        // A recursive mkdir in a folder it may not write can report ENOENT: say what is really wrong.
        const parent = nearestExisting(path.resolve(raw));
        const why = parent ? unwritable(parent) : undefined;
        if (why === 'EROFS')
          return `cannot write ${p}: it is on a read-only file system; choose a writable location and ${retry}`;
        if (why)
          return `cannot create ${p}: ${show(parent!)} is not writable; change its permissions or choose another location`;
      }
      const folder = path.dirname(path.resolve(raw));
      if (!fs.existsSync(folder))
        return `cannot ${err.syscall === 'mkdir' ? 'create' : 'use'} ${p}: its folder ${show(folder)} does not exist; create it or choose another location`;
      return `${p} does not exist`;
    }
  }
  return undefined;
}
