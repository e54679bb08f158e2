import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { DataError } from '../errors';
import { isUserOsError } from '../os-errors';
import { writeAll } from '../util/atomic';

/**
 * Reading .tar.gz archives with node-tar's streaming Parser (the tar implementation npm itself
 * uses, kept by its maintainers and hardened against hostile archives) in strict mode: a bad
 * checksum, a header it cannot parse or a truncated archive is an error, never a warning.
 * node-tar's own extractor is not used: we write regular files only, ourselves, so nothing but
 * the bytes we accept reaches the disk. On top of the parser this module refuses, before a byte
 * of the entry is buffered or written:
 *   - a size field that is not a non-negative number (node-tar reads it as "no size");
 *   - an entry larger than `maxEntryBytes`, or entries summing to more than `maxTotalBytes`
 *     (archive bombs: a 5 MB .tar.gz can declare gigabytes);
 *   - a long name or pax header over 64 KiB (node-tar skips those without buffering; strict
 *     mode makes that an error instead of a silently shortened name);
 *   - absolute paths, `..` segments, and links whose target leaves the folder.
 * Memory stays bounded: gunzip and the parser stream, and only wanted entries are buffered.
 */

export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading './'. */
  name: string;
  data: Buffer;
}

export interface TarLimits {
  /** The largest entry accepted (declared size). */
  maxEntryBytes: number;
  /** The most bytes all entries together may declare. */
  maxTotalBytes: number;
  /** Aborts the read at once (Ctrl-C); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Long names and pax headers: a path needs a few hundred bytes, not megabytes. */
const MAX_META_BYTES = 64 * 1024;

const DEFAULT_LIMITS: TarLimits = { maxEntryBytes: 1 << 30, maxTotalBytes: 4 * (1 << 30) };

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const LINK_TYPES = new Set(['Link', 'SymbolicLink']);

/** The name with './' dropped, or a DataError for a path that could leave the folder it is extracted into. */
function safeName(archive: string, raw: string): string {
  const name = raw.replace(/^(\.\/)+/, '');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name))
    throw new DataError(`${archive}: archive entry ${raw} has an absolute path; refusing the archive`);
  if (name.split(/[/\\]/).includes('..'))
    throw new DataError(`${archive}: archive entry ${raw} leaves its folder ('..'); refusing the archive`);
  return name;
}

/** A link inside the archive's own tree is harmless (it is never created); one pointing out is hostile. */
function checkLink(archive: string, entry: ReadEntry, name: string): void {
  const target = String(entry.linkpath ?? '');
  const base = entry.type === 'Link' ? '' : path.posix.dirname(name);
  const resolved = path.posix.normalize(path.posix.join(base, target));
  if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
    throw new DataError(
      `${archive}: archive entry ${name} links to ${target}, outside its folder; refusing the archive`,
    );
  }
}

class EntryChecker {
  private total = 0;
  constructor(
    private readonly archive: string,
    private readonly limits: TarLimits,
  ) {}

  /** Throws for an entry the archive must not contain; returns its safe name. */
  check(entry: ReadEntry): string {
    const raw = String(entry.path);
    const name = safeName(this.archive, raw);
    const size = entry.header.size;
    if (FILE_TYPES.has(entry.type) && (size === undefined || !Number.isSafeInteger(size) || size < 0)) {
      throw new DataError(`${this.archive}: corrupt tar archive: entry ${raw} has an invalid size field`);
    }
    if (LINK_TYPES.has(entry.type)) checkLink(this.archive, entry, name);
    const bytes = size ?? 0;
    if (bytes > this.limits.maxEntryBytes) {
      throw new DataError(
        `${this.archive}: archive entry ${raw} declares ${bytes} bytes, more than the ${this.limits.maxEntryBytes} expected; refusing the archive`,
      );
    }
    this.total += bytes;
    if (this.total > this.limits.maxTotalBytes) {
      throw new DataError(
        `${this.archive}: the archive's entries declare more than ${this.limits.maxTotalBytes} bytes in all; refusing the archive`,
      );
    }
    return name;
  }
}

/** Turns a zlib or node-tar error into a message naming the archive. */
function describeArchiveError(archive: string, err: NodeJS.ErrnoException & { tarCode?: string }): DataError {
  if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message))
    return new DataError(`${archive}: archive is truncated (gzip stream ends early)`);
  if (err.code === 'Z_DATA_ERROR') return new DataError(`${archive}: not a valid .tar.gz archive (${err.message})`);
  if (/checksum failure/.test(err.message))
    return new DataError(`${archive}: corrupt tar archive (bad header checksum)`);
  if (/Truncated input/.test(err.message))
    return new DataError(`${archive}: archive is truncated (${err.message.replace(/^TAR_BAD_ARCHIVE: /, '')})`);
  if (err.tarCode)
    return new DataError(`${archive}: corrupt tar archive (${err.message.replace(/^TAR_[A-Z_]+: /, '')})`);
  return new DataError(`${archive}: cannot read archive: ${err.message}`);
}

/**
 * Streams `file` (gzip) through the parser, calling `onFile` for each regular file `want`
 * accepts; its data arrives in chunks through the returned sink. Resolves at the end of the
 * archive; rejects with a DataError naming the archive (or with the abort reason).
 */
function parseTarGz(
  file: string,
  limits: TarLimits,
  want: (name: string) => boolean,
  onFile: (name: string, size: number) => { chunk(data: Buffer): void; end(): void },
  onRawChunk?: (chunk: Buffer) => void,
): Promise<void> {
  const checker = new EntryChecker(file, limits);
  return new Promise<void>((resolve, reject) => {
    let failure: unknown;
    const source = fs.createReadStream(file);
    const gunzip = zlib.createGunzip();
    const parser = new Parser({ strict: true, maxMetaEntrySize: MAX_META_BYTES });
    const fail = (err: unknown) => {
      if (failure !== undefined) return;
      failure = err;
      limits.signal?.removeEventListener('abort', onAbort);
      source.destroy();
      gunzip.destroy();
      parser.removeAllListeners('entry');
      // Our own refusals, Ctrl-C and OS errors (a full disk while extracting) keep their words; the parser's get the archive's name.
      reject(
        err instanceof DataError || limits.signal?.aborted || isUserOsError(err)
          ? err
          : describeArchiveError(file, err as NodeJS.ErrnoException),
      );
    };
    const guard = (f: () => void) => {
      try {
        if (failure === undefined) f();
      } catch (err) {
        fail(err);
      }
    };
    const onAbort = () => fail(limits.signal!.reason);
    if (limits.signal?.aborted) return onAbort();
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    parser.on('ignoredEntry', (entry: ReadEntry) =>
      guard(() => {
        if (entry.meta && entry.size > MAX_META_BYTES) {
          throw new DataError(
            `${file}: archive entry ${entry.path} is a ${entry.size}-byte long name or pax header (at most ${MAX_META_BYTES} allowed); refusing the archive`,
          );
        }
      }),
    );
    parser.on('entry', (entry: ReadEntry) =>
      guard(() => {
        const name = checker.check(entry);
        if (!FILE_TYPES.has(entry.type) || !want(name)) return void entry.resume();
        const sink = onFile(name, entry.size);
        entry.on('data', (chunk: Buffer) => guard(() => sink.chunk(chunk)));
        entry.on('end', () => guard(() => sink.end()));
      }),
    );
    parser.on('error', (err: Error) => fail(err));
    source.on('error', (err) => fail(err));
    gunzip.on('error', (err) => fail(err));
    if (onRawChunk) source.on('data', (chunk) => guard(() => onRawChunk(chunk as Buffer)));
    // Parser.write returns false while an entry's consumer is behind; pipe() honours that.
    source.pipe(gunzip).pipe(parser as unknown as NodeJS.WritableStream);
    parser.on('end', () => {
      if (failure !== undefined) return;
      limits.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * Call `onEntry` with each regular file whose name `want` accepts, buffered whole (others are
 * skipped without buffering). `limits.maxEntryBytes` bounds what one entry may hold in memory.
 */
export async function readTarGz(
  file: string,
  want: (name: string) => boolean,
  onEntry: (entry: TarEntry) => void,
  /** Sees the compressed bytes as they are read (to hash the archive without a second pass). */
  onRawChunk?: (chunk: Buffer) => void,
  limits: TarLimits = DEFAULT_LIMITS,
): Promise<void> {
  await parseTarGz(
    file,
    limits,
    want,
    (name, size) => {
      const data = Buffer.allocUnsafe(size);
      let got = 0;
      return {
        chunk: (c) => void (got += c.copy(data, got)),
        end: () => {
          if (got !== size) throw new DataError(`${file}: archive is truncated (ends inside ${name})`);
          onEntry({ name, data });
        },
      };
    },
    onRawChunk,
  );
}

/** Extract the regular files `want` accepts into `dest` (never outside it); returns their names. */
export async function extractTarGz(
  file: string,
  dest: string,
  want: (name: string) => boolean = () => true,
  limits: TarLimits = DEFAULT_LIMITS,
): Promise<string[]> {
  const written: string[] = [];
  const root = path.resolve(dest);
  const open = new Set<number>();
  try {
    await parseTarGz(file, limits, want, (name) => {
      const target = path.resolve(root, name);
      if (!target.startsWith(root + path.sep))
        throw new DataError(`${file}: archive entry ${name} would be written outside ${dest}`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      // 'wx': an entry never overwrites a file (or follows a link) already there.
      let fd: number;
      try {
        fd = fs.openSync(target, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new DataError(`${file}: archive entry ${name} appears twice; refusing the archive`);
        throw err;
      }
      open.add(fd);
      return {
        chunk: (c) => writeAll(fd, c, target),
        end: () => {
          open.delete(fd);
          fs.closeSync(fd);
          written.push(name);
        },
      };
    });
  } finally {
    for (const fd of open) fs.closeSync(fd);
  }
  return written;
}
