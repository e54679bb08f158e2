import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { plotRuns, runCurvePoints, writeRunCurves } from '../../src/runs/plot';
import { seriesStyle } from '../../src/runs/plot-style';
import { resolveRuns } from '../../src/runs/refs';
import { curve, tempRoot, writeRun } from './fixture';

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');

/** Text labels vega drew, in order. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

test('writeRunCurves: curves.svg with a loss and an accuracy panel by split', async () => {
  const root = tempRoot();
  const rows = curve(4).map((r) => ({ ...r, valLoss: r.testLoss - 0.05, valAccuracy: r.testAccuracy + 0.01 }));
  const dir = writeRun(root, { metrics: rows });
  const file = await writeRunCurves(dir);
  assert.equal(file, path.join(dir, 'curves.svg'));
  const svg = fs.readFileSync(file!, 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const texts = svgTexts(svg);
  for (const t of ['cifar-lenet/1 learning curves', 'loss', 'accuracy', 'train', 'validation', 'test', 'epoch'])
    assert.ok(texts.includes(t), `missing "${t}" in ${texts.join('|')}`);
  // 2 panels x 3 splits = 6 lines.
  assert.equal(svg.match(/aria-roledescription="line mark"/g)?.length, 6);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file left',
  );
});

test('writeRunCurves: nothing to draw before the first epoch', async () => {
  const root = tempRoot();
  const dir = writeRun(root, { metrics: [], status: 'running', summary: false });
  assert.equal(await writeRunCurves(dir), undefined);
  assert.equal(fs.existsSync(path.join(dir, 'curves.svg')), false);
});

test('runCurvePoints groups train/val/test of each base metric', () => {
  const { panels, splits, points } = runCurvePoints([
    { epoch: 1, loss: 1, valLoss: 2, auc: 0.5, testAuc: 0.4, seconds: 3 },
  ]);
  assert.deepEqual(panels, ['loss', 'auc']);
  assert.deepEqual(splits, ['train', 'validation', 'test']);
  assert.deepEqual(points, [
    { epoch: 1, value: 1, series: 'train', panel: 'loss' },
    { epoch: 1, value: 2, series: 'validation', panel: 'loss' },
    { epoch: 1, value: 0.5, series: 'train', panel: 'auc' },
    { epoch: 1, value: 0.4, series: 'test', panel: 'auc' },
  ]);
});

test('plotRuns: overlaid runs to SVG, legend labelled by run and what differs', async () => {
  const root = tempRoot();
  writeRun(root, { metrics: curve(3, 0.5) });
  writeRun(root, { metrics: curve(5, 0.6), set: { 'training.optimizer.learningRate': 0.003 } });
  const runs = resolveRuns('cifar-lenet', root);
  const out = path.join(root, 'plot.svg');
  const r = await plotRuns(runs, ['testAccuracy', 'testLoss'], out);
  assert.deepEqual(r, {
    file: out,
    format: 'svg',
    runs: ['cifar-lenet/1', 'cifar-lenet/2'],
    metrics: ['testAccuracy', 'testLoss'],
    leftOut: [],
  });
  const texts = svgTexts(fs.readFileSync(out, 'utf8'));
  for (const t of ['cifar-lenet/1 lr=0.001', 'cifar-lenet/2 lr=0.003', 'testAccuracy', 'testLoss', 'run'])
    assert.ok(texts.includes(t), t);
  // One title.
  assert.equal(texts.filter((t) => t === 'testAccuracy, testLoss by epoch').length, 1);
});

/** Each drawn line's colour and dash, from vega's SVG. */
function lineStyles(svg: string): string[] {
  return [
    ...svg.matchAll(/aria-roledescription="line mark"[^>]* stroke="([^"]+)"[^>]* stroke-dasharray="([^"]+)"/g),
  ].map((m) => `${m[1]} ${m[2]}`);
}

/** Twelve runs of a learning-rate x batch-size grid, then a run that failed before its first epoch. */
function twelveRuns(root: string) {
  const lrs = [0.0003, 0.001, 0.003, 0.01];
  for (let i = 0; i < 12; i++)
    writeRun(root, {
      metrics: curve(4, 0.4 + i * 0.03),
      set: { 'training.optimizer.learningRate': lrs[i % 4], 'training.batchSize': [32, 64, 128][Math.floor(i / 4)] },
    });
  writeRun(root, { status: 'failed', metrics: [] });
  return resolveRuns('cifar-lenet', root);
}

test('plotRuns: more than 10 runs never share a colour and dash (lenet/1 and lenet/11 were both blue); failed and empty runs are left out and named', async () => {
  const root = tempRoot();
  const runs = twelveRuns(root);
  writeRun(root, { status: 'running', metrics: [], summary: false, pid: process.pid });
  const out = path.join(root, 'many.svg');
  const r = await plotRuns([...runs, ...resolveRuns('cifar-lenet/14', root)], ['testAccuracy'], out);
  assert.deepEqual(r.leftOut, [
    { run: 'cifar-lenet/13', why: 'failed, no data' },
    { run: 'cifar-lenet/14', why: 'no data' },
  ]);
  const svg = fs.readFileSync(out, 'utf8');
  const styles = lineStyles(svg);
  assert.equal(styles.length, 12);
  assert.equal(new Set(styles).size, 12, styles.join('\n'));
  assert.equal(styles[0], '#4e79a7 1,0');
  assert.equal(styles[10], '#4e79a7 6,3', 'the 11th run: the first colour again, dashed');
  const texts = svgTexts(svg);
  assert.ok(texts.includes('left out: cifar-lenet/13 (failed, no data), cifar-lenet/14 (no data)'), texts.join('|'));
  assert.ok(texts.includes('cifar-lenet/11 batch=128 lr=0.003'));
  assert.ok(!texts.some((t) => t.startsWith('cifar-lenet/13') || t.startsWith('cifar-lenet/14')));
  for (let i = 0; i < 40; i++) for (let j = 0; j < i; j++) assert.notDeepEqual(seriesStyle(i), seriesStyle(j));
});

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

/** The page after its scripts ran, as headless Chromium sees it in a window `width` wide. */
function renderedDom(file: string, hash: string, width: number): string {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    `--window-size=${width},900`,
    '--virtual-time-budget=8000',
    '--dump-dom',
    `file://${file}${hash}`,
  ];
  const r = spawnSync(CHROMIUM!, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('plotRuns HTML: one title, hover tooltips, runs toggled from the legend, panels that fit the window', {
  skip: !CHROMIUM && 'chromium is not installed',
}, async () => {
  const root = tempRoot();
  const runs = twelveRuns(root);
  const html = path.join(root, 'plot.html');
  const r = await plotRuns(runs, ['testAccuracy', 'testLoss', 'loss'], html);
  assert.deepEqual(r.leftOut, [{ run: 'cifar-lenet/13', why: 'failed, no data' }]);
  const page = fs.readFileSync(html, 'utf8');
  assert.ok(page.startsWith('<!doctype html>'));
  assert.equal(page.match(/testAccuracy, testLoss, loss by epoch/g)?.length, 2, 'the <title> and the one heading');
  assert.ok(!/(src|href)="https?:/.test(page), 'no network');
  assert.ok(page.includes('<p class="note">left out: cifar-lenet/13 (failed, no data)</p>'));
  assert.ok(
    page.includes('<tr><td>cifar-lenet/12 batch=128 lr=0.01</td><td>completed</td><td class="n">4</td>'),
    'summary table',
  );

  const dom = renderedDom(html, '', 1200);
  assert.ok(dom.includes('data-ready="true"'), 'the charts were drawn');
  assert.equal(dom.match(/aria-roledescription="line mark"/g)?.length, 36, '12 runs x 3 panels');
  assert.ok(dom.includes('aria-label="epoch: 1; testAccuracy: '), 'points carry their values (tooltips)');
  // Unticking runs in the legend (here from the address) hides them in every panel.
  const hidden = renderedDom(html, '#hide=cifar-lenet/2,cifar-lenet/11', 1200);
  assert.equal(hidden.match(/aria-roledescription="line mark"/g)?.length, 30);
  assert.ok(!/aria-label="[^"]*series: cifar-lenet\/2 /.test(hidden));
  // A narrow window: every panel fits it (the third was cut off at 1200 px).
  const narrow = renderedDom(html, '', 700);
  const widths = [...narrow.matchAll(/<svg[^>]* class="marks" width="(\d+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 3, narrow.slice(0, 2000));
  for (const w of widths) assert.ok(w <= 680, `panel ${w}px wide in a 700px window`);
});

test('plotRuns: unknown metric and bad extension are usage errors', async () => {
  const root = tempRoot();
  writeRun(root, {});
  const runs = resolveRuns('cifar-lenet', root);
  await assert.rejects(plotRuns(runs, ['testAcuracy'], path.join(root, 'x.svg')), {
    message: 'no "testAcuracy" values in cifar-lenet/1; did you mean "testAccuracy"?',
  });
  await assert.rejects(plotRuns(runs, ['testAccuracy'], path.join(root, 'x.png')), {
    message: `--out must end in .svg or .html, got "${path.join(root, 'x.png')}"`,
  });
});

test('pipeline plot (CLI) writes the file and names it', () => {
  const root = tempRoot();
  writeRun(root, {});
  const out = path.join(root, 'c.svg');
  const r = spawnSync(process.execPath, [BIN, 'plot', 'cifar-lenet/1', '--runs-dir', root, '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${out} (1 run, testAccuracy)\n`);
  assert.equal(r.stderr, '');
  writeRun(root, { status: 'failed', metrics: [] });
  const two = spawnSync(process.execPath, [BIN, 'plot', 'cifar-lenet', '--runs-dir', root, '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(two.status, 0, two.stderr);
  assert.equal(two.stdout, `${out} (1 run, testAccuracy)\n`);
  assert.equal(two.stderr, 'left out: cifar-lenet/2 (failed, no data)\n');
  assert.ok(fs.readFileSync(out, 'utf8').startsWith('<svg'));
});
