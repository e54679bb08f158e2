import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempRoot } from '../fixture';
import { BIN } from './helpers';

/** Checked before the worker connects: a worker that cannot write its runs folder takes no trial. */
test('pipeline worker refuses a runs folder it cannot use, at once (exit 1, the path and what to do)', () => {
  const file = path.join(tempRoot(), 'runs-file');
  fs.writeFileSync(file, 'not a folder');
  const cases: Array<[string, string]> = [
    [
      file,
      `error: cannot use ${file}: part of that path is a file, not a folder; move the file away or choose another location\n`,
    ],
    [
      path.join(file, 'runs'),
      `error: cannot use ${path.join(file, 'runs')}: part of that path is a file, not a folder; move the file away or choose another location\n`,
    ],
  ];
  for (const [runsDir, stderr] of cases) {
    // Port 1: nothing listens there; the check comes first, so the worker never waits for it.
    const r = spawnSync(process.execPath, [BIN, 'worker', '--queue', 'redis://127.0.0.1:1', '--runs-dir', runsDir], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.deepEqual([r.status, r.stderr], [1, stderr], runsDir);
  }
});
