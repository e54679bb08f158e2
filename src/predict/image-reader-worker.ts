import { parentPort } from 'node:worker_threads';
import type { InputSize } from './preprocess';
import { readImageInto, type ReadOutcome } from './read-image';

/** An image-reader thread: reads and decodes the files of each request into shared memory. */

export interface ReaderRequest {
  files: string[];
  /** Slot of files[0] in `pixels`. */
  first: number;
  size: InputSize;
  pixels: SharedArrayBuffer;
}
export type ReaderReply = ReadOutcome[];

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: ReaderRequest) => {
    const out = new Uint8Array(req.pixels);
    port.postMessage(
      req.files.map((file, i) => readImageInto(file, req.size, out, req.first + i)) satisfies ReaderReply,
    );
  });
}
