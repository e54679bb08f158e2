import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ReaderReply, ReaderRequest } from './image-reader-worker';
import type { InputSize } from './preprocess';
import { readImageInto, type ReadOutcome } from './read-image';

/**
 * Reading and decoding inputs on worker threads, so that `pipeline predict` decodes the next
 * chunk of files while the main thread runs the model on this one. Each worker takes a
 * contiguous part of a chunk and writes its pixels straight into shared memory. Small jobs
 * (below WORKERS_FROM files) are decoded on the calling thread: starting a worker costs more.
 */

export interface DecodedChunk {
  /** files.length image slots, HWC uint8; a failed file's slot is left zero. */
  pixels: Uint8Array;
  outcomes: ReadOutcome[];
}

const WORKERS_FROM = 512;

export class ImageReader {
  private pool: Worker[] = [];

  private readonly workers: number;
  private readonly from: number;

  /** workers: threads (default: one per core but the one the model runs on, at least 1); from: the smallest job given to them. */
  constructor(
    private readonly size: InputSize,
    o: { workers?: number; from?: number } = {},
  ) {
    this.workers = o.workers ?? Math.max(1, (os.availableParallelism?.() ?? os.cpus().length) - 1);
    this.from = o.from ?? WORKERS_FROM;
  }

  async read(files: string[]): Promise<DecodedChunk> {
    const { height, width, channels } = this.size;
    const sample = height * width * channels;
    if (files.length < this.from || this.workers === 0) {
      const pixels = new Uint8Array(files.length * sample);
      return { pixels, outcomes: files.map((f, i) => readImageInto(f, this.size, pixels, i)) };
    }
    const shared = new SharedArrayBuffer(files.length * sample);
    const count = Math.min(this.workers, files.length);
    const per = Math.ceil(files.length / count);
    const parts = await Promise.all(
      Array.from({ length: count }, (_, w) =>
        this.ask(w, { files: files.slice(w * per, (w + 1) * per), first: w * per, size: this.size, pixels: shared }),
      ),
    );
    return { pixels: new Uint8Array(shared), outcomes: parts.flat() };
  }

  close(): void {
    for (const w of this.pool.splice(0)) void w.terminate();
  }

  private ask(index: number, req: ReaderRequest): Promise<ReaderReply> {
    const w = (this.pool[index] ??= new Worker(path.join(__dirname, 'image-reader-worker.js')));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        w.off('message', onMessage);
        reject(new Error(`image reader thread failed: ${err.message}`));
      };
      const onMessage = (reply: ReaderReply) => {
        w.off('error', onError);
        resolve(reply);
      };
      w.once('message', onMessage);
      w.once('error', onError);
      w.postMessage(req);
    });
  }
}
