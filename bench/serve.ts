/**
 * `npm run bench` parts `predict` and `serve`: `pipeline predict` on CIFAR-10's 10,000 test
 * JPEGs (images/s over the command's wall time, process start and model load included), and
 * `pipeline serve` under load from autocannon at 1, 8 and 64 concurrent connections on
 * 127.0.0.1 (requests/s, p50/p99 latency; each request one test JPEG as the body). Before the
 * load, a check: 1,000 requests from 64 concurrent clients, every answer equal to predict's.
 * autocannon runs in this process, so it shares the machine's cores with the server.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { bin, load1, timed } from './run-measure';

export interface PredictFigures {
  images: number;
  wall: number;
  imagesPerSecond: number;
  rssMB?: number;
  load: number;
  /** Top class and probability by file, for the serve check. */
  answers: Map<string, { class: string; probability: number }>;
}

export function testJpegs(dataDir: string): string[] {
  const root = path.join(dataDir, 'cifar10', 'test');
  return fs
    .readdirSync(root)
    .sort()
    .flatMap((c) =>
      fs
        .readdirSync(path.join(root, c))
        .sort()
        .map((f) => path.join(root, c, f)),
    );
}

export function benchPredict(model: string, runsDir: string, dataDir: string): PredictFigures {
  const load = load1();
  const r = timed(process.execPath, [
    bin,
    'predict',
    model,
    path.join(dataDir, 'cifar10', 'test'),
    '--json',
    '--top-k',
    '1',
    '--runs-dir',
    runsDir,
    '--backend',
    'wasm',
  ]);
  const answers = new Map<string, { class: string; probability: number }>();
  for (const line of r.stdout.trim().split('\n')) {
    const l = JSON.parse(line) as { input: string; predictions: Array<{ class: string; probability: number }> };
    answers.set(l.input, l.predictions[0]);
  }
  return { images: answers.size, wall: r.wall, imagesPerSecond: answers.size / r.wall, rssMB: r.rssMB, load, answers };
}

export interface ServeRow {
  connections: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  load: number;
  /** Images per forward pass during this load (from /metadata's batching counters). */
  meanBatch: number;
}

export interface ServeFigures {
  check: { requests: number; answered: number; equal: number; maxProbabilityDiff: number };
  rows: ServeRow[];
  exitCode: number | null;
}

async function startServe(
  model: string,
  runsDir: string,
): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [bin, 'serve', model, '--port', '0', '--runs-dir', runsDir, '--backend', 'wasm'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // the per-request log lines are not kept
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`pipeline serve exited with ${code}`)));
  });
  return { url, stop: () => (child.kill('SIGTERM'), exited) };
}

/** `requests` requests from `clients` concurrent clients, over distinct test images, compared with predict's answers. */
async function checkAgainstPredict(
  url: string,
  files: string[],
  answers: PredictFigures['answers'],
  requests: number,
  clients: number,
): Promise<ServeFigures['check']> {
  let next = 0;
  let answered = 0;
  let equal = 0;
  let maxProbabilityDiff = 0;
  const client = async () => {
    while (next < requests) {
      const file = files[next++ % files.length];
      const r = await fetch(`${url}/predict?top_k=1`, {
        method: 'POST',
        body: fs.readFileSync(file),
        headers: { 'content-type': 'image/jpeg' },
      });
      if (r.status !== 200) continue;
      answered++;
      const p = ((await r.json()) as { predictions: Array<{ class: string; probability: number }> }).predictions[0];
      const want = answers.get(file)!;
      if (p.class === want.class) equal++;
      maxProbabilityDiff = Math.max(maxProbabilityDiff, Math.abs(p.probability - want.probability));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { requests, answered, equal, maxProbabilityDiff };
}

export async function benchServe(
  model: string,
  runsDir: string,
  files: string[],
  answers: PredictFigures['answers'],
  o: { connections: number[]; seconds: number },
): Promise<ServeFigures> {
  const server = await startServe(model, runsDir);
  let exitCode: number | null = null;
  const rows: ServeRow[] = [];
  let check: ServeFigures['check'];
  try {
    // Spread over the classes: every 10th test image.
    check = await checkAgainstPredict(
      server.url,
      files.filter((_, i) => i % 10 === 0),
      answers,
      1000,
      64,
    );
    const bodies = files.filter((_, i) => i % 200 === 0).map((f) => fs.readFileSync(f));
    const batching = async () =>
      ((await (await fetch(`${server.url}/metadata`)).json()) as { batching: { batches: number; images: number } })
        .batching;
    for (const connections of o.connections) {
      const load = load1();
      const before = await batching();
      const r = await autocannon({
        url: `${server.url}/predict`,
        connections,
        duration: o.seconds,
        requests: bodies.map((body) => ({
          method: 'POST' as const,
          path: '/predict',
          headers: { 'content-type': 'image/jpeg' },
          body,
        })),
      });
      const after = await batching();
      const meanBatch = (after.images - before.images) / Math.max(1, after.batches - before.batches);
      rows.push({
        connections,
        requestsPerSecond: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        requests: r.requests.total,
        non2xx: r.non2xx,
        errors: r.errors,
        load,
        meanBatch,
      });
    }
  } finally {
    exitCode = await server.stop();
  }
  return { check, rows, exitCode };
}
