import * as fs from 'node:fs';
import { DataError } from '../errors';
import { topK, type Predictor, type Ranked } from './predictor';
import { formatResize, imageInto, type ResizeNote } from './preprocess';

/**
 * `pipeline predict`'s loop: inputs are read and decoded in chunks of a few batches, each
 * chunk predicted in large batches and printed in input order. An input that cannot be read
 * or decoded is reported by name (stderr, and in the --json/--csv row) and the others go
 * on; the caller learns how many failed. With failFast the first failure stops everything.
 */

export type PredictFormat = 'text' | 'json' | 'csv';

export interface PredictOptions {
  format: PredictFormat;
  topK: number;
  failFast?: boolean;
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

export async function predictInputs(predictor: Predictor, inputs: AsyncIterable<string>, o: PredictOptions): Promise<PredictSummary> {
  const summary: PredictSummary = { total: 0, failed: 0 };
  const chunk: string[] = [];
  const limit = predictor.batchSize * CHUNK_BATCHES;
  if (o.format === 'csv') o.write(csvHeader(Math.min(o.topK, predictor.classes.length)));
  for await (const input of inputs) {
    chunk.push(input);
    if (chunk.length >= limit) predictChunk(predictor, chunk.splice(0), o, summary);
  }
  if (chunk.length) predictChunk(predictor, chunk, o, summary);
  return summary;
}

function predictChunk(predictor: Predictor, files: string[], o: PredictOptions, summary: PredictSummary): void {
  const { height, width, channels } = predictor.size;
  const pixels = new Uint8Array(files.length * height * width * channels);
  const results: PredictResult[] = [];
  const slots: number[] = [];
  for (const file of files) {
    const result: PredictResult = { input: file };
    try {
      result.resized = imageInto(readInput(file), predictor.size, pixels, slots.length);
      slots.push(results.length);
    } catch (err) {
      result.error = (err as Error).message;
      summary.failed++;
      if (o.failFast) throw new DataError(`${file}: ${result.error}`);
      o.warn(`${file}: ${result.error}\n`);
    }
    results.push(result);
  }
  summary.total += files.length;
  const p = predictor.predict(pixels, slots.length);
  slots.forEach((r, i) => (results[r].predictions = topK(p, i, predictor.classes, o.topK)));
  const columns = Math.min(o.topK, predictor.classes.length);
  o.write(results.map((r) => formatResult(r, o.format, columns)).join(''));
}

function readInput(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : `cannot read: ${e.message}`);
  }
}

const prob = (v: number) => v.toFixed(4);

/** One input's line; `columns`: the top-k count, so a CSV row of a failed input has as many cells as the others. */
export function formatResult(r: PredictResult, format: PredictFormat, columns: number): string {
  if (format === 'json') {
    const value = r.error ? { input: r.input, error: r.error } : { input: r.input, predictions: r.predictions!.map(({ class: c, probability }) => ({ class: c, probability })), resized: r.resized ?? null };
    return JSON.stringify(value) + '\n';
  }
  if (format === 'csv') {
    const cells = r.error ? new Array<string>(2 * columns).fill('') : r.predictions!.flatMap((p) => [p.class, String(p.probability)]);
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
