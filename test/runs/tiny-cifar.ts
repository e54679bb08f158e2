import * as fs from 'node:fs';
import * as path from 'node:path';
import { CIFAR_PIXELS, CIFAR_RECORD, CIFAR_TEST_FILES, CIFAR_TRAIN_FILES } from '../../src/data/cifar-binary';
import { tempRoot } from './fixture';

/**
 * A few hundred CIFAR-10 records in the official binary format, generated, so sweep tests
 * run real `pipeline run` trials (`--data-dir <this> --backend wasm`) in about a second each.
 * Class k is a bright 8x8 square at one of ten places on a noisy background, with noise in
 * the square too: learnable in a few epochs by a 4-filter conv net, but not at once, so
 * learning rates and batch sizes give different test accuracies (and 1e-5 stays at chance).
 */

export const TRAIN_PER_FILE = 40; // x 5 files = 200 training examples
export const TEST_EXAMPLES = 100;

function records(count: number, first: number, next: () => number): Buffer {
  const buf = Buffer.alloc(count * CIFAR_RECORD);
  for (let r = 0; r < count; r++) {
    const label = (first + r) % 10;
    const at = r * CIFAR_RECORD;
    buf[at] = label;
    const left = (label % 5) * 6 + 1;
    const top = Math.floor(label / 5) * 16 + 4;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const inSquare = x >= left && x < left + 8 && y >= top && y < top + 8;
          buf[at + 1 + c * CIFAR_PIXELS + y * 32 + x] = inSquare
            ? 100 + Math.floor(next() * 80)
            : Math.floor(next() * 140);
        }
      }
    }
  }
  return buf;
}

let cached: string | undefined;

/** A data dir holding `cifar10/` (5 train batches + the test batch); made once per test process. */
export function tinyCifarDataDir(): string {
  if (cached) return cached;
  const dir = path.join(tempRoot('pipeline-tiny-cifar-'), 'data');
  const home = path.join(dir, 'cifar10');
  fs.mkdirSync(home, { recursive: true });
  // A fixed LCG: the same bytes every time, so the trials' metrics are the same every time.
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) / (1 << 24);
  CIFAR_TRAIN_FILES.forEach((name, i) => fs.writeFileSync(path.join(home, name), records(TRAIN_PER_FILE, i + 1, next)));
  fs.writeFileSync(path.join(home, CIFAR_TEST_FILES[0]), records(TEST_EXAMPLES, 0, next));
  cached = dir;
  return dir;
}
