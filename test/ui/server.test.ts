import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { diffRuns, seedSentence } from '../../src/runs/diff';
import { listTable, lsTable } from '../../src/runs/ls';
import { Run } from '../../src/runs/read';
import { runDamage } from '../../src/ui/damage';
import { fileSegments } from '../../src/ui/files';
import { createUiServer, CSP } from '../../src/ui/server';
import { curve, tempRoot, writeRun } from '../runs/fixture';
import { startUi } from './browser';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

test('fileSegments: plain segments only', () => {
  const cases: Array<[string, string[] | string]> = [
    ['tiny/1/meta.json', ['tiny', '1', 'meta.json']],
    ['%3Cscript%3E/1/model/model.json', ['<script>', '1', 'model', 'model.json']],
    ['tiny/1/../../x', 'path segment ".." is not allowed'],
    ['%2e%2e/x', 'path segment ".." is not allowed'],
    ['tiny/./1', 'path segment "." is not allowed'],
    ['tiny//1', 'path segment "" is not allowed'],
    ['/etc/passwd', 'absolute paths are not served'],
    ['', 'absolute paths are not served'],
    ['tiny%2F1', 'path segment "tiny/1" is not allowed'],
    ['tiny%5C..%5Cx', 'path segment "tiny\\..\\x" is not allowed'],
    ['tiny/1/x%00.json', 'path segment "x\0.json" is not allowed'],
    ['tiny/1/.model.tmp-1', 'hidden files are not served'],
    ['tiny/%E0%A4%A', 'bad percent-encoding in "%E0%A4%A"'],
  ];
  for (const [raw, want] of cases) {
    if (Array.isArray(want)) assert.deepEqual(fileSegments(raw), want, raw);
    else assert.throws(() => fileSegments(raw), { message: want }, raw);
  }
});

test('runDamage: what the readers step over is reported', () => {
  const root = tempRoot();
  const dir = (f: Parameters<typeof writeRun>[1]) => Run.fromDir(writeRun(root, f));
  assert.deepEqual(runDamage(dir({})), []);
  assert.deepEqual(runDamage(dir({ partialLine: true })), ['metrics.jsonl ends in a partial line']);
  // A running run's last line may be a write in progress.
  assert.deepEqual(
    runDamage(
      dir({
        status: 'running',
        pid: process.pid,
        startedAt: new Date().toISOString(),
        partialLine: true,
        summary: false,
      }),
    ),
    [],
  );
  assert.deepEqual(runDamage(dir({ noMeta: true })), ['no meta.json']);
  const garbled = dir({});
  fs.writeFileSync(path.join(garbled.dir, 'meta.json'), '{"status": ');
  fs.writeFileSync(path.join(garbled.dir, 'summary.json'), 'nope');
  assert.deepEqual(runDamage(garbled), ['meta.json is not valid JSON', 'summary.json is not valid JSON']);
});

async function serve(root: string) {
  const app = createUiServer({ root, host: '127.0.0.1', watch: { fastMs: 100, fullMs: 1000 } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}

test("the JSON API answers with the CLI readers' results", async () => {
  const root = tempRoot();
  for (const [lr, seed, q] of [
    [0.001, 1, 0.5],
    [0.001, 2, 0.52],
    [0.003, 1, 0.6],
    [0.003, 2, 0.61],
  ] as const) {
    writeRun(root, { set: { 'training.optimizer.learningRate': lr, seed }, metrics: curve(3, q) });
  }
  const s = await serve(root);
  try {
    const runs = await (await fetch(s.url + '/api/runs')).json();
    const ls = listTable({ root });
    assert.deepEqual(
      runs.columns.map((c: { key: string }) => c.key),
      ls.columns.map((c) => c.key),
    );
    assert.deepEqual(
      runs.rows.map((r: { cells: string[] }) => r.cells),
      lsTable(ls).rows,
      'cells as `pipeline ls` prints them',
    );

    const cmp = await (await fetch(`${s.url}/api/compare?run=cifar-lenet%2F1&run=cifar-lenet%2F3`)).json();
    const report = diffRuns(
      Run.fromDir(path.join(root, 'cifar-lenet/1')),
      Run.fromDir(path.join(root, 'cifar-lenet/3')),
    );
    assert.deepEqual(cmp.diffs[0].config, JSON.parse(JSON.stringify(report.config)));
    assert.equal(cmp.diffs[0].seedVerdict, seedSentence(report.seedSpread!, 'cifar-lenet/1', 'cifar-lenet/3'));
    assert.deepEqual(
      new Set(cmp.points.map((p: { series: string }) => p.series)),
      new Set(['cifar-lenet/1', 'cifar-lenet/3']),
    );

    const missing = await fetch(s.url + '/api/runs/cifar-lenet/9');
    assert.deepEqual([missing.status, await missing.json()], [404, { error: 'no run cifar-lenet/9' }]);
    const noSweep = await fetch(s.url + '/api/sweeps/cifar-lenet/sweeps/1');
    assert.deepEqual([noSweep.status, await noSweep.json()], [404, { error: 'no sweep cifar-lenet/sweeps/1' }]);
    const page = await fetch(s.url + '/');
    assert.equal(page.headers.get('content-security-policy'), CSP);
    assert.match(await page.text(), /<script type="module" src="\/assets\/app.js"><\/script>/);
    const vendor = await fetch(s.url + '/vendor/vega-lite.min.js');
    assert.equal(vendor.status, 200);
    assert.match(vendor.headers.get('content-type')!, /javascript/);
  } finally {
    await s.close();
  }
});

test('a runs folder replaced by a file while serving: a JSON error that says so, not an internal error', async () => {
  const root = path.join(tempRoot(), 'runs');
  fs.mkdirSync(root);
  const s = await serve(root);
  try {
    fs.rmdirSync(root);
    fs.writeFileSync(root, 'not a folder');
    const r = await fetch(s.url + '/api/runs');
    assert.deepEqual(
      [r.status, await r.json()],
      [
        500,
        {
          error: `cannot use ${root}: part of that path is a file, not a folder; move the file away or choose another location`,
        },
      ],
    );
  } finally {
    await s.close();
  }
});

test('server-sent events name a running run within 2 s of its new epoch line', async () => {
  const root = tempRoot();
  writeRun(root, {});
  const dir = writeRun(root, {
    status: 'running',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    summary: false,
    metrics: curve(1),
  });
  const s = await serve(root);
  try {
    const got = await new Promise<{ ms: number; data: unknown }>((resolve, reject) => {
      let t0 = 0;
      const req = http.get(s.url + '/api/events', (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        let buf = '';
        res.on('data', (d) => {
          buf += d;
          if (t0 === 0 && buf.includes('retry:')) {
            // Subscribed: the watcher has its first picture; now the run writes an epoch.
            setTimeout(
              () => (
                (t0 = Date.now()),
                fs.appendFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(curve(2)[1]) + '\n')
              ),
              200,
            );
          }
          const m = /event: changes\ndata: (.*)\n\n/.exec(buf);
          if (m) {
            req.destroy();
            resolve({ ms: Date.now() - t0, data: JSON.parse(m[1]) });
          }
        });
      });
      req.on('error', reject);
      setTimeout(() => reject(new Error('no event within 5 s')), 5000);
    });
    assert.deepEqual(got.data, { runs: ['cifar-lenet/2'], sweeps: [] });
    assert.ok(got.ms < 2000, `${got.ms} ms`);
  } finally {
    await s.close();
  }
});

test("pipeline ui: --help, a bad port, a port in use, a public host warns; eval --save only on the run's own data", async () => {
  const help = spawnSync(process.execPath, [BIN, 'ui', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const line of [
    'Usage: pipeline ui [options]',
    '--runs-dir <dir>',
    '--port <n>',
    '--host <address>',
    '--open',
    'Read-only',
  ])
    assert.ok(help.stdout.includes(line), line);

  const bad = spawnSync(process.execPath, [BIN, 'ui', '--port', 'http'], { encoding: 'utf8' });
  assert.deepEqual([bad.status, bad.stderr], [2, 'error: --port must be a number from 0 to 65535, got "http"\n']);

  const save = spawnSync(process.execPath, [BIN, 'eval', 'tiny/1', '--save', '--set', 'dataset.limit.test=10'], {
    encoding: 'utf8',
  });
  assert.deepEqual(
    [save.status, save.stderr],
    [2, "error: --save keeps the evaluation on the run's own test split; drop --set, or drop --save\n"],
  );

  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const busy = spawnSync(process.execPath, [BIN, 'ui', '--port', String(port), '--runs-dir', tempRoot()], {
    encoding: 'utf8',
  });
  blocker.close();
  assert.deepEqual(
    [busy.status, busy.stderr],
    [1, `error: port ${port} on 127.0.0.1 is in use; choose another with --port\n`],
  );

  const file = path.join(tempRoot(), 'runs-file');
  fs.writeFileSync(file, 'not a folder');
  const notDir = spawnSync(process.execPath, [BIN, 'ui', '--port', '0', '--runs-dir', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.deepEqual(
    [notDir.status, notDir.stderr],
    [
      1,
      `error: cannot use ${file}: part of that path is a file, not a folder; move the file away or choose another location\n`,
    ],
  );

  const root = tempRoot();
  const ui = await startUi(['--host', '0.0.0.0', '--runs-dir', root]);
  // Written before the address, but on another pipe.
  for (let i = 0; i < 100 && !ui.stderr().endsWith('\n'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(
    ui.stderr(),
    `warning: listening on 0.0.0.0: anyone who can reach this machine on port ${new URL(ui.url).port} can read every run in ${root}\n`,
  );
  assert.equal(await ui.stop(), 0);
});
