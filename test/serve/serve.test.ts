/**
 * `pipeline serve` as a child process on 127.0.0.1, real HTTP, a model trained by the real
 * `pipeline run`: answers equal `pipeline predict`'s, concurrent clients are batched, every
 * bad request gets its JSON error and the server keeps serving, SIGTERM finishes in-flight
 * requests and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CLASSES } from '../pipeline/helpers';
import { BIN, jsonLines, pipeline, trainTiny, type Trained } from '../predict/trained';

interface Server {
  child: ChildProcess;
  url: string;
  /** pino's lines so far. */
  log: () => Array<Record<string, any>>;
  exited: Promise<number | null>;
}

function startServer(t: Trained, args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', 'tiny/1', '--port', '0', '--backend', 'wasm', ...args], {
    env: t.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const log = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const serving = log().find((l) => typeof l.msg === 'string' && l.msg.startsWith('serving '));
      if (serving) resolve({ child, url: serving.address, log, exited });
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

const ready = trainTiny();
let t: Trained;
let server: Server;
/** predict --json's answers for the test images, by file. */
const expected = new Map<string, Array<{ class: string; probability: number }>>();
let files: string[] = [];

test.before(async () => {
  t = await ready;
  const [s, p] = await Promise.all([
    startServer(t, ['--top-k', '4']),
    pipeline(t, ['predict', 'tiny/1', t.testDir, '--json', '--top-k', '4', '--backend', 'wasm']),
  ]);
  server = s;
  assert.equal(p.code, 0, p.stderr);
  for (const l of jsonLines(p.stdout)) expected.set(l.input, l.predictions);
  files = [...expected.keys()];
});
test.after(async () => {
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});

const post = (url: string, body: string | Buffer, type: string) =>
  fetch(`${url}/predict`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': type },
  });

test('GET /healthz and /metadata describe the model', async () => {
  assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
  const m = (await (await fetch(`${server.url}/metadata`)).json()) as Record<string, any>;
  assert.equal(m.model, 'tiny/1');
  assert.deepEqual(m.classes, CLASSES);
  assert.deepEqual(m.inputShape, [8, 8, 3]);
  assert.deepEqual(m.normalization, {
    type: 'scale',
    mean: [0, 0, 0],
    std: [1, 1, 1],
    formula: 'x[c] = (pixel[c] / 255 - mean[c]) / std[c]',
  });
  assert.equal(m.run.ref, 'tiny/1');
  assert.equal(typeof m.metrics.final.testAccuracy, 'number');
  assert.deepEqual(m.limits, { bodyBytes: 8388608, concurrentRequests: 256 });
});

test('a port in use: exit 2 with one line', async () => {
  const r = await pipeline(t, ['serve', 'tiny/1', '--port', new URL(server.url).port, '--backend', 'wasm']);
  assert.deepEqual(
    [r.code, r.stderr],
    [2, `error: cannot listen on 127.0.0.1:${new URL(server.url).port}: address in use\n`],
  );
});

test('200 requests from 16 concurrent clients: all answered, equal to predict', async () => {
  let next = 0;
  const answers: Array<[string, unknown]> = [];
  const client = async () => {
    while (next < 200) {
      const file = files[next++ % files.length];
      const r = await post(server.url, fs.readFileSync(file), 'image/png');
      assert.equal(r.status, 200);
      const body = (await r.json()) as { predictions: Array<{ top: unknown }> };
      answers.push([file, body.predictions[0].top]);
    }
  };
  await Promise.all(Array.from({ length: 16 }, client));
  assert.equal(answers.length, 200);
  for (const [file, top] of answers) assert.deepEqual(top, expected.get(file), file);
  const m = (await (await fetch(`${server.url}/metadata`)).json()) as { batching: { images: number; batches: number } };
  assert.ok(m.batching.images >= 200);
});

test('JSON instances: base64 images and pixel arrays, as TensorFlow Serving takes them', async () => {
  const [a, b] = files;
  const png = fs.readFileSync(a);
  const { PNG } = await import('pngjs');
  const img = PNG.sync.read(fs.readFileSync(b));
  const pixels = Array.from({ length: 8 }, (_, y) =>
    Array.from({ length: 8 }, (_, x) => [0, 1, 2].map((c) => img.data[(y * 8 + x) * 4 + c])),
  );
  const r = await post(
    server.url,
    JSON.stringify({ instances: [{ b64: png.toString('base64') }, pixels] }),
    'application/json',
  );
  assert.equal(r.status, 200);
  const body = (await r.json()) as { predictions: Array<{ class: string; top: unknown; resized: unknown }> };
  assert.deepEqual(
    body.predictions.map((p) => p.top),
    [expected.get(a), expected.get(b)],
  );
  assert.equal(body.predictions[0].class, expected.get(a)![0].class);

  const big = await post(server.url, fs.readFileSync(t.bigJpeg), 'image/jpeg');
  assert.deepEqual(((await big.json()) as { predictions: Array<{ resized: unknown }> }).predictions[0].resized, {
    from: [48, 36],
    to: [8, 8],
    method: 'bilinear',
  });
  const two = (await (
    await fetch(`${server.url}/predict?top_k=2`, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png' },
    })
  ).json()) as { predictions: Array<{ top: unknown[] }> };
  assert.equal(two.predictions[0].top.length, 2);
});

test('bad requests get a JSON error with their status, and the server keeps serving', async () => {
  const truncated = fs.readFileSync(t.truncated);
  const cases: Array<[string, () => Promise<Response>, number, Record<string, string>]> = [
    [
      'non-image body',
      () => post(server.url, fs.readFileSync(t.notImage), 'image/jpeg'),
      400,
      { error: 'not a JPEG or PNG file', code: 'BAD_INPUT' },
    ],
    [
      'truncated JPEG',
      () => post(server.url, truncated, 'image/jpeg'),
      400,
      { error: 'cannot decode JPEG: corrupt or truncated image data', code: 'BAD_INPUT' },
    ],
    [
      'wrong content type',
      () => post(server.url, 'hello', 'text/plain'),
      415,
      {
        error:
          'unsupported content type "text/plain"; send application/json ({"instances": [...]}) or an image as image/jpeg, image/png, application/octet-stream',
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      },
    ],
    [
      'no content type',
      () => fetch(`${server.url}/predict`, { method: 'POST', body: new Uint8Array(fs.readFileSync(files[0])) }),
      415,
      {
        error:
          'no content type; send application/json ({"instances": [...]}) or an image as image/jpeg, image/png, application/octet-stream',
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      },
    ],
    [
      'empty image body',
      () => post(server.url, '', 'image/png'),
      400,
      { error: 'the body is empty', code: 'BAD_INPUT' },
    ],
    [
      'invalid JSON',
      () => post(server.url, '{"instances": [', 'application/json'),
      400,
      { error: 'the body is not valid JSON', code: 'FST_ERR_CTP_INVALID_JSON_BODY' },
    ],
    [
      'bad instance',
      () =>
        post(server.url, JSON.stringify({ instances: [{ b64: truncated.toString('base64') }] }), 'application/json'),
      400,
      { error: 'instances[0]: cannot decode JPEG: corrupt or truncated image data', code: 'BAD_INPUT' },
    ],
    [
      'pixel array of the wrong size',
      () => post(server.url, JSON.stringify({ instances: [[[1, 2, 3]]] }), 'application/json'),
      400,
      { error: 'instances[0]: pixel array: has 1 rows; expected [8][8][3] numbers 0-255', code: 'BAD_INPUT' },
    ],
    [
      'no instances',
      () => post(server.url, JSON.stringify({ inputs: [] }), 'application/json'),
      400,
      {
        error:
          'expected a JSON object {"instances": [...]}, each instance {"b64": "<base64 JPEG or PNG>"} or a [height][width][channels] pixel array',
        code: 'BAD_INPUT',
      },
    ],
    [
      'bad top_k',
      () =>
        fetch(`${server.url}/predict?top_k=x`, {
          method: 'POST',
          body: fs.readFileSync(files[0]),
          headers: { 'content-type': 'image/png' },
        }),
      400,
      { error: 'top_k=x: expected a whole number >= 1', code: 'BAD_INPUT' },
    ],
    [
      'unknown route',
      () => fetch(`${server.url}/v1/models`),
      404,
      { error: 'no route GET /v1/models; routes: GET /healthz, GET /metadata, POST /predict', code: 'NOT_FOUND' },
    ],
  ];
  for (const [what, send, status, body] of cases) {
    const r = await send();
    assert.equal(r.status, status, what);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
    assert.deepEqual(await r.json(), body, what);
  }
  const ok = await post(server.url, fs.readFileSync(files[0]), 'image/png');
  assert.equal(ok.status, 200);
});

/** Sends a whole request on a raw socket and closes the connection `afterMs` later, before any answer. */
function sendAndHangUp(url: string, body: Buffer, afterMs: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        `POST /predict HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: image/png\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body, () => setTimeout(() => socket.destroy(), afterMs));
    });
    socket.on('data', () => reject(new Error('answered before the hang-up')));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

test('a client that closes its connection mid-body does not disturb the server', async () => {
  const { hostname, port } = new URL(server.url);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        `POST /predict HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n`,
      );
      socket.write(fs.readFileSync(t.bigJpeg).subarray(0, 200), () => setTimeout(() => socket.destroy(), 50));
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  const deadline = Date.now() + 5000;
  while (!server.log().some((l) => l.aborted === true) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  assert.ok(
    server.log().some((l) => l.aborted === true && l.url === '/predict'),
    'the aborted request is logged',
  );
  const ok = await post(server.url, fs.readFileSync(files[1]), 'image/png');
  assert.equal(ok.status, 200);
  assert.deepEqual(
    ((await ok.json()) as { predictions: Array<{ top: unknown }> }).predictions[0].top,
    expected.get(files[1]),
  );
});

test('one pino line per request: method, url, status, milliseconds', () => {
  const requests = server.log().filter((l) => l.msg === 'request');
  assert.ok(requests.length >= 200);
  for (const l of requests)
    assert.deepEqual(
      Object.keys(l).filter((k) => ['method', 'url', 'status', 'ms'].includes(k)),
      ['method', 'url', 'status', 'ms'],
    );
});

test('limits: 413 over the body limit, 503 over the concurrency limit; requests wait to share a batch; SIGTERM answers in-flight requests and exits 0', async () => {
  const s = await startServer(t, [
    '--body-limit',
    '2000',
    '--max-concurrent',
    '2',
    '--batch-delay',
    '1500',
    '--top-k',
    '4',
  ]);
  const big = await post(s.url, Buffer.alloc(3000, 1), 'image/jpeg');
  assert.equal(big.status, 413);
  assert.deepEqual(await big.json(), {
    error: 'request body is larger than the limit of 2000 bytes (--body-limit)',
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
  });

  // A client gone while its request waits in the batcher: its answer has nowhere to go, and its slot is freed.
  await sendAndHangUp(s.url, fs.readFileSync(files[1]), 300);
  // Two requests wait in the batcher for 1.5 s, so a third finds the limit reached.
  const first = post(s.url, fs.readFileSync(files[2]), 'image/png');
  const second = post(s.url, fs.readFileSync(files[3]), 'image/png');
  await new Promise((r) => setTimeout(r, 500));
  const third = await post(s.url, fs.readFileSync(files[4]), 'image/png');
  assert.equal(third.status, 503);
  assert.deepEqual(await third.json(), {
    error: 'busy: 2 requests in progress (the --max-concurrent limit); retry shortly',
    code: 'OVERLOADED',
  });
  s.child.kill('SIGTERM');
  const [r1, r2] = await Promise.all([first, second]);
  assert.deepEqual([r1.status, r2.status], [200, 200]);
  assert.deepEqual(
    ((await r1.json()) as { predictions: Array<{ top: unknown }> }).predictions[0].top,
    expected.get(files[2]),
  );
  assert.equal(await s.exited, 0);
  const log = s.log();
  assert.ok(log.some((l) => l.msg === 'SIGTERM: finishing requests in progress, then exiting'));
  assert.equal(log.at(-1)!.msg, 'stopped');
  // Both requests shared one forward pass, with the hung-up one (its answer is dropped).
  assert.deepEqual(
    log.filter((l) => l.msg === 'request' && l.status === 200).map((l) => [l.images, l.batch]),
    [
      [1, 3],
      [1, 3],
    ],
  );
});
