/// <reference lib="dom" />
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, launchBrowser, open, screenshot, startUi, type UiProcess } from './browser';
import { makeUiFixture, type UiFixture } from './fixture';

/**
 * The dashboard in a real headless Chromium against `pipeline ui` serving runs made by the
 * real `pipeline run` and `pipeline sweep` (see fixture.ts). Each test saves a screenshot.
 */

const missing = browserMissing();

/** A GET with the path exactly as written (no URL normalisation), as an attacker would send it. */
function rawGet(
  base: string,
  rawPath: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const rowIds = (page: Page) =>
  page.$$eval('#runs tbody tr[data-run]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.run!));
const cells = (page: Page, key: string) =>
  page.$$eval(`#runs tbody td[data-key="${key}"]`, (tds) => tds.map((td) => td.textContent!));
/** Line series drawn by vega in a chart (one <path> per series in each line mark). */
const linePaths = (page: Page, chart: string) => page.$$eval(`${chart} .mark-line.role-mark path`, (ps) => ps.length);
/** Data points drawn in a chart (not its legend's symbols). */
const points = (chart: string) => `${chart} .mark-symbol.role-mark path`;
const count = (page: Page, selector: string) => page.$$eval(selector, (els) => els.length);

describe('pipeline ui in a browser', { skip: missing }, () => {
  let fx: UiFixture;
  let ui: UiProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    fx = await makeUiFixture();
    ui = await startUi(['--runs-dir', fx.root]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Anything the page logs as an error (a CSP refusal, a failed script) fails the last test.
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });

  after(async () => {
    await browser?.close();
    if (ui) assert.equal(await ui.stop(), 0, 'pipeline ui exits 0 on SIGTERM');
  });

  test('the table lists every run, damaged folders marked as damaged', async () => {
    await open(page, ui.url);
    const expected = [
      'tiny/1',
      'tiny/2',
      'tiny/20',
      'tiny/21',
      'tiny-sweep/1',
      'tiny-sweep/2',
      'live/1',
      ...fx.htmlNames.map((n) => `${n}/1`),
    ];
    assert.deepEqual((await rowIds(page)).sort(), expected.sort());
    const badge = (id: string) =>
      page.$eval(`#runs tr[data-run="${id}"] .badge`, (b) => [b.textContent, b.getAttribute('title')]);
    assert.deepEqual(await badge('tiny/20'), ['damaged (completed)', 'metrics.jsonl ends in a partial line']);
    assert.deepEqual(await badge('tiny/21'), ['damaged (unknown)', 'meta.json is not valid JSON']);
    assert.deepEqual(await badge('tiny/1'), ['completed', null]);
    assert.deepEqual(await badge('live/1'), ['running', null]);
    // The config values that differ, as `pipeline ls` chooses them, are columns.
    const headers = await page.$$eval('#runs thead th[data-key]', (ths) =>
      ths.map((th) => (th as HTMLElement).dataset.key),
    );
    assert.ok(
      headers.includes('training.optimizer.learningRate') && headers.includes('dataset.validationSplit'),
      headers.join(', '),
    );
    await screenshot(page, 'runs-table');
  });

  test('sorting by a column and filtering by text and status', async () => {
    await open(page, ui.url + '#/?sort');
    const accuracy = async () => (await cells(page, 'testAccuracy')).map(Number);
    await page.click('#runs th[data-key="testAccuracy"] button');
    const desc = await accuracy();
    assert.deepEqual(
      desc,
      [...desc].sort((a, b) => b - a),
      'numbers sort descending first',
    );
    await page.click('#runs th[data-key="testAccuracy"] button');
    const asc = await accuracy();
    assert.deepEqual(
      asc,
      [...asc].sort((a, b) => a - b),
    );
    assert.equal(
      await page.$eval('#runs th[data-key="testAccuracy"]', (th) => th.getAttribute('aria-sort')),
      'ascending',
    );

    await page.fill('#filter', 'sweep');
    assert.deepEqual((await rowIds(page)).sort(), ['tiny-sweep/1', 'tiny-sweep/2']);
    await page.fill('#filter', 'validationsplit');
    assert.deepEqual(await rowIds(page), [], 'filters values, not headers');
    await page.fill('#filter', '0.01');
    assert.deepEqual((await rowIds(page)).sort(), ['live/1', 'tiny/2'], 'a config value (learning rate 0.01) matches');
    await page.fill('#filter', '');
    await page.selectOption('#status-filter', 'damaged');
    assert.deepEqual((await rowIds(page)).sort(), ['tiny/20', 'tiny/21']);
    await page.selectOption('#status-filter', 'running');
    assert.deepEqual(await rowIds(page), ['live/1']);
    await page.selectOption('#status-filter', '');
    await page.selectOption('#group-by', 'experiment');
    const groups = await page.$$eval('#runs tr.group', (trs) => trs.map((tr) => tr.textContent));
    assert.deepEqual(
      groups,
      [...fx.htmlNames.map((n) => `${n} (1)`).sort(), 'live (1)', 'tiny (4)', 'tiny-sweep (2)'].sort((a, b) =>
        a.localeCompare(b, undefined, { numeric: true }),
      ),
    );
    await page.selectOption('#group-by', 'sweep');
    assert.deepEqual(await page.$$eval('#runs tr.group', (trs) => trs.map((tr) => tr.textContent)), [
      'not in a sweep (7)',
      'tiny-sweep/sweeps/1 (2)',
    ]);
    await screenshot(page, 'runs-sorted-grouped');
    await page.selectOption('#group-by', 'none');
  });

  test('a run page: meta, per-epoch table, and curves with one series per metric', async () => {
    await open(page, ui.url);
    await page.click('#runs a[href="#/run/tiny/2"]');
    await page.waitForSelector('body[data-ready="true"] #run-title');
    assert.equal(await page.textContent('#run-title'), 'tiny/2');
    // tiny/2 trained with a validation split: loss and accuracy on train, validation and test.
    const perPanel = { loss: ['loss', 'valLoss', 'testLoss'], accuracy: ['accuracy', 'valAccuracy', 'testAccuracy'] };
    for (const [panel, metrics] of Object.entries(perPanel)) {
      assert.equal(
        await linePaths(page, `.chart[data-panel="${panel}"]`),
        metrics.length,
        `${panel}: one line per metric`,
      );
      assert.deepEqual(
        await page.$$eval(`.chart[data-panel="${panel}"] .role-legend-label text`, (ts) =>
          ts.map((t) => t.textContent),
        ),
        ['train', 'validation', 'test'],
      );
    }
    const epochHeaders = await page.$$eval('#epochs thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(epochHeaders.slice(0, 7), [
      'epoch',
      'loss',
      'accuracy',
      'valLoss',
      'valAccuracy',
      'testLoss',
      'testAccuracy',
    ]);
    assert.equal(await page.$$eval('#epochs tbody tr', (trs) => trs.length), 2);
    const facts = await page.$$eval('table.facts tr', (trs) =>
      Object.fromEntries(trs.map((tr) => [tr.querySelector('th')!.textContent, tr.querySelector('td')!.textContent])),
    );
    const meta = JSON.parse(fs.readFileSync(path.join(fx.root, 'tiny/2/meta.json'), 'utf8'));
    assert.equal(facts['dataset fingerprint'], meta.dataset.fingerprint);
    assert.match(facts['git commit'] ?? '', /^[0-9a-f]{40}/);
    assert.match(facts.versions, /^pipeline \S+, tfjs 4\.22\.0/);
    // The model's files are linked, and what a link serves is the file.
    const model = await page.getAttribute('ul.files a[href$="/model/model.json"]', 'href');
    const res = await page.request.get(new URL(model!, ui.url).href);
    assert.equal(res.status(), 200);
    assert.ok(Array.isArray((await res.json()).weightsManifest));
    await screenshot(page, 'run-page');
  });

  test('a run with a saved evaluation shows per-class accuracy and the confusion matrix', async () => {
    await open(page, ui.url + '#/run/tiny/1');
    const saved = JSON.parse(fs.readFileSync(path.join(fx.root, 'tiny/1/evaluation.json'), 'utf8'));
    const perClass = await page.$$eval('#per-class tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    assert.deepEqual(
      perClass,
      saved.perClass.map((c: { class: string; examples: number; correct: number; accuracy: number }) => [
        c.class,
        String(c.examples),
        String(c.correct),
        Number.isInteger(c.accuracy) ? String(c.accuracy) : c.accuracy.toFixed(4),
      ]),
    );
    assert.equal(perClass.length, 10);
    // A cell per (true, predicted) pair, each with its count written in.
    assert.equal(await count(page, '#confusion .mark-rect.role-mark path'), 100);
    const counts = await page.$$eval('#confusion .mark-text.role-mark text', (ts) =>
      ts.map((t) => Number(t.textContent)),
    );
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      saved.dataset.examples,
    );
    await screenshot(page, 'run-evaluation');
  });

  test('two selected runs: curves overlaid and the changed config keys', async () => {
    await open(page, ui.url + '#/?compare');
    assert.equal(await page.isDisabled('#compare'), true);
    await page.check('#runs tr[data-run="tiny/1"] input[type=checkbox]');
    await page.check('#runs tr[data-run="tiny/2"] input[type=checkbox]');
    await page.click('#compare');
    await page.waitForSelector('body[data-ready="true"] #overlay');
    assert.equal(await linePaths(page, '#overlay'), 2, 'one line per run');
    assert.deepEqual(await page.$$eval('#overlay .role-legend-label text', (ts) => ts.map((t) => t.textContent)), [
      'tiny/1',
      'tiny/2',
    ]);
    const changed = await page.$$eval('table.config-diff tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    assert.deepEqual(changed, [
      ['dataset.validationSplit', '0', '0.2'],
      ['training.optimizer.learningRate', '0.001', '0.01'],
    ]);
    await screenshot(page, 'compare');
    // Another metric on a log scale, still one line per run.
    await page.selectOption('#metric', 'testLoss');
    await page.check('#log');
    await page.waitForFunction(
      () => document.querySelector('#overlay .role-title-text')?.textContent === 'testLoss by epoch',
    );
    assert.equal(await linePaths(page, '#overlay'), 2);
    // Smoothing draws the averaged lines over the raw ones, faint: two lines per run.
    await page.$eval('#smoothing', (input) => {
      (input as HTMLInputElement).value = '0.5';
      input.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(
      () => document.querySelectorAll('#overlay .mark-line.role-mark path').length === 4,
      undefined,
      { timeout: 5000 },
    );
    assert.deepEqual(
      await page.$$eval('#overlay .role-legend-label text', (ts) => ts.map((t) => t.textContent)),
      ['tiny/1', 'tiny/2'],
      'the legend stays',
    );
    await screenshot(page, 'compare-log-scale-smoothed');
  });

  test('a new epoch line in a running run updates its row and its chart within 2 s', async (t) => {
    const file = path.join(fx.root, fx.live, 'metrics.jsonl');
    const line = (epoch: number, acc: number) =>
      JSON.stringify({
        epoch,
        loss: 2 - epoch / 10,
        accuracy: acc,
        valLoss: 2.1,
        valAccuracy: acc,
        testLoss: 2.2 - epoch / 10,
        testAccuracy: acc,
        learningRate: 0.01,
        seconds: 0.5,
        samplesPerSecond: 300,
      }) + '\n';
    await open(page, ui.url + '#/?live');
    const cell = `#runs tr[data-run="${fx.live}"] td[data-key="testAccuracy"]`;
    assert.notEqual(await page.textContent(cell), '0.9877');
    let t0 = Date.now();
    fs.appendFileSync(file, line(2, 0.987654));
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '0.9877', cell, { timeout: 2000 });
    const rowMs = Date.now() - t0;

    await open(page, ui.url + `#/run/${fx.live}`);
    const accuracyPoints = points('.chart[data-panel="accuracy"]');
    assert.equal(await count(page, accuracyPoints), 3 * 2, 'train, validation, test at epochs 1 and 2');
    t0 = Date.now();
    fs.appendFileSync(file, line(3, 0.5));
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3 * 3, accuracyPoints, {
      timeout: 2000,
    });
    const chartMs = Date.now() - t0;
    assert.equal(await page.$$eval('#epochs tbody tr', (trs) => trs.length), 3);
    t.diagnostic(`row updated in ${rowMs} ms, chart in ${chartMs} ms`);
    await screenshot(page, 'live-run');
  });

  test('the sweep page: leaderboard, parallel coordinates, metric against each parameter', async () => {
    await open(page, ui.url + '#/sweeps');
    await page.click('a[href="#/sweep/tiny-sweep/1"]');
    await page.waitForSelector('body[data-ready="true"] #leaderboard');
    const board = await page.$$eval('#leaderboard tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    // Trials ran side by side, so which run each got is read from the sweep's own record.
    const state = JSON.parse(fs.readFileSync(path.join(fx.root, 'tiny-sweep/sweeps/1/sweep.json'), 'utf8'));
    const expected = [...state.trials]
      .sort((a, b) => b.value - a.value)
      .map((t, i) => [
        String(i + 1),
        String(t.index),
        t.run,
        'completed',
        String(t.params['training.optimizer.learningRate']),
        t.value.toFixed(4),
      ]);
    assert.deepEqual(
      board.map((r) => r.slice(0, 6)),
      expected,
    );
    assert.equal(await linePaths(page, '#parallel'), 2, 'one line per trial');
    assert.equal(await count(page, points('.chart[data-param="training.optimizer.learningRate"]')), 2);
    await screenshot(page, 'sweep');
  });

  test('path traversal, symlinks out, writes and other hosts are refused with JSON errors', async () => {
    const cases: Array<[string, number, string]> = [
      ['/files/../../etc/passwd', 403, 'path segment ".." is not allowed'],
      ['/files/%2e%2e/%2e%2e/etc/passwd', 403, 'path segment ".." is not allowed'],
      ['/files/tiny%2f..%2f..%2fsecret.txt', 403, 'path segment "tiny/../../secret.txt" is not allowed'],
      ['/files//etc/passwd', 403, 'absolute paths are not served'],
      ['/files/tiny/1/outside.txt', 403, 'tiny/1/outside.txt leads outside the runs folder'],
      ['/files/tiny/1/.meta.json.tmp', 403, 'hidden files are not served'],
      ['/files/tiny/1/nothing.json', 404, 'no file tiny/1/nothing.json in the runs folder'],
      ['/files/tiny/1', 404, 'tiny/1 is not a file'],
      ['/api/runs/..%2F..%2Fetc/1', 404, 'no run ../../etc/1'],
    ];
    for (const [url, status, error] of cases) {
      const r = await rawGet(ui.url, url);
      assert.deepEqual(
        [r.status, r.type, JSON.parse(r.body)],
        [status, 'application/json; charset=utf-8', { error }],
        url,
      );
    }
    const post = await rawGet(ui.url, '/api/runs', {}, 'POST');
    assert.deepEqual(
      [post.status, JSON.parse(post.body)],
      [405, { error: 'the dashboard is read-only: only GET and HEAD' }],
    );
    const rebound = await rawGet(ui.url, '/api/runs', { host: 'attacker.example:80' });
    assert.deepEqual(
      [rebound.status, JSON.parse(rebound.body)],
      [403, { error: 'unexpected Host "attacker.example:80"' }],
    );
    const ok = await rawGet(ui.url, '/files/tiny/1/meta.json');
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).name, 'tiny');
    // In the browser (another tab, whose 404 is expected): it resolves the dots itself, and asks for /etc/passwd.
    const tab = await browser.newPage();
    const res = await tab.goto(ui.url + 'files/%2e%2e/%2e%2e/etc/passwd');
    assert.equal(tab.url(), new URL('/etc/passwd', ui.url).href);
    assert.deepEqual([res!.status(), await res!.json()], [404, { error: 'no such page: GET /etc/passwd' }]);
    await screenshot(tab, 'traversal-refused');
    await tab.close();
  });

  test('runs named with HTML show as text and run nothing', async () => {
    await open(page, ui.url);
    const links = await page.$$eval('#runs td a', (as) => as.map((a) => a.textContent));
    for (const n of fx.htmlNames) assert.ok(links.includes(`${n}/1`), `${n}/1 shown as text`);
    assert.equal(await page.$$eval('main img, main script', (els) => els.length), 0, 'no element made from a name');
    await page.click(`#runs tr[data-run="${fx.htmlNames[0]}/1"] a`);
    await page.waitForSelector('body[data-ready="true"] #run-title');
    assert.equal(await page.textContent('#run-title'), '<script>/1');
    await open(page, ui.url + `#/run/${encodeURIComponent(fx.htmlNames[1])}/1`);
    assert.equal(await page.textContent('#run-title'), `${fx.htmlNames[1]}/1`);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    await screenshot(page, 'html-named-run');
  });

  test('a narrow window: no page-wide horizontal scrolling; the table scrolls in its box', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await open(page, ui.url + '#/?narrow');
    const widths = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      window.innerWidth,
      document.querySelector('.table-wrap')!.scrollWidth,
    ]);
    assert.ok(widths[0] <= widths[1], `page ${widths[0]}px wide in a ${widths[1]}px window`);
    assert.ok(widths[2] > widths[1], 'the wide table scrolls inside its box');
    await screenshot(page, 'narrow-runs');
    await open(page, ui.url + '#/run/tiny/2');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    assert.equal(await linePaths(page, '.chart[data-panel="loss"]'), 3);
    await screenshot(page, 'narrow-run');
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(problems, [], 'no errors in the page (CSP refusals included)');
  });
});
