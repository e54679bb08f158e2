/**
 * `pipeline predict` and `pipeline export` through bin/pipeline.js on a model trained by the
 * real `pipeline run`: agreement with `pipeline eval` to the last example, the three output
 * formats, resizing, bad inputs reported by name, stdin, and bundles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLASSES, readJson } from '../pipeline/helpers';
import { evalPredictions } from './eval-predictions';
import { jsonLines, pipeline, runNode, trainTiny, type Trained } from './trained';

const ready = trainTiny();
let t: Trained;
test.before(async () => {
  t = await ready;
});

interface Line {
  input: string;
  predictions?: Array<{ class: string; probability: number }>;
  resized?: { from: number[]; to: number[]; method: string } | null;
  error?: string;
}

test('predict agrees with eval on every test example: same confusion matrix, same accuracy', async () => {
  const [p, e] = await Promise.all([
    pipeline(t, ['predict', 'tiny/best', t.testDir, '--json', '--top-k', '4', '--backend', 'wasm']),
    pipeline(t, ['eval', 'tiny/1', '--json', '--backend', 'wasm']),
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(e.code, 0, e.stderr);
  const lines = jsonLines<Line>(p.stdout);
  const report = JSON.parse(e.stdout);
  assert.equal(lines.length, 64);
  const confusion = CLASSES.map(() => CLASSES.map(() => 0));
  for (const l of lines) {
    const truth = CLASSES.indexOf(path.basename(path.dirname(l.input)));
    confusion[truth][CLASSES.indexOf(l.predictions![0].class)]++;
    assert.equal(l.predictions!.length, 4);
    const sum = l.predictions!.reduce((a, b) => a + b.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
    assert.ok(l.predictions!.every((x, i) => i === 0 || x.probability <= l.predictions![i - 1].probability));
    assert.equal(l.resized, null);
  }
  assert.deepEqual(confusion, report.confusion);
  const correct = confusion.reduce((a, row, i) => a + row[i], 0);
  assert.equal(correct / 64, report.accuracy);
  assert.equal(p.stderr, 'tiny/1: 4 classes, input 8x8x3, normalize scale, backend wasm\n');
  // Example by example: eval's own predicted classes, in the folder order predict lists.
  const byEval = await evalPredictions(path.join(t.runs, 'tiny', '1'), { cacheDir: path.join(t.work, 'cache') });
  assert.deepEqual(
    lines.map((l) => CLASSES.indexOf(l.predictions![0].class)),
    byEval.predicted,
  );
});

test('text and CSV output; an image of another size is resized and says so', async () => {
  const first = path.join(t.testDir, 'north-east', '0000.png');
  const text = await pipeline(t, [
    'predict',
    path.join(t.runs, 'tiny', '1'),
    first,
    t.bigJpeg,
    '--top-k',
    '2',
    '--backend',
    'wasm',
  ]);
  assert.equal(text.code, 0, text.stderr);
  const [a, b] = text.stdout.trimEnd().split('\n');
  assert.match(a, new RegExp(`^${first}  north-east 0\\.\\d{4}  [a-z-]+ 0\\.\\d{4}$`));
  assert.match(
    b,
    new RegExp(`^${t.bigJpeg}  [a-z-]+ [01]\\.\\d{4}  [a-z-]+ 0\\.\\d{4}  \\(resized 48x36 -> 8x8 \\(bilinear\\)\\)$`),
  );

  const csv = await pipeline(t, [
    'predict',
    'tiny/1',
    first,
    t.bigJpeg,
    t.notImage,
    '--csv',
    '--top-k',
    '1',
    '--backend',
    'wasm',
  ]);
  assert.equal(csv.code, 1);
  const rows = csv.stdout.trimEnd().split('\n');
  assert.equal(rows[0], 'input,class_1,probability_1,resized,error');
  assert.match(rows[1], new RegExp(`^${first},north-east,0\\.\\d+,,$`));
  assert.match(rows[2], new RegExp(`^${t.bigJpeg},[a-z-]+,[0-9.e-]+,resized 48x36 -> 8x8 \\(bilinear\\),$`));
  assert.equal(rows[3], `${t.notImage},,,,not a JPEG or PNG file`);
});

test('unreadable inputs are reported by name after the others are done (exit 1); --fail-fast stops at the first', async () => {
  const good = path.join(t.testDir, 'south-west');
  const missing = path.join(t.work, 'inputs', 'missing.png');
  const r = await pipeline(t, [
    'predict',
    'tiny/1',
    t.notImage,
    t.truncated,
    missing,
    good,
    '--json',
    '--backend',
    'wasm',
  ]);
  assert.equal(r.code, 1);
  const lines = jsonLines<Line>(r.stdout);
  assert.deepEqual(lines.slice(0, 3), [
    { input: t.notImage, error: 'not a JPEG or PNG file' },
    { input: t.truncated, error: 'cannot decode JPEG: corrupt or truncated image data' },
    { input: missing, error: 'no such file' },
  ]);
  assert.equal(lines.length, 3 + fs.readdirSync(good).length);
  assert.ok(lines.slice(3).every((l) => l.predictions?.length === 3));
  assert.equal(
    r.stderr.split('\n').slice(1).join('\n'),
    [
      `${t.notImage}: not a JPEG or PNG file`,
      `${t.truncated}: cannot decode JPEG: corrupt or truncated image data`,
      `${missing}: no such file`,
      `error: 3 of ${lines.length} inputs could not be read as images (named above)`,
      '',
    ].join('\n'),
  );

  const fast = await pipeline(t, [
    'predict',
    'tiny/1',
    good,
    t.truncated,
    t.notImage,
    '--fail-fast',
    '--backend',
    'wasm',
  ]);
  assert.equal(fast.code, 1);
  assert.equal(fast.stdout, '');
  assert.equal(
    fast.stderr.split('\n').slice(1).join('\n'),
    `error: ${t.truncated}: cannot decode JPEG: corrupt or truncated image data\n`,
  );
});

test('- reads image paths from stdin; folders skip other files with a note', async () => {
  const files = [path.join(t.testDir, 'north-west', '0002.png'), t.bigJpeg].filter((f) => fs.existsSync(f));
  const r = await pipeline(t, ['predict', 'tiny/1', '-', '--json', '--backend', 'wasm'], {
    input: files.join('\n') + '\n\n',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    jsonLines<Line>(r.stdout).map((l) => l.input),
    files,
  );

  const r2 = await pipeline(t, ['predict', 'tiny/1', path.join(t.work, 'inputs'), '--json', '--backend', 'wasm']);
  assert.equal(r2.code, 1);
  assert.deepEqual(
    jsonLines<Line>(r2.stdout).map((l) => [path.basename(l.input), l.error ?? 'ok']),
    [
      ['big.jpg', 'ok'],
      ['truncated.jpg', 'cannot decode JPEG: corrupt or truncated image data'],
    ],
  );
  assert.match(
    r2.stderr,
    new RegExp(`${path.join(t.work, 'inputs')}: ignored 1 file that is not .jpg, .jpeg or .png\n`),
  );
});

test('usage errors exit 2 with one line', async () => {
  const cases: Array<[string[], string]> = [
    [['predict', 'nosuch/1', t.bigJpeg], `error: no experiment "nosuch" in ${t.runs}; experiments: tiny\n`],
    [['predict', 'tiny/9', t.bigJpeg], 'error: no run tiny/9: tiny has version 1\n'],
    [['predict', 'tiny/1', t.bigJpeg, '--top-k', '0'], 'error: --top-k 0: expected a whole number >= 1\n'],
    [['predict', 'tiny/1', t.bigJpeg, '--json', '--csv'], 'error: choose one of --json, --csv\n'],
    [
      ['export', 'tiny/1', t.data],
      `error: ${t.data}: folder exists and is not a model bundle (no pipeline.json); choose a new or empty folder\n`,
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => pipeline(t, args)));
  results.forEach((r, i) => assert.deepEqual([r.code, r.stderr], [2, cases[i][1]], cases[i][0].join(' ')));
});

test('export writes a bundle that describes itself; predict gives the same answers from it as from the run', async () => {
  const out = path.join(t.work, 'bundle');
  const r = await pipeline(t, ['export', 'tiny/latest', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `exported tiny/1 to ${out} (model.json, weights.bin, pipeline.json)\n`);
  assert.deepEqual(fs.readdirSync(out).sort(), ['model.json', 'pipeline.json', 'weights.bin']);
  const m = readJson(path.join(out, 'pipeline.json'));
  const runDir = path.join(t.runs, 'tiny', '1');
  assert.equal(m.format, 'pipeline-model-bundle');
  assert.equal(m.formatVersion, 1);
  assert.deepEqual(m.classes, CLASSES);
  assert.deepEqual(m.inputShape, [8, 8, 3]);
  assert.equal(m.output, 'logits');
  assert.deepEqual(m.preprocessing, {
    decode: { formats: ['jpeg', 'png'], channels: 3, colour: 'RGB (alpha dropped, grey repeated)' },
    resize: { height: 8, width: 8, method: 'bilinear', halfPixelCenters: true },
    normalize: {
      type: 'scale',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      formula: 'x[c] = (pixel[c] / 255 - mean[c]) / std[c]',
    },
  });
  assert.deepEqual(m.experiment, readJson(path.join(runDir, 'resolved.json')));
  assert.equal(m.dataset.fingerprint, readJson(path.join(runDir, 'meta.json')).dataset.fingerprint);
  assert.deepEqual(m.metrics.final, readJson(path.join(runDir, 'summary.json')).final);
  assert.deepEqual(m.run.ref, 'tiny/1');
  assert.deepEqual(
    fs.readFileSync(path.join(out, 'weights.bin')),
    fs.readFileSync(path.join(runDir, 'model', 'weights.bin')),
  );

  const args = [t.testDir, t.bigJpeg, '--json', '--top-k', '4', '--backend', 'wasm'];
  const [fromRun, fromBundle] = await Promise.all([
    pipeline(t, ['predict', 'tiny/1', ...args]),
    pipeline(t, ['predict', out, ...args]),
  ]);
  assert.equal(fromBundle.code, 0, fromBundle.stderr);
  assert.equal(fromBundle.stdout, fromRun.stdout);
  assert.equal(fromBundle.stderr, `${out}: 4 classes, input 8x8x3, normalize scale, backend wasm\n`);

  // Stock @tensorflow/tfjs with the README's snippet (checked verbatim) gets the same answers.
  const script = path.resolve(__dirname, '../../../test/predict/stock-tfjs-bundle.cjs');
  const snippet = /\/\/ snippet:start\n([\s\S]*?)\/\/ snippet:end\n/.exec(fs.readFileSync(script, 'utf8'))![1];
  assert.ok(
    fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8').includes('```js\n' + snippet + '```\n'),
    'README.md shows the snippet',
  );
  const pngs = jsonLines<Line>(fromRun.stdout)
    .map((l) => l.input)
    .filter((f) => f.endsWith('.png'));
  const stock = await runNode(script, [out, ...pngs]);
  assert.equal(stock.code, 0, stock.stderr);
  const ours = new Map(jsonLines<Line>(fromRun.stdout).map((l) => [l.input, l.predictions!]));
  const theirs = jsonLines<Line>(stock.stdout);
  assert.equal(theirs.length, 64);
  for (const l of theirs) {
    const mine = ours.get(l.input)!;
    assert.deepEqual(
      l.predictions!.map((p) => p.class),
      mine.map((p) => p.class),
      l.input,
    );
    l.predictions!.forEach((p, i) =>
      assert.ok(
        Math.abs(p.probability - mine[i].probability) < 1e-5,
        `${l.input}: ${p.probability} vs ${mine[i].probability}`,
      ),
    );
  }

  // Exporting again replaces the bundle; a bundle exports like a run.
  const again = await pipeline(t, ['export', out, out, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout), {
    dir: out,
    files: ['model.json', 'weights.bin', 'pipeline.json'],
    run: 'tiny/1',
  });
});

test("export of a checkpoint names it: in what it prints and in pipeline.json, with the checkpoint's weights", async () => {
  const out = path.join(t.work, 'bundle-best');
  const r = await pipeline(t, ['export', 'tiny/1@best', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `exported tiny/1@best to ${out} (model.json, weights.bin, pipeline.json)\n`);
  const m = readJson(path.join(out, 'pipeline.json'));
  assert.deepEqual([m.run.ref, m.run.checkpoint], ['tiny/1', 'best']);
  assert.deepEqual(
    fs.readFileSync(path.join(out, 'weights.bin')),
    fs.readFileSync(path.join(t.runs, 'tiny', '1', 'checkpoints', 'best', 'weights.bin')),
  );
  const plain = readJson(path.join(t.work, 'bundle', 'pipeline.json'));
  assert.equal('checkpoint' in plain.run, false, 'a bundle of the final model names no checkpoint');
});

test("on the cpu backend (tfjs's own forward pass, not the direct wasm kernels) the answers are the same", async () => {
  const args = ['predict', 'tiny/1', t.testDir, '--json', '--top-k', '4'];
  const [wasm, cpu] = await Promise.all([
    pipeline(t, [...args, '--backend', 'wasm']),
    pipeline(t, [...args, '--backend', 'cpu']),
  ]);
  assert.equal(cpu.code, 0, cpu.stderr);
  assert.equal(cpu.stderr, 'tiny/1: 4 classes, input 8x8x3, normalize scale, backend cpu\n');
  const a = jsonLines<Line>(wasm.stdout);
  const b = jsonLines<Line>(cpu.stdout);
  assert.equal(b.length, 64);
  b.forEach((l, i) => {
    assert.equal(l.input, a[i].input);
    assert.deepEqual(
      l.predictions!.map((p) => p.class),
      a[i].predictions!.map((p) => p.class),
      l.input,
    );
    l.predictions!.forEach((p, j) =>
      assert.ok(Math.abs(p.probability - a[i].predictions![j].probability) < 1e-5, l.input),
    );
  });
});
