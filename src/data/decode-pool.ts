import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DataError } from '../errors';
import type { DecodeReply, DecodeWorkerData } from './decode-worker';
import { decodeInto, type ImageTarget } from './image-decode';

export interface DecodeJob {
  /** Absolute paths, in output order; image i goes to slot i of `pixels`. */
  files: string[];
  target: ImageTarget;
  /** files.length * h * w * c bytes. */
  pixels: SharedArrayBuffer;
  /** files.length * 32 bytes: each file's sha256, for the fingerprint. */
  digests: SharedArrayBuffer;
}

export interface DecodeOptions {
  /** Worker threads; default: one per core. 0 decodes on the main thread. */
  workers?: number;
  /** Images per request: small enough to balance, large enough that messages are cheap. */
  chunk?: number;
  /** Ctrl-C: the workers are stopped and decodeAll rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Below this many images, starting workers costs more than it saves. */
const MAIN_THREAD_BELOW = 256;

export function defaultWorkers(): number {
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

/** Decode every file of the job; throws DataError naming the first file that fails. */
export async function decodeAll(job: DecodeJob, opts: DecodeOptions = {}): Promise<void> {
  const workers = opts.workers ?? (job.files.length < MAIN_THREAD_BELOW ? 0 : defaultWorkers());
  if (opts.signal?.aborted) throw opts.signal.reason;
  if (workers === 0) return decodeOnMainThread(job);
  return decodeInWorkers(job, Math.min(workers, Math.ceil(job.files.length / 16)), opts.chunk ?? 512, opts.signal);
}

function decodeOnMainThread(job: DecodeJob): void {
  const pixels = new Uint8Array(job.pixels);
  const digests = new Uint8Array(job.digests);
  job.files.forEach((file, i) => {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      throw new DataError(`${file}: cannot read: ${(err as Error).message}`);
    }
    digests.set(createHash('sha256').update(buf).digest(), i * 32);
    try {
      decodeInto(buf, job.target, pixels, i);
    } catch (err) {
      throw new DataError(`${file}: ${(err as Error).message}`);
    }
  });
}

function decodeInWorkers(job: DecodeJob, count: number, chunk: number, signal?: AbortSignal): Promise<void> {
  const total = job.files.length;
  let next = 0;
  let finished = 0;
  const workerData: DecodeWorkerData = {
    files: job.files,
    target: job.target,
    pixels: job.pixels,
    digests: job.digests,
  };
  const script = path.join(__dirname, 'decode-worker.js');
  const pool: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const onAbort = () => stop(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const stop = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const w of pool) void w.terminate();
      if (err) reject(err);
      else resolve();
    };
    const feed = (w: Worker) => {
      if (next >= total) return;
      const start = next;
      next = Math.min(total, next + chunk);
      w.postMessage({ start, end: next });
    };
    for (let k = 0; k < count; k++) {
      const w = new Worker(script, { workerData });
      pool.push(w);
      w.on('message', (msg: DecodeReply) => {
        if (msg.type === 'error') return stop(new DataError(`${job.files[msg.index]}: ${msg.message}`));
        finished += msg.end - msg.start;
        if (finished === total) return stop();
        feed(w);
      });
      w.on('error', (err) => stop(new Error(`image decode worker failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (!settled && code !== 0) stop(new Error(`image decode worker exited with code ${code}`));
      });
      feed(w);
    }
  });
}
