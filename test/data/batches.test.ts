import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchCount, batches, epochOrder, normalizationTable } from '../../src/data/batches';
import type { BatchOptions } from '../../src/data/batches';
import type { Split } from '../../src/data/types';

/** n examples of h x w x c whose byte at (i, r, col, k) is a known formula. */
function makeSplit(n: number, h: number, w: number, c: number): Split {
  const x = new Uint8Array(n * h * w * c);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < h; r++)
      for (let col = 0; col < w; col++)
        for (let k = 0; k < c; k++) x[((i * h + r) * w + col) * c + k] = (i * 50 + r * 10 + col + k * 3) % 256;
  return { x, y: Uint8Array.from({ length: n }, (_, i) => i % 3), n };
}

const opts = (over: Partial<BatchOptions> = {}): BatchOptions => ({
  batchSize: 4,
  epoch: 1,
  seed: 5,
  shuffle: true,
  normalize: { type: 'scale' },
  ...over,
});
const all = (split: Split, shape: [number, number, number], o: BatchOptions) => [...batches(split, shape, o)];

describe('batches', () => {
  const split = makeSplit(10, 3, 3, 2);
  const shape: [number, number, number] = [3, 3, 2];

  it('yields ceil(n / batchSize) batches, the last one short; drop: last drops it', () => {
    assert.deepEqual(
      all(split, shape, opts()).map((b) => b.size),
      [4, 4, 2],
    );
    assert.deepEqual(
      all(split, shape, opts({ drop: 'last' })).map((b) => b.size),
      [4, 4],
    );
    assert.equal(batchCount(10, 4), 3);
    assert.equal(batchCount(10, 4, 'last'), 2);
    const b = all(split, shape, opts())[2];
    assert.equal(b.x.length, 2 * 18);
    assert.equal(b.y.length, 2);
  });

  it('visits every example once per epoch, in file order without shuffle', () => {
    const order = epochOrder(10, 5, 1, false);
    assert.deepEqual([...order], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const shuffled = [...epochOrder(10, 5, 1, true)];
    assert.deepEqual(
      [...shuffled].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.notDeepEqual(shuffled, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const first = all(split, shape, opts({ shuffle: false }))[0];
    assert.deepEqual([...first.y], [0, 1, 2, 0]);
  });

  it('is deterministic per (seed, epoch) and differs across epochs and seeds', () => {
    const aug = { randomCrop: { padding: 1 }, horizontalFlip: true };
    const run = (epoch: number, seed: number) => all(split, shape, opts({ epoch, seed, augment: aug }));
    assert.deepEqual(run(3, 5), run(3, 5));
    assert.notDeepEqual(
      run(3, 5).map((b) => [...b.y]),
      run(4, 5).map((b) => [...b.y]),
    );
    assert.notDeepEqual(
      run(3, 5).map((b) => [...b.x]),
      run(3, 6).map((b) => [...b.x]),
    );
    // Augmentation does not change which examples an epoch visits, nor their order.
    assert.deepEqual(
      run(3, 5).map((b) => [...b.y]),
      all(split, shape, opts({ epoch: 3, seed: 5 })).map((b) => [...b.y]),
    );
  });

  it('scales bytes to [0, 1] by default', () => {
    const b = all(split, shape, opts({ shuffle: false, batchSize: 10 }))[0];
    for (let j = 0; j < split.x.length; j++) assert.equal(b.x[j], Math.fround(split.x[j] / 255));
  });

  it('standardizes per channel with mean and std', () => {
    const normalize = { type: 'standardize' as const, mean: [0.5, 0.25], std: [0.5, 2] };
    const b = all(split, shape, opts({ shuffle: false, batchSize: 10, normalize }))[0];
    for (let j = 0; j < split.x.length; j++) {
      const k = j % 2;
      assert.equal(b.x[j], Math.fround((split.x[j] / 255 - normalize.mean[k]) / normalize.std[k]));
    }
    const lut = normalizationTable({ type: 'standardize', mean: [0.5], std: [0.25] }, 3);
    assert.equal(lut[2 * 256 + 255], 2);
    assert.equal(lut[0], -2);
  });

  it('recycle: the same batches as fresh arrays, in `recycle` arrays reused in turn (the short last one a view)', () => {
    for (const augment of [undefined, { randomCrop: { padding: 1 }, horizontalFlip: true }]) {
      const fresh = all(split, shape, opts({ augment, batchSize: 3 })).map((b) => [Array.from(b.x), Array.from(b.y)]);
      const arrays: Float32Array[] = [];
      const got: number[][][] = [];
      // Each batch read as it comes (it is valid until the batcher has made `recycle` more).
      for (const b of batches(split, shape, opts({ augment, batchSize: 3, recycle: 2 }))) {
        arrays.push(b.x);
        got.push([Array.from(b.x), Array.from(b.y)]);
      }
      assert.deepEqual(got, fresh);
      assert.equal(arrays[2].buffer, arrays[0].buffer, 'batch 2 reuses batch 0 array');
      assert.equal(arrays[3].buffer, arrays[1].buffer);
      assert.notEqual(arrays[1].buffer, arrays[0].buffer);
      assert.equal(arrays[3].length, 18, 'the last batch (1 example) is a view of its first values');
    }
  });

  it('rejects mean/std that do not match the channels', () => {
    assert.throws(
      () => all(split, shape, opts({ normalize: { type: 'standardize', mean: [0.1, 0.2, 0.3], std: [1, 1] } })),
      {
        name: 'DataError',
        message: 'dataset.normalize.mean has 3 values but the images have 2 channels',
      },
    );
  });

  describe('augmentation on a tiny known image', () => {
    // One 2x3 grey image:  1 2 3
    //                      4 5 6
    const img: Split = { x: Uint8Array.from([1, 2, 3, 4, 5, 6]), y: Uint8Array.from([0]), n: 1 };
    const tiny: [number, number, number] = [2, 3, 1];
    const bytes = (b: { x: Float32Array }) => [...b.x].map((v) => Math.round(v * 255));
    const outcomes = (augment: BatchOptions['augment'], epochs = 200) => {
      const seen = new Map<string, number>();
      for (let epoch = 0; epoch < epochs; epoch++) {
        const key = bytes(all(img, tiny, opts({ epoch, augment }))[0]).join(',');
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return seen;
    };

    it('horizontalFlip gives the image or its mirror, about half each', () => {
      const seen = outcomes({ horizontalFlip: true });
      assert.deepEqual([...seen.keys()].sort(), ['1,2,3,4,5,6', '3,2,1,6,5,4']);
      for (const count of seen.values()) assert.ok(count > 60, `flip frequency ${count}/200`);
    });

    it('randomCrop with padding 1 gives exactly the 9 shifted windows of the zero-padded image', () => {
      const seen = outcomes({ randomCrop: { padding: 1 } }, 400);
      const expected = new Set<string>();
      const at = (r: number, c: number) => (r >= 0 && r < 2 && c >= 0 && c < 3 ? img.x[r * 3 + c] : 0);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const win: number[] = [];
          for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) win.push(at(r + dy, c + dx));
          expected.add(win.join(','));
        }
      assert.deepEqual([...seen.keys()].sort(), [...expected].sort());
    });

    it('crop then flip: every output is a mirrored or plain window', () => {
      const seen = outcomes({ randomCrop: { padding: 1 }, horizontalFlip: true }, 400);
      assert.equal(seen.size, 18);
      assert.ok(seen.has('0,0,0,3,2,1'), 'shifted down one row, then mirrored');
    });

    it('pads with the normalized value of a 0 byte', () => {
      const normalize = { type: 'standardize' as const, mean: [0.5], std: [0.5] };
      const values = new Set<number>();
      for (let epoch = 0; epoch < 50; epoch++)
        for (const v of all(img, tiny, opts({ epoch, normalize, augment: { randomCrop: { padding: 1 } } }))[0].x)
          values.add(v);
      assert.ok(values.has(-1), 'a padded pixel is (0 - 0.5) / 0.5');
    });
  });
});
