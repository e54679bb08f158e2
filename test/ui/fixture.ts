import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tempRoot } from '../runs/fixture';
import { tinyCifarDataDir } from '../runs/tiny-cifar';

/**
 * A runs folder for the dashboard's tests, made by the real `pipeline run` and `pipeline sweep`
 * on a generated 200-example CIFAR-10 (wasm backend, a second or two per run), plus folders
 * made from those by hand: damaged ones, a run still going, runs named with HTML, and a
 * symlink that points out of the folder.
 */

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');
const TINY = path.resolve(__dirname, '../../../test/fixtures/runs/tiny.yaml');
const run = promisify(execFile);

export interface UiFixture {
  root: string;
  /** A file outside the runs folder that tiny/1/outside.txt links to. */
  secret: string;
  /** The run written `running` by this test process. */
  live: string;
  htmlNames: string[];
}

export async function makeUiFixture(): Promise<UiFixture> {
  const base = tempRoot('pipeline-ui-');
  const root = path.join(base, 'runs');
  const data = tinyCifarDataDir();
  const env = { ...process.env, PIPELINE_CACHE_DIR: path.join(base, 'cache') };
  const common = ['--runs-dir', root, '--data-dir', data, '--backend', 'wasm'];
  // tiny/1 and tiny/2 one after the other (versions in this order); the sweep's two trials, tiny-sweep/1 and 2, alongside.
  const runs = (async () => {
    await run(process.execPath, [BIN, 'run', TINY, ...common, '--set', 'training.epochs=2'], { env });
    await run(
      process.execPath,
      [
        BIN,
        'run',
        TINY,
        ...common,
        '--set',
        'training.epochs=2',
        '--set',
        'training.optimizer.learningRate=0.01',
        '--set',
        'dataset.validationSplit=0.2',
      ],
      { env },
    );
  })();
  const sweep = run(
    process.execPath,
    [
      BIN,
      'sweep',
      TINY,
      ...common,
      '--set',
      'name=tiny-sweep',
      '--set',
      'training.epochs=1',
      '--param',
      'training.optimizer.learningRate=0.003,0.03',
      '--parallel',
      '2',
    ],
    { env },
  );
  await Promise.all([
    runs.then(() =>
      run(
        process.execPath,
        [BIN, 'eval', 'tiny/1', '--save', '--runs-dir', root, '--data-dir', data, '--backend', 'wasm'],
        { env },
      ),
    ),
    sweep,
  ]);
  return handMade(root, base);
}

function copyRun(
  root: string,
  from: string,
  to: string,
  meta: (m: Record<string, unknown>) => void = () => {},
): string {
  const dir = path.join(root, to);
  fs.cpSync(path.join(root, from), dir, { recursive: true });
  const file = path.join(dir, 'meta.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  const [name, version] = to.split('/');
  Object.assign(m, { name, version: Number(version), runDir: dir });
  meta(m);
  fs.writeFileSync(file, JSON.stringify(m, null, 2));
  return dir;
}

function handMade(root: string, base: string): UiFixture {
  // Half a metrics line, as a crash mid-write would leave it (in a run that says it completed).
  const cut = copyRun(root, 'tiny/1', 'tiny/20');
  fs.appendFileSync(path.join(cut, 'metrics.jsonl'), '{"epoch":3,"loss":1.21');
  // meta.json that is not JSON at all.
  const garbage = copyRun(root, 'tiny/1', 'tiny/21');
  fs.writeFileSync(path.join(garbage, 'meta.json'), '{"name": "tiny", "status": "compl\u0000\u0007 garbage');
  // Still going: written `running` by this (live) process, one epoch so far, no summary yet.
  const live = copyRun(root, 'tiny/2', 'live/1', (m) =>
    Object.assign(m, {
      status: 'running',
      pid: process.pid,
      host: os.hostname(),
      startedAt: new Date().toISOString(),
      endedAt: null,
      durationSeconds: null,
    }),
  );
  fs.rmSync(path.join(live, 'summary.json'));
  const first = fs.readFileSync(path.join(live, 'metrics.jsonl'), 'utf8').split('\n')[0];
  fs.writeFileSync(path.join(live, 'metrics.jsonl'), first + '\n');
  // Folder names are the user's: they may hold markup.
  const htmlNames = ['<script>', '<img src=x onerror=window.__xss=1>'];
  for (const n of htmlNames) copyRun(root, 'tiny/1', `${n}/1`);
  // A link inside a run folder to a file outside the runs folder.
  const secret = path.join(base, 'secret.txt');
  fs.writeFileSync(secret, 'not for the dashboard\n');
  fs.symlinkSync(secret, path.join(root, 'tiny/1/outside.txt'));
  return { root, secret, live: 'live/1', htmlNames };
}
