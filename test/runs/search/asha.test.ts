import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ashaRule, isRung } from '../../../src/runs/sweep/search/asha';
import { judgeTrial, stopReason } from '../../../src/runs/sweep/search/early-stop';

test('rungs are at minEpochs * eta^k', () => {
  const rungs = (minEpochs: number, reductionFactor: number) =>
    Array.from({ length: 30 }, (_, i) => i + 1).filter((e) => isRung(e, { minEpochs, reductionFactor }));
  assert.deepEqual(rungs(1, 3), [1, 3, 9, 27]);
  assert.deepEqual(rungs(2, 2), [2, 4, 8, 16]);
  assert.deepEqual(rungs(5, 4), [5, 20]);
});

test('ASHA keeps the best 1/eta at a rung (at least the best one), judged only at rungs', () => {
  const s = { minEpochs: 1, reductionFactor: 3 };
  const cases: Array<{
    name: string;
    mine: number[];
    others: number[][];
    epoch: number;
    goal: 'max' | 'min';
    stop: boolean | undefined;
    threshold?: number;
  }> = [
    { name: 'alone at the rung: goes on', mine: [0.1], others: [], epoch: 1, goal: 'max', stop: false, threshold: 0.1 },
    {
      name: 'second of two, worse: stops (only the best goes on below eta trials)',
      mine: [0.1],
      others: [[0.2]],
      epoch: 1,
      goal: 'max',
      stop: true,
      threshold: 0.2,
    },
    { name: 'best of two: goes on', mine: [0.3], others: [[0.2]], epoch: 1, goal: 'max', stop: false, threshold: 0.3 },
    {
      name: '2nd best of 6 with eta 3: top 2 go on',
      mine: [0.5],
      others: [[0.6], [0.1], [0.2], [0.3], [0.4]],
      epoch: 1,
      goal: 'max',
      stop: false,
      threshold: 0.5,
    },
    {
      name: '3rd best of 6: stops',
      mine: [0.4],
      others: [[0.6], [0.1], [0.2], [0.3], [0.5]],
      epoch: 1,
      goal: 'max',
      stop: true,
      threshold: 0.5,
    },
    {
      name: 'min goal: lower is better',
      mine: [1.0],
      others: [[2.0], [3.0]],
      epoch: 1,
      goal: 'min',
      stop: false,
      threshold: 1.0,
    },
    { name: 'epoch 2 is not a rung', mine: [0.1, 0.1], others: [[0.9, 0.9]], epoch: 2, goal: 'max', stop: undefined },
    {
      name: 'rung 3 compares values at epoch 3 only',
      mine: [0.9, 0.9, 0.2],
      others: [[0.1, 0.1, 0.3], [0.5]],
      epoch: 3,
      goal: 'max',
      stop: true,
      threshold: 0.3,
    },
  ];
  // Looked at only after epoch 2: rung 1 is judged then, not skipped; after epoch 3 with rung 1 judged, rung 3.
  assert.equal(ashaRule([0.1, 0.5], [[0.9]], 2, 'max', s, 0)?.epoch, 1);
  assert.equal(ashaRule([0.1, 0.5], [[0.9]], 2, 'max', s, 0)?.stop, true);
  assert.equal(ashaRule([0.1, 0.5, 0.6], [[0.9, 0.9, 0.5]], 3, 'max', s, 1)?.epoch, 3);
  assert.equal(ashaRule([0.1, 0.5, 0.6], [[0.9, 0.9, 0.5]], 3, 'max', s, 3), undefined, 'judged already');
  for (const c of cases) {
    const d = ashaRule(c.mine, c.others, c.epoch, c.goal, s);
    assert.equal(d?.stop, c.stop, c.name);
    if (c.threshold !== undefined) assert.equal(d?.threshold, c.threshold, c.name);
  }
});

test('judgeTrial picks the rule; stopReason says which', () => {
  const asha = { type: 'asha' as const, minEpochs: 1, minTrials: 3, reductionFactor: 3 };
  const median = { type: 'median' as const, minEpochs: 1, minTrials: 2 };
  const d = judgeTrial(asha, [0.1], [[0.2]], 1, 'max')!;
  assert.equal(
    stopReason(asha, 'testAccuracy', d),
    'testAccuracy 0.1000 at epoch 1 is outside the best 1/3 (threshold 0.2000) of 2 trials at that rung',
  );
  const m = judgeTrial(median, [0.1], [[0.2], [0.4]], 1, 'max')!;
  assert.equal(m.stop, true);
  assert.equal(
    stopReason(median, 'testAccuracy', m),
    'testAccuracy 0.1000 at epoch 1 is worse than the median 0.3000 of 2 other trials',
  );
});
