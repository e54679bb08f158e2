import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeInto, type ImageTarget } from './image-decode';

/**
 * A decode worker: reads, hashes and decodes the image files of each range
 * the pool sends, writing pixels and sha256 digests straight into shared
 * memory (no copies back to the main thread).
 */

export interface DecodeWorkerData {
  files: string[];
  target: ImageTarget;
  pixels: SharedArrayBuffer;
  digests: SharedArrayBuffer;
}
export type DecodeRequest = { start: number; end: number };
export type DecodeReply =
  | { type: 'done'; start: number; end: number }
  | { type: 'error'; index: number; message: string };

if (parentPort) {
  const port = parentPort;
  const data = workerData as DecodeWorkerData;
  const pixels = new Uint8Array(data.pixels);
  const digests = new Uint8Array(data.digests);
  port.on('message', ({ start, end }: DecodeRequest) => {
    for (let i = start; i < end; i++) {
      try {
        const buf = fs.readFileSync(data.files[i]);
        digests.set(createHash('sha256').update(buf).digest(), i * 32);
        decodeInto(buf, data.target, pixels, i);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const message =
          e.code === 'ENOENT' ? 'file disappeared while loading' : e.code ? `cannot read: ${e.message}` : e.message;
        port.postMessage({ type: 'error', index: i, message } satisfies DecodeReply);
        return;
      }
    }
    port.postMessage({ type: 'done', start, end } satisfies DecodeReply);
  });
}
