import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { plotRuns, runCurvePoints, writeRunCurves } from '../../src/runs/plot';
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
  for (const t of ['cifar-lenet/1 learning curves', 'loss', 'accuracy', 'train', 'validation', 'test', 'epoch']) assert.ok(texts.includes(t), `missing "${t}" in ${texts.join('|')}`);
  // 2 panels x 3 splits = 6 lines.
  assert.equal(svg.match(/aria-roledescription="line mark"/g)?.length, 6);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
});

test('writeRunCurves: nothing to draw before the first epoch', async () => {
  const root = tempRoot();
  const dir = writeRun(root, { metrics: [], status: 'running', summary: false });
  assert.equal(await writeRunCurves(dir), undefined);
  assert.equal(fs.existsSync(path.join(dir, 'curves.svg')), false);
});

test('runCurvePoints groups train/val/test of each base metric', () => {
  const { panels, splits, points } = runCurvePoints([{ epoch: 1, loss: 1, valLoss: 2, auc: 0.5, testAuc: 0.4, seconds: 3 }]);
  assert.deepEqual(panels, ['loss', 'auc']);
  assert.deepEqual(splits, ['train', 'validation', 'test']);
  assert.deepEqual(points, [
    { epoch: 1, value: 1, series: 'train', panel: 'loss' },
    { epoch: 1, value: 2, series: 'validation', panel: 'loss' },
    { epoch: 1, value: 0.5, series: 'train', panel: 'auc' },
    { epoch: 1, value: 0.4, series: 'test', panel: 'auc' },
  ]);
});

test('plotRuns: overlaid runs to SVG and to a self-contained HTML page', async () => {
  const root = tempRoot();
  writeRun(root, { metrics: curve(3, 0.5) });
  writeRun(root, { metrics: curve(5, 0.6) });
  const runs = resolveRuns('cifar-lenet', root);
  const out = path.join(root, 'plot.svg');
  const r = await plotRuns(runs, ['testAccuracy', 'testLoss'], out);
  assert.deepEqual(r, { file: out, format: 'svg', runs: ['cifar-lenet/1', 'cifar-lenet/2'], metrics: ['testAccuracy', 'testLoss'] });
  const texts = svgTexts(fs.readFileSync(out, 'utf8'));
  for (const t of ['cifar-lenet/1', 'cifar-lenet/2', 'testAccuracy', 'testLoss', 'run']) assert.ok(texts.includes(t), t);

  const html = path.join(root, 'plot.html');
  await plotRuns(runs, ['testAccuracy'], html);
  const page = fs.readFileSync(html, 'utf8');
  assert.ok(page.startsWith('<!doctype html>'));
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(page), 'no scripts, no network');
  assert.ok(page.includes('<svg'));
  assert.ok(page.includes('<tr><td>cifar-lenet/2</td><td>completed</td><td class="n">5</td><td class="n">5 (testAccuracy)</td><td class="n">0.5056</td><td class="n">0.5056</td></tr>'), page);
});

test('plotRuns: unknown metric and bad extension are usage errors', async () => {
  const root = tempRoot();
  writeRun(root, {});
  const runs = resolveRuns('cifar-lenet', root);
  await assert.rejects(plotRuns(runs, ['testAcuracy'], path.join(root, 'x.svg')), { message: 'no "testAcuracy" values in cifar-lenet/1; did you mean "testAccuracy"?' });
  await assert.rejects(plotRuns(runs, ['testAccuracy'], path.join(root, 'x.png')), { message: `--out must end in .svg or .html, got "${path.join(root, 'x.png')}"` });
});

test('pipeline plot (CLI) writes the file and names it', () => {
  const root = tempRoot();
  writeRun(root, {});
  const out = path.join(root, 'c.svg');
  const r = spawnSync(process.execPath, [BIN, 'plot', 'cifar-lenet/1', '--runs-dir', root, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${out} (1 run, testAccuracy)\n`);
  assert.ok(fs.readFileSync(out, 'utf8').startsWith('<svg'));
});
