import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { DataError, InterruptedError, UsageError } from '../errors';
import { createProgressBar } from './progress';
import type { DownloadLimits } from './types';

/** Why a download failed, in words fit for the user (the caller adds what to do instead). */
export class DownloadError extends DataError {}

/**
 * Hand-written on node's http(s): one GET with redirects, a length and MD5 check, and three
 * bounds a library would not give us together: an overall deadline, a minimum rate, and an
 * AbortSignal (Ctrl-C) that ends it at once. Small enough that a dependency would add more
 * than it removes.
 */
export interface DownloadOptions {
  url: string;
  /** The file to write; the caller owns (and on failure removes) its directory. */
  dest: string;
  /** Expected MD5 (hex); checked after the last byte. */
  md5?: string;
  progress?: boolean;
  /** Idle socket timeout (no byte at all for this long). */
  timeoutMs?: number;
  /** Deadline and minimum rate; default: downloadLimits() from the environment. */
  limits?: DownloadLimits;
  /** Aborting rejects at once with an InterruptedError naming the URL; `dest` is left for the caller to remove. */
  signal?: AbortSignal;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = {
  deadlineMs: 3_600_000,
  minBytesPerSecond: 10_240,
  rateWindowMs: 60_000,
};

const LIMIT_VARIABLES = [
  ['PIPELINE_DOWNLOAD_DEADLINE', 'deadlineMs', 1000, 'seconds'],
  ['PIPELINE_DOWNLOAD_MIN_RATE', 'minBytesPerSecond', 1, 'bytes per second'],
  ['PIPELINE_DOWNLOAD_RATE_WINDOW', 'rateWindowMs', 1000, 'seconds'],
] as const;

/** The limits with any PIPELINE_DOWNLOAD_* variable applied; a bad value is a usage error naming it. */
export function downloadLimits(env: Record<string, string | undefined> = process.env): DownloadLimits {
  const limits = { ...DEFAULT_DOWNLOAD_LIMITS };
  for (const [name, key, scale, unit] of LIMIT_VARIABLES) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (key !== 'minBytesPerSecond' && n === 0)) {
      throw new UsageError(`${name}=${raw}: expected a positive number of ${unit}`);
    }
    limits[key] = n * scale;
  }
  return limits;
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

/** Bytes so far, shared by the deadline message and the rate check. */
interface Progress {
  bytes: number;
  total?: number;
}

/**
 * One abort for everything that may end a download early: the deadline, a too-slow
 * transfer, and the caller's signal. Whatever fires first is the reason.
 */
function downloadGuard(
  opts: DownloadOptions,
  limits: DownloadLimits,
  progress: Progress,
): { signal: AbortSignal; startRateCheck(): void; dispose(): void } {
  const ctl = new AbortController();
  const seconds = (ms: number) => `${+(ms / 1000).toFixed(3)} s`;
  const deadline = setTimeout(() => {
    ctl.abort(
      new DownloadError(
        `download of ${opts.url} did not finish within ${seconds(limits.deadlineMs)} (PIPELINE_DOWNLOAD_DEADLINE): ${progress.bytes} of ${progress.total ?? 'unknown'} bytes received`,
      ),
    );
  }, limits.deadlineMs);
  const onAbort = () => {
    const reason = opts.signal!.reason as Error;
    ctl.abort(new InterruptedError(`${reason?.message ?? 'interrupted'} while downloading ${opts.url}`));
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  let ticker: NodeJS.Timeout | undefined;
  const startRateCheck = () => {
    if (!(limits.minBytesPerSecond > 0)) return;
    const samples: Array<{ t: number; bytes: number }> = [{ t: Date.now(), bytes: progress.bytes }];
    ticker = setInterval(
      () => {
        const now = Date.now();
        samples.push({ t: now, bytes: progress.bytes });
        // The oldest sample at least a window old: the rate is judged over whole windows only.
        while (samples.length > 1 && samples[1].t <= now - limits.rateWindowMs) samples.shift();
        const from = samples[0];
        if (now - from.t < limits.rateWindowMs) return;
        const got = progress.bytes - from.bytes;
        if (got < (limits.minBytesPerSecond * (now - from.t)) / 1000) {
          ctl.abort(
            new DownloadError(
              `download of ${opts.url} is too slow: ${got} bytes in the last ${seconds(now - from.t)}, below the minimum of ${limits.minBytesPerSecond} bytes/s (PIPELINE_DOWNLOAD_MIN_RATE): ${progress.bytes} of ${progress.total ?? 'unknown'} bytes received`,
            ),
          );
        }
      },
      Math.max(10, Math.min(1000, limits.rateWindowMs / 10)),
    );
  };
  return {
    signal: ctl.signal,
    startRateCheck,
    dispose() {
      clearTimeout(deadline);
      if (ticker) clearInterval(ticker);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Download `url` to `dest`, following redirects, verifying length and MD5. Throws DownloadError (InterruptedError when aborted). */
export async function download(opts: DownloadOptions): Promise<{ bytes: number; md5: string }> {
  const limits = opts.limits ?? downloadLimits();
  const progress: Progress = { bytes: 0 };
  const guard = downloadGuard(opts, limits, progress);
  try {
    let url = opts.url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await request(url, opts.timeoutMs ?? 30_000, guard.signal);
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
      guard.startRateCheck();
      return await receive(res, opts, progress, guard.signal);
    }
    throw new DownloadError(`cannot download ${opts.url}: more than ${MAX_REDIRECTS} redirects`);
  } finally {
    guard.dispose();
  }
}

function request(url: string, timeoutMs: number, signal: AbortSignal): Promise<http.IncomingMessage> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Only a malformed URL throws here.
    return Promise.reject(new DownloadError(`cannot download ${url}: not a valid URL`));
  }
  const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
  if (!client)
    return Promise.reject(new DownloadError(`cannot download ${url}: only http and https URLs are supported`));
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const req = client.get(parsed, { headers: { 'user-agent': 'pipeline' } }, (res) => {
      signal.removeEventListener('abort', onAbort);
      resolve(res);
    });
    const onAbort = () => {
      req.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(
        signal.aborted ? signal.reason : new DownloadError(`cannot download ${url}: ${describeNetworkError(err)}`),
      );
    });
  });
}

function receive(
  res: http.IncomingMessage,
  opts: DownloadOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<{ bytes: number; md5: string }> {
  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader !== undefined ? Number(lengthHeader) : undefined;
  progress.total = total;
  const bar = createProgressBar(
    `downloading ${path.basename(new URL(opts.url).pathname) || opts.url}`,
    total,
    opts.progress ?? false,
  );
  const hash = createHash('md5');
  const out = fs.createWriteStream(opts.dest, { flags: 'wx' });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      res.destroy();
      out.destroy();
      bar.finish();
      reject(err);
    };
    const onAbort = () => fail(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const interrupted = () =>
      new DownloadError(
        `download of ${opts.url} was interrupted after ${progress.bytes} of ${total ?? 'unknown'} bytes`,
      );
    res.on('data', (chunk: Buffer) => {
      progress.bytes += chunk.length;
      hash.update(chunk);
      bar.update(progress.bytes);
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
    });
    // A server that closes mid-body makes the response emit 'aborted'/'error' (or end short).
    res.on('aborted', () => fail(interrupted()));
    res.on('error', () => fail(interrupted()));
    // A disk error (full, read-only) is the user's to fix: keep its code and name the file.
    out.on('error', (err) => fail(err));
    res.on('end', () => {
      if (settled) return;
      if (total !== undefined && progress.bytes !== total) return fail(interrupted());
      out.end(() => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        bar.finish();
        const md5 = hash.digest('hex');
        if (opts.md5 && md5 !== opts.md5.toLowerCase()) {
          reject(
            new DownloadError(`checksum mismatch for ${opts.url}: expected MD5 ${opts.md5.toLowerCase()}, got ${md5}`),
          );
        } else resolve({ bytes: progress.bytes, md5 });
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
