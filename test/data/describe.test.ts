import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describeDataset, formatDatasetDescription } from '../../src/data/describe';
import { createProgressBar } from '../../src/data/progress';
import type { LoadedDataset } from '../../src/data/types';

const split = (labels: number[]) => ({
  x: new Uint8Array(labels.length * 4),
  y: Uint8Array.from(labels),
  n: labels.length,
});

describe('describeDataset', () => {
  const ds: LoadedDataset = {
    name: 'imageFolder',
    shape: [2, 2, 1],
    classes: ['cat', 'dog'],
    train: split([0, 0, 1]),
    validation: split([1]),
    test: split([0, 1]),
    source: { format: 'image-folder', path: '/pics', downloaded: false },
    fingerprint: 'ab'.repeat(32),
    cache: 'hit',
  };

  it('counts per split and class', () => {
    const d = describeDataset(ds);
    assert.deepEqual(d.counts, { train: 3, validation: 1, test: 2 });
    assert.deepEqual(d.perClass, [
      { class: 'cat', train: 2, validation: 0, test: 1 },
      { class: 'dog', train: 1, validation: 1, test: 1 },
    ]);
    assert.equal(d.options, undefined);
  });

  it('formats a validation column when there is one', () => {
    const text = formatDatasetDescription(
      describeDataset(
        ds,
        {
          name: 'imageFolder',
          validationSplit: 0.25,
          normalize: { type: 'standardize', mean: [0.5], std: [0.2] },
          augment: { horizontalFlip: true },
          shuffle: false,
        },
        { seconds: 1.234 },
      ),
    );
    assert.equal(
      text,
      [
        'dataset     imageFolder',
        'source      /pics (image folders, local)',
        'shape       2x2x1 (height x width x channels)',
        'classes     2: cat, dog',
        'examples    train 3, validation 1, test 2',
        'options     validationSplit 0.25; normalize mean [0.5] std [0.2]; augment horizontalFlip; not shuffled',
        `fingerprint sha256:${'ab'.repeat(32)}`,
        'cache       hit (decoded images read from the cache)',
        'loaded in   1.23 s',
        '',
        'class       train  validation        test',
        'cat             2           0           1',
        'dog             1           1           1',
        'total           3           1           2',
      ].join('\n'),
    );
  });
});

describe('download progress bar', () => {
  const capture = (isTTY: boolean) => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
    stream.isTTY = isTTY;
    stream.columns = 80;
    let out = '';
    (stream as unknown as PassThrough).on('data', (d: Buffer) => (out += d.toString()));
    return { stream, text: () => out };
  };

  it('draws on a terminal: carriage returns, a bar, a final newline', () => {
    const { stream, text } = capture(true);
    const bar = createProgressBar('downloading x.tar.gz', 2 * 1024 * 1024, true, stream);
    bar.update(1024 * 1024);
    bar.finish();
    const out = text();
    assert.match(out, /^\rdownloading x\.tar\.gz \[#{15}\.{15}\]  50% 1\.0\/2\.0 MB /);
    assert.ok(out.endsWith('\n'));
    assert.equal(out.split('\r').length, 3, 'one draw per update (throttled) plus the final one');
  });

  it('stays silent when stderr is not a terminal, or when disabled', () => {
    for (const [isTTY, enabled] of [
      [false, true],
      [true, false],
    ]) {
      const { stream, text } = capture(isTTY);
      const bar = createProgressBar('x', 100, enabled, stream);
      bar.update(50);
      bar.finish();
      assert.equal(text(), '');
    }
  });
});
