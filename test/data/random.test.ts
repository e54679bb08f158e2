import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, deriveSeed } from '../../src/util/random';

describe('createRng', () => {
  it('is reproducible from the seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b.next()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => c.next()),
    );
  });

  it('next() stays in [0, 1) with a mean near 1/2; int(n) covers [0, n) evenly', () => {
    const rng = createRng(1);
    let sum = 0;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) {
      const x = rng.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
      counts[rng.int(6)]++;
    }
    assert.ok(Math.abs(sum / 60000 - 0.5) < 0.01);
    for (const count of counts) assert.ok(Math.abs(count - 10000) < 400, `counts ${counts}`);
  });

  it('shuffles in place into a permutation', () => {
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const out = createRng(9).shuffle(arr);
    assert.equal(out, arr);
    assert.deepEqual(
      [...arr].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.notDeepEqual(
      arr,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('restores a saved state exactly (checkpoints)', () => {
    const rng = createRng(5);
    rng.next();
    const state = rng.getState();
    const ahead = [rng.next(), rng.next()];
    const other = createRng(99);
    other.setState(state);
    assert.deepEqual([other.next(), other.next()], ahead);
  });

  it('rejects a bad range', () => {
    assert.throws(() => createRng(1).int(0), RangeError);
    assert.throws(() => createRng(Number.NaN), TypeError);
  });
});

describe('deriveSeed', () => {
  it('gives independent, stable seeds per purpose', () => {
    assert.equal(deriveSeed(1, 'shuffle', 3), deriveSeed(1, 'shuffle', 3));
    const seeds = new Set([
      deriveSeed(1, 'shuffle', 3),
      deriveSeed(1, 'shuffle', 4),
      deriveSeed(1, 'augment', 3),
      deriveSeed(2, 'shuffle', 3),
    ]);
    assert.equal(seeds.size, 4);
  });
});
