import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DataError } from '../errors';

/**
 * A small streaming reader for .tar.gz archives (ustar, GNU long names, pax
 * paths): enough for the official CIFAR-10 archive without a dependency and
 * without holding the whole archive in memory (162 MB compressed).
 */

export interface TarEntry {
  /** Path inside the archive, '/'-separated. */
  name: string;
  data: Buffer;
}

const BLOCK = 512;

function cstring(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

function octal(buf: Buffer, start: number, length: number): number {
  // Base-256 (GNU) for sizes over 8 GB: high bit of the first byte set.
  if (buf[start] & 0x80) {
    let v = buf[start] & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + buf[start + i];
    return v;
  }
  const s = cstring(buf, start, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = octal(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum === stored;
}

function paxPath(data: Buffer): string | undefined {
  // Records: "<len> key=value\n"
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(32, pos);
    if (space === -1) break;
    const len = parseInt(data.toString('utf8', pos, space), 10);
    if (!(len > 0)) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') return record.slice(eq + 1);
    pos += len;
  }
  return undefined;
}

/**
 * Call `onEntry` for each regular file whose name `want` accepts (others are
 * skipped without buffering). Throws DataError naming the archive when it is
 * not gzip, is truncated or has a corrupt header.
 */
export async function readTarGz(
  file: string,
  want: (name: string) => boolean,
  onEntry: (entry: TarEntry) => void,
  /** Sees the compressed bytes as they are read (to hash the archive without a second pass). */
  onRawChunk?: (chunk: Buffer) => void,
): Promise<void> {
  const label = file;
  let pending: Buffer = Buffer.alloc(0);
  // Parser state: reading a header, or the body of an entry (kept or skipped).
  let body: { name: string; type: string; size: number; padded: number; keep: boolean; chunks: Buffer[]; got: number } | null = null;
  let longName: string | undefined;
  let ended = false;

  const handleHeader = (header: Buffer) => {
    if (header.every((b) => b === 0)) {
      ended = true; // end-of-archive marker
      return;
    }
    if (!checksumOk(header)) throw new DataError(`${label}: corrupt tar archive (bad header checksum)`);
    let name = cstring(header, 0, 100);
    const magic = header.toString('latin1', 257, 262);
    if (magic === 'ustar') {
      const prefix = cstring(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) {
      name = longName;
      longName = undefined;
    }
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 48); // NUL means regular file
    const isMeta = type === 'L' || type === 'x';
    const keep = isMeta || ((type === '0' || type === '7') && want(name));
    body = { name, type, size, padded: Math.ceil(size / BLOCK) * BLOCK, keep, chunks: [], got: 0 };
  };

  const finishBody = () => {
    const b = body!;
    body = null;
    if (!b.keep) return;
    const data = Buffer.concat(b.chunks, b.size);
    if (b.type === 'L') longName = cstring(data, 0, data.length);
    else if (b.type === 'x') longName = paxPath(data) ?? longName;
    else onEntry({ name: b.name.replace(/^\.\//, ''), data });
  };

  const consume = (chunk: Buffer) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0;
    while (!ended) {
      if (body === null) {
        if (buf.length - pos < BLOCK) break;
        handleHeader(buf.subarray(pos, pos + BLOCK));
        pos += BLOCK;
        if (body !== null && (body as { padded: number }).padded === 0) finishBody();
        continue;
      }
      const b: NonNullable<typeof body> = body;
      const take = Math.min(b.padded - b.got, buf.length - pos);
      if (take === 0) break;
      if (b.keep && b.got < b.size) {
        const useful = Math.min(take, b.size - b.got);
        // Copy: the chunk buffer is reused by the stream.
        b.chunks.push(Buffer.from(buf.subarray(pos, pos + useful)));
      }
      b.got += take;
      pos += take;
      if (b.got === b.padded) finishBody();
    }
    pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
  };

  const source = fs.createReadStream(file);
  const input = zlib.createGunzip();
  source.on('error', (err) => input.destroy(err)); // pipe() does not forward read errors
  if (onRawChunk) source.on('data', (chunk) => onRawChunk(chunk as Buffer));
  source.pipe(input);
  try {
    for await (const chunk of input) {
      if (!ended) consume(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message)) throw new DataError(`${label}: archive is truncated (gzip stream ends early)`);
    if (e.code === 'Z_DATA_ERROR') throw new DataError(`${label}: not a valid .tar.gz archive (${e.message})`);
    throw new DataError(`${label}: cannot read archive: ${e.message}`);
  } finally {
    source.destroy();
    input.destroy();
  }
  if (body !== null) throw new DataError(`${label}: archive is truncated (ends inside ${(body as { name: string }).name})`);
}

/** Extract the regular files `want` accepts into `dest`, refusing paths that leave it. */
export async function extractTarGz(file: string, dest: string, want: (name: string) => boolean = () => true): Promise<string[]> {
  const written: string[] = [];
  const root = path.resolve(dest);
  await readTarGz(file, want, ({ name, data }) => {
    const target = path.resolve(root, name);
    if (!target.startsWith(root + path.sep)) throw new DataError(`${file}: archive entry ${name} would be written outside ${dest}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, data);
    written.push(name);
  });
  return written;
}
