/**
 * What the predict, export and serve tests share: a model trained by the real `pipeline run`
 * on the generated PNG image folder, extra inputs (a JPEG of another size, a truncated JPEG,
 * a file that is not an image), and the CLI as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { jpg } from '../data/fixtures';
import { tempDir, tinyExperiment, writeExperiment, writePngDataset } from '../pipeline/helpers';

export const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Trained {
  work: string;
  runs: string;
  env: NodeJS.ProcessEnv;
  /** The generated image folder (train/<class>/, test/<class>/ of 8x8 PNGs). */
  data: string;
  testDir: string;
  /** A 48x36 colour JPEG (resized to 8x8 on input), its bright quadrant south-east. */
  bigJpeg: string;
  /** That JPEG cut in the middle of its image data. */
  truncated: string;
  /** A text file. */
  notImage: string;
}

export function pipeline(
  t: Pick<Trained, 'env'>,
  args: string[],
  opts: { input?: string; onStart?: (c: ChildProcess) => void } = {},
): Promise<Result> {
  return runNode(BIN, args, { ...opts, env: t.env });
}

/** A Node script as a child process; resolves when it has exited and closed its output. */
export function runNode(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; onStart?: (c: ChildProcess) => void } = {},
): Promise<Result> {
  const child = spawn(process.execPath, [script, ...args], {
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  opts.onStart?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.end(opts.input ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Trains tiny/1 (2 epochs, wasm) into a fresh runs root. */
export async function trainTiny(): Promise<Trained> {
  const work = tempDir('pipeline-predict-');
  const data = writePngDataset(path.join(work, 'data'), { train: 128, test: 64 });
  const runs = path.join(work, 'runs');
  const env = { ...process.env, PIPELINE_CACHE_DIR: path.join(work, 'cache'), PIPELINE_RUNS_DIR: runs };
  const t: Trained = {
    work,
    runs,
    env,
    data,
    testDir: path.join(data, 'test'),
    bigJpeg: path.join(work, 'inputs', 'big.jpg'),
    truncated: path.join(work, 'inputs', 'truncated.jpg'),
    notImage: path.join(work, 'inputs', 'notes.txt'),
  };
  const r = await pipeline(t, [
    'run',
    writeExperiment(work, tinyExperiment({ dataPath: data, epochs: 2 })),
    '--backend',
    'wasm',
    '--json',
  ]);
  if (r.code !== 0) throw new Error(`pipeline run failed: ${r.stderr}`);
  fs.mkdirSync(path.join(work, 'inputs'));
  // Textured, so most of the file is image data and the cut lands in it, past the header.
  const big = jpg(
    48,
    36,
    (x, y) => (x >= 24 && y >= 18 ? [200, 190, 180] : [30, 40, 50]).map((v) => v + ((x * 7 + y * 13) % 40)),
    95,
  );
  fs.writeFileSync(t.bigJpeg, big);
  fs.writeFileSync(t.truncated, big.subarray(0, Math.floor(big.length * 0.6)));
  fs.writeFileSync(t.notImage, 'not an image\n');
  return t;
}

/** predict --json lines, parsed. */
export function jsonLines<T = any>(stdout: string): T[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}
