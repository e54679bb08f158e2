import * as fs from 'node:fs';
import { imageInto, type InputSize, type ResizeNote } from './preprocess';

/** One input file's outcome: where its pixels went (and how it was resized), or why it could not be read. */
export type ReadOutcome = { ok: true; resized?: ResizeNote } | { ok: false; error: string };

/** Reads and decodes `file` into image slot `index` of `out`; never throws for a bad file. */
export function readImageInto(file: string, size: InputSize, out: Uint8Array, index: number): ReadOutcome {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      ok: false,
      error:
        e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : `cannot read: ${e.message}`,
    };
  }
  try {
    return { ok: true, resized: imageInto(bytes, size, out, index) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
