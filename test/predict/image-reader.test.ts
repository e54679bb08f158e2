/**
 * The image reader gives the same pixels and the same per-file outcomes on its worker
 * threads as on the calling thread, for good, resized, corrupt and missing files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageReader } from '../../src/predict/image-reader';
import { jpg, png, tempDir } from '../data/fixtures';

test('worker threads and the calling thread read the same', async () => {
  const dir = tempDir('pipeline-reader-');
  const files: string[] = [];
  for (let i = 0; i < 9; i++) {
    const f = path.join(dir, `${i}.png`);
    fs.writeFileSync(
      f,
      png(8, 8, (x, y) => [x * 30 + i, y * 30, (x + y) * 10]),
    );
    files.push(f);
  }
  const big = jpg(64, 32, (x, y) => [(x * 37) % 256, (y * 53) % 256, (x * y) % 256], 95);
  fs.writeFileSync(path.join(dir, 'big.jpg'), big);
  fs.writeFileSync(path.join(dir, 'cut.jpg'), big.subarray(0, Math.floor(big.length * 0.75)));
  files.splice(3, 0, path.join(dir, 'big.jpg'), path.join(dir, 'cut.jpg'), path.join(dir, 'missing.png'));
  const size = { height: 8, width: 8, channels: 3 as const };

  const here = new ImageReader(size, { workers: 0 });
  const threads = new ImageReader(size, { workers: 2, from: 0 });
  try {
    const [a, b] = [await here.read(files), await threads.read(files)];
    assert.deepEqual(b.outcomes, a.outcomes);
    assert.deepEqual(Buffer.from(b.pixels), Buffer.from(a.pixels));
    assert.deepEqual(a.outcomes.slice(3, 6), [
      { ok: true, resized: { from: [64, 32], to: [8, 8], method: 'bilinear' } },
      { ok: false, error: 'cannot decode JPEG: corrupt or truncated image data' },
      { ok: false, error: 'no such file' },
    ]);
    assert.equal(a.outcomes.filter((o) => o.ok).length, 10);
    // A second job reuses the threads.
    assert.deepEqual((await threads.read(files.slice(0, 2))).outcomes, a.outcomes.slice(0, 2));
  } finally {
    threads.close();
  }
});
