import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { DataError } from '../errors';
import { createProgressBar } from './progress';

/** Why a download failed, in words fit for the user (the caller adds what to do instead). */
export class DownloadError extends DataError {}

export interface DownloadOptions {
  url: string;
  /** The file to write; the caller owns (and on failure removes) its directory. */
  dest: string;
  /** Expected MD5 (hex); checked after the last byte. */
  md5?: string;
  progress?: boolean;
  /** Idle socket timeout. */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 5;

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
};

function describeNetworkError(err: NodeJS.ErrnoException): string {
  const known = err.code ? NETWORK_CODES[err.code] : undefined;
  return known ? `${known} (${err.code})` : err.message;
}

/** Download `url` to `dest`, following redirects, verifying length and MD5. Throws DownloadError. */
export async function download(opts: DownloadOptions): Promise<{ bytes: number; md5: string }> {
  let url = opts.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(url, opts.timeoutMs ?? 30_000);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      url = new URL(res.headers.location, url).toString();
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new DownloadError(`cannot download ${opts.url}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd());
    }
    return receive(res, opts);
  }
  throw new DownloadError(`cannot download ${opts.url}: more than ${MAX_REDIRECTS} redirects`);
}

function request(url: string, timeoutMs: number): Promise<http.IncomingMessage> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new DownloadError(`cannot download ${url}: not a valid URL`));
  }
  const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
  if (!client) return Promise.reject(new DownloadError(`cannot download ${url}: only http and https URLs are supported`));
  return new Promise((resolve, reject) => {
    const req = client.get(parsed, { headers: { 'user-agent': 'pipeline' } }, resolve);
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new DownloadError(`cannot download ${url}: ${describeNetworkError(err)}`)));
  });
}

function receive(res: http.IncomingMessage, opts: DownloadOptions): Promise<{ bytes: number; md5: string }> {
  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader !== undefined ? Number(lengthHeader) : undefined;
  const bar = createProgressBar(`downloading ${path.basename(new URL(opts.url).pathname) || opts.url}`, total, opts.progress ?? false);
  const hash = createHash('md5');
  const out = fs.createWriteStream(opts.dest, { flags: 'wx' });
  let bytes = 0;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      res.destroy();
      out.destroy();
      bar.finish();
      reject(new DownloadError(message));
    };
    const interrupted = () =>
      `download of ${opts.url} was interrupted after ${bytes} of ${total ?? 'unknown'} bytes`;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      bar.update(bytes);
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
    });
    // A server that closes mid-body makes the response emit 'aborted'/'error' (or end short).
    res.on('aborted', () => fail(interrupted()));
    res.on('error', () => fail(interrupted()));
    out.on('error', (err) => fail(`cannot write ${opts.dest}: ${err.message}`));
    res.on('end', () => {
      if (settled) return;
      if (total !== undefined && bytes !== total) return fail(interrupted());
      out.end(() => {
        if (settled) return;
        settled = true;
        bar.finish();
        const md5 = hash.digest('hex');
        if (opts.md5 && md5 !== opts.md5.toLowerCase()) {
          reject(new DownloadError(`checksum mismatch for ${opts.url}: expected MD5 ${opts.md5.toLowerCase()}, got ${md5}`));
        } else resolve({ bytes, md5 });
      });
    });
  });
}

/** Parse `#md5=a,b,...` off a URL: the checksums a test (or a private mirror) vouches for. */
export function splitUrlChecksums(url: string): { url: string; md5?: string[] } {
  const hash = url.indexOf('#');
  if (hash === -1) return { url };
  const m = /^md5=([0-9a-fA-F,]+)$/.exec(url.slice(hash + 1));
  return { url: url.slice(0, hash), md5: m ? m[1].split(',') : undefined };
}
