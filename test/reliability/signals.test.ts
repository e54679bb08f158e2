/**
 * Slow and broken servers on 127.0.0.1 and SIGTERM at each stage of a run, against the real
 * CLI: a trickling server is given up on (minimum rate), a slow one at the deadline, a cut-off
 * one at once; SIGTERM stops a download or an image decode at once (exit 130, no .partial
 * folder, no half cache file) and a training run at a batch boundary with a checkpoint; one
 * arriving while the final model is written leaves it whole.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { serve, tempDir, type TestServer } from '../data/fixtures';
import { readJson, tinyExperiment, writeExperiment, writePngDataset } from '../pipeline/helpers';
import { assertClean, cli, errorLines, snapshot } from './harness';

const cifarYaml = (dir: string, url: string) => {
  const p = path.join(dir, 'cifar.yaml');
  fs.writeFileSync(
    p,
    [
      'version: 1',
      'name: net',
      'dataset:',
      '  name: cifar10',
      `  url: ${JSON.stringify(url)}`,
      'model:',
      '  layers:',
      '    - {type: flatten}',
      '    - {type: dense, units: 10}',
      'training:',
      '  epochs: 1',
      '  optimizer: {type: sgd, learningRate: 0.01}',
      '',
    ].join('\n'),
  );
  return p;
};

const offline = (home: string) =>
  [
    `Nothing was written. To work offline, put one of these in ${home}:`,
    `  - cifar-10-binary.tar.gz, the official archive (MD5 c32a1d4ab5d03f1284b67883e8d87530)`,
    `  - its extracted files data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin (directly or in cifar-10-batches-bin/)`,
    `  - the images as train/<class>/*.jpg|png and test/<class>/*.jpg|png`,
    `or point --data-dir or PIPELINE_DATA_DIR at a directory holding cifar10/.`,
  ].join('\n');

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('slow, silent and cut-off servers', () => {
  let server: TestServer;
  const timers = new Set<NodeJS.Timeout>();
  /** Called when a download request arrives (to signal the child at exactly that moment). */
  let onRequest: (() => void) | undefined;
  before(async () => {
    server = await serve((req: http.IncomingMessage, res: http.ServerResponse) => {
      onRequest?.();
      const drip = (bytes: number, everyMs: number, total: number) => {
        res.writeHead(200, { 'content-length': total });
        const t = setInterval(() => res.write(Buffer.alloc(bytes)), everyMs);
        timers.add(t);
        res.on('close', () => clearInterval(t));
      };
      if (req.url === '/trickle.tar.gz')
        drip(1, 100, 1 << 20); // 10 bytes/s
      else if (req.url === '/steady.tar.gz')
        drip(8192, 50, 100 << 20); // 160 KB/s of 100 MB
      else if (req.url === '/silent.tar.gz')
        res.socket?.setKeepAlive(true); // headers never come
      else if (req.url === '/cut.tar.gz') {
        res.writeHead(200, { 'content-length': 100_000 });
        res.write(Buffer.alloc(1000), () => res.socket?.destroy());
      } else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
  });
  after(async () => {
    for (const t of timers) clearInterval(t);
    await server.close();
  });

  const env = {
    PIPELINE_DOWNLOAD_MIN_RATE: '1000',
    PIPELINE_DOWNLOAD_RATE_WINDOW: '1',
    PIPELINE_DOWNLOAD_DEADLINE: '2',
  };
  const cases: Array<{ name: string; url: string; reason: (url: string) => RegExp }> = [
    {
      name: 'a server that trickles 10 bytes/s is given up on after the rate window',
      url: '/trickle.tar.gz',
      reason: (url) =>
        new RegExp(
          `^download of ${escape(url)} is too slow: \\d+ bytes in the last 1(\\.\\d+)? s, below the minimum of 1000 bytes/s \\(PIPELINE_DOWNLOAD_MIN_RATE\\): \\d+ of 1048576 bytes received$`,
        ),
    },
    {
      name: 'a server fast enough but too slow for the deadline',
      url: '/steady.tar.gz',
      reason: (url) =>
        new RegExp(
          `^download of ${escape(url)} did not finish within 2 s \\(PIPELINE_DOWNLOAD_DEADLINE\\): \\d+ of 104857600 bytes received$`,
        ),
    },
    {
      name: 'a server that never answers',
      url: '/silent.tar.gz',
      reason: (url) =>
        new RegExp(
          `^download of ${escape(url)} did not finish within 2 s \\(PIPELINE_DOWNLOAD_DEADLINE\\): 0 of unknown bytes received$`,
        ),
    },
    {
      name: 'a server that cuts the connection',
      url: '/cut.tar.gz',
      reason: (url) => new RegExp(`^download of ${escape(url)} was interrupted after 1000 of 100000 bytes$`),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: exit 1, nothing written`, async () => {
      const root = tempDir('pipeline-http-');
      const url = `${server.url}${c.url}`;
      const yaml = cifarYaml(root, url);
      const before = snapshot(root);
      const r = await cli(['data', yaml, '--data-dir', path.join(root, 'data')], { env, timeoutMs: 30_000 });
      assert.equal(r.code, 1, r.stderr);
      const home = path.join(root, 'data', 'cifar10');
      const lines = errorLines(r.stderr).split('\n');
      const head = `error: cifar10: no CIFAR-10 data in ${home} and the download failed: `;
      assert.ok(lines[0].startsWith(head), lines[0]);
      assert.match(lines[0].slice(head.length), c.reason(url));
      assert.equal(lines.slice(1).join('\n'), offline(home));
      assert.ok(r.seconds < 20, `gave up after ${r.seconds} s`);
      assert.deepEqual(snapshot(root), before);
    });
  }

  it('refuses a bad PIPELINE_DOWNLOAD_DEADLINE with exit 2', async () => {
    const root = tempDir('pipeline-http-');
    const r = await cli(
      ['data', cifarYaml(root, `${server.url}/trickle.tar.gz`), '--data-dir', path.join(root, 'data')],
      { env: { PIPELINE_DOWNLOAD_DEADLINE: 'soon' }, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.equal(errorLines(r.stderr), 'error: PIPELINE_DOWNLOAD_DEADLINE=soon: expected a positive number of seconds');
  });

  it('SIGTERM during `pipeline data` downloading: exit 130 at once, no .partial folder, the home it made is gone', async () => {
    const root = tempDir('pipeline-http-');
    const url = `${server.url}/trickle.tar.gz`;
    const yaml = cifarYaml(root, url);
    const before = snapshot(root);
    let child: ChildProcess | undefined;
    let signalled = 0;
    onRequest = () => {
      signalled = Date.now();
      child?.kill('SIGTERM');
    };
    const r = await cli(['data', yaml, '--data-dir', path.join(root, 'data')], {
      onStart: (c) => (child = c),
      timeoutMs: 30_000,
    });
    onRequest = undefined;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(errorLines(r.stderr), `error: interrupted (SIGTERM) while downloading ${url}`);
    assert.ok(Date.now() - signalled < 5000, 'it stopped within seconds of the signal');
    assert.deepEqual(snapshot(root), before);
  });

  it('SIGTERM during `pipeline run` downloading: exit 130, the run is interrupted (not running), no .partial folder', async () => {
    const root = tempDir('pipeline-http-');
    const url = `${server.url}/trickle.tar.gz`;
    const yaml = cifarYaml(root, url);
    const runs = path.join(root, 'runs');
    let child: ChildProcess | undefined;
    onRequest = () => child?.kill('SIGTERM');
    const r = await cli(['run', yaml, '--data-dir', path.join(root, 'data'), '--runs-dir', runs, '--backend', 'cpu'], {
      onStart: (c) => (child = c),
      timeoutMs: 60_000,
    });
    onRequest = undefined;
    assert.equal(r.code, 130, r.stderr);
    const runDir = path.join(runs, 'net', '1');
    assert.equal(
      errorLines(r.stderr),
      `error: interrupted (SIGTERM) while loading the data, before training; continue with: pipeline run --resume ${runDir}`,
    );
    assert.equal(readJson(path.join(runDir, 'meta.json')).status, 'interrupted');
    assert.equal(fs.existsSync(path.join(root, 'data')), false, 'the data dir it created for the download is gone');
    assertClean(root);
  });
});

describe('SIGTERM while a run decodes, trains and writes', () => {
  const work = tempDir('pipeline-sig-');
  const small = writePngDataset(path.join(work, 'small'), { train: 256, test: 64 });

  it('during image decoding: exit 130 at once, the run interrupted, no cache file or temp left', async () => {
    const big = writePngDataset(path.join(work, 'big'), { train: 3000, test: 600 });
    const cache = path.join(work, 'cache-decode');
    const runs = path.join(work, 'runs-decode');
    const yaml = writeExperiment(tempDir(), tinyExperiment({ dataPath: big }));
    const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'wasm'], {
      env: { PIPELINE_CACHE_DIR: cache },
      timeoutMs: 60_000,
      onStderrLine: (line, child) => {
        if (/imageFolder: decoding 3600 images/.test(line)) child.kill('SIGTERM');
      },
    });
    assert.equal(r.code, 130, r.stderr);
    const runDir = path.join(runs, 'tiny', '1');
    assert.equal(
      errorLines(r.stderr),
      `error: interrupted (SIGTERM) while loading the data, before training; continue with: pipeline run --resume ${runDir}`,
    );
    assert.equal(readJson(path.join(runDir, 'meta.json')).status, 'interrupted');
    assert.deepEqual(
      fs.existsSync(path.join(cache, 'decoded')) ? fs.readdirSync(path.join(cache, 'decoded')) : [],
      [],
      'no cache entry, whole or partial',
    );
    assertClean(runs);
  });

  it('during training: exit 130 after the current batch, a checkpoint, the run interrupted', async () => {
    const runs = path.join(work, 'runs-train');
    const dataBefore = snapshot(small);
    const yaml = writeExperiment(tempDir(), tinyExperiment({ dataPath: small, epochs: 40 }));
    const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'wasm'], {
      env: { PIPELINE_CACHE_DIR: path.join(work, 'cache') },
      timeoutMs: 120_000,
      onStderrLine: (line, child) => {
        if (/epoch 1\/40/.test(line)) child.kill('SIGTERM');
      },
    });
    assert.equal(r.code, 130, r.stderr);
    const runDir = path.join(runs, 'tiny', '1');
    assert.match(
      errorLines(r.stderr),
      new RegExp(
        `^error: interrupted at epoch \\d+, after batch \\d+ of 16; continue with: pipeline run --resume ${escape(runDir)}$`,
      ),
    );
    assert.equal(readJson(path.join(runDir, 'meta.json')).status, 'interrupted');
    assert.ok(readJson(path.join(runDir, 'checkpoints/last/state.json')).position.epoch >= 1);
    assertClean(runs);
    assert.deepEqual(snapshot(small), dataBefore, 'the data is untouched');
  });

  /** Polls (every millisecond) for a name starting with `prefix` in `dir`, then signals the child. */
  const signalWhenWriting = (dir: string, prefix: RegExp) => (child: ChildProcess) => {
    const t = setInterval(() => {
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        return;
      }
      if (names.some((n) => prefix.test(n))) {
        clearInterval(t);
        child.kill('SIGTERM');
      }
    }, 1);
    child.on('close', () => clearInterval(t));
  };

  it('during the first checkpoint write: it completes the write, stops at the next batch boundary, exit 130', async () => {
    const runs = path.join(work, 'runs-ckpt');
    const runDir = path.join(runs, 'tiny', '1');
    const yaml = writeExperiment(tempDir(), tinyExperiment({ dataPath: small, epochs: 40 }));
    const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'wasm'], {
      env: { PIPELINE_CACHE_DIR: path.join(work, 'cache') },
      timeoutMs: 120_000,
      onStart: signalWhenWriting(path.join(runDir, 'checkpoints'), /^(\.last\.tmp-|last$)/),
    });
    assert.equal(r.code, 130, r.stderr);
    assert.match(
      errorLines(r.stderr),
      new RegExp(
        `^error: interrupted at epoch \\d+, after batch \\d+ of 16; continue with: pipeline run --resume ${escape(runDir)}$`,
      ),
    );
    assert.equal(readJson(path.join(runDir, 'meta.json')).status, 'interrupted');
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints/last/state.json')));
    assertClean(runs);
  });

  it('during the final model write: the model is written whole and the run completes (exit 0)', async () => {
    const runs = path.join(work, 'runs-model');
    const runDir = path.join(runs, 'tiny', '1');
    const yaml = writeExperiment(tempDir(), tinyExperiment({ dataPath: small, epochs: 2 }));
    const r = await cli(['run', yaml, '--runs-dir', runs, '--backend', 'wasm'], {
      env: { PIPELINE_CACHE_DIR: path.join(work, 'cache') },
      timeoutMs: 120_000,
      onStart: signalWhenWriting(runDir, /^(\.model\.tmp-|model$)/),
    });
    // Training is over: the signal is noted and the run completes (or, landing after the run let go of
    // its handlers, ends the process the default way, everything already written).
    assert.ok(r.code === 0 || r.signal === 'SIGTERM', `exit ${r.code} ${r.signal}: ${r.stderr}`);
    assert.equal(readJson(path.join(runDir, 'meta.json')).status, 'completed');
    const e = await cli(['eval', runDir, '--backend', 'wasm', '--json'], {
      env: { PIPELINE_CACHE_DIR: path.join(work, 'cache') },
      timeoutMs: 60_000,
    });
    assert.equal(e.code, 0, e.stderr);
    assertClean(runs);
  });
});
