import { DataError } from '../errors';
import { ImageReader, type DecodedChunk } from './image-reader';
import { topK, type Predictor, type Ranked } from './predictor';
import { formatResize, type ResizeNote } from './preprocess';

/**
 * `pipeline predict`'s loop: inputs are read and decoded in chunks of a few batches (on
 * reader threads, a chunk ahead), each chunk predicted in large batches and printed in
 * input order. An input that cannot be read
 * or decoded is reported by name (stderr, and in the --json/--csv row) and the others go
 * on; the caller learns how many failed. With failFast the first failure stops everything.
 */

export type PredictFormat = 'text' | 'json' | 'csv';

export interface PredictOptions {
  format: PredictFormat;
  topK: number;
  failFast?: boolean;
  /** Threads reading and decoding images (default: one per core but one). */
  readers?: number;
  write(text: string): void;
  warn(text: string): void;
}

export interface PredictResult {
  input: string;
  predictions?: Ranked[];
  resized?: ResizeNote;
  error?: string;
}

export interface PredictSummary {
  total: number;
  failed: number;
}

/** Inputs are decoded and predicted this many batches at a time. */
const CHUNK_BATCHES = 4;

export async function predictInputs(
  predictor: Predictor,
  inputs: AsyncIterable<string>,
  o: PredictOptions,
): Promise<PredictSummary> {
  const summary: PredictSummary = { total: 0, failed: 0 };
  const columns = Math.min(o.topK, predictor.classes.length);
  if (o.format === 'csv') o.write(csvHeader(columns));
  const reader = new ImageReader(predictor.size, { workers: o.readers });
  try {
    // While the model runs on one chunk, the reader threads decode the next.
    let pending: { files: string[]; decoded: Promise<DecodedChunk> } | undefined;
    for await (const files of chunksOf(inputs, predictor.batchSize * CHUNK_BATCHES)) {
      const next = { files, decoded: reader.read(files) };
      next.decoded.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
      if (pending) predictChunk(predictor, pending.files, await pending.decoded, o, columns, summary);
      pending = next;
    }
    if (pending) predictChunk(predictor, pending.files, await pending.decoded, o, columns, summary);
  } finally {
    reader.close();
  }
  return summary;
}

async function* chunksOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

function predictChunk(
  predictor: Predictor,
  files: string[],
  decoded: DecodedChunk,
  o: PredictOptions,
  columns: number,
  summary: PredictSummary,
): void {
  const { height, width, channels } = predictor.size;
  const sample = height * width * channels;
  const results: PredictResult[] = [];
  // The images that decoded, packed to the front: failed files leave no gap in the batch.
  const allRead = decoded.outcomes.every((r) => r.ok);
  const pixels = allRead ? decoded.pixels : new Uint8Array(files.length * sample);
  const slots: number[] = [];
  files.forEach((file, i) => {
    const outcome = decoded.outcomes[i];
    if (outcome.ok) {
      if (!allRead) pixels.set(decoded.pixels.subarray(i * sample, (i + 1) * sample), slots.length * sample);
      slots.push(results.length);
      results.push({ input: file, resized: outcome.resized });
      return;
    }
    summary.failed++;
    if (o.failFast) throw new DataError(`${file}: ${outcome.error}`);
    o.warn(`${file}: ${outcome.error}\n`);
    results.push({ input: file, error: outcome.error });
  });
  summary.total += files.length;
  const p = predictor.predict(pixels, slots.length);
  slots.forEach((r, i) => (results[r].predictions = topK(p, i, predictor.classes, o.topK)));
  o.write(results.map((r) => formatResult(r, o.format, columns)).join(''));
}

const prob = (v: number) => v.toFixed(4);

/** One input's line; `columns`: the top-k count, so a CSV row of a failed input has as many cells as the others. */
export function formatResult(r: PredictResult, format: PredictFormat, columns: number): string {
  if (format === 'json') {
    const value = r.error
      ? { input: r.input, error: r.error }
      : {
          input: r.input,
          predictions: r.predictions!.map(({ class: c, probability }) => ({ class: c, probability })),
          resized: r.resized ?? null,
        };
    return JSON.stringify(value) + '\n';
  }
  if (format === 'csv') {
    const cells = r.error
      ? new Array<string>(2 * columns).fill('')
      : r.predictions!.flatMap((p) => [p.class, String(p.probability)]);
    return [r.input, ...cells, formatResize(r.resized), r.error ?? ''].map(csvCell).join(',') + '\n';
  }
  if (r.error) return '';
  const ranked = r.predictions!.map((p) => `${p.class} ${prob(p.probability)}`).join('  ');
  return `${r.input}  ${ranked}${r.resized ? `  (${formatResize(r.resized)})` : ''}\n`;
}

function csvHeader(k: number): string {
  const ranks = Array.from({ length: k }, (_, i) => [`class_${i + 1}`, `probability_${i + 1}`]).flat();
  return ['input', ...ranks, 'resized', 'error'].join(',') + '\n';
}

/** RFC 4180: quote a cell with a comma, quote or line break; double its quotes. */
function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
