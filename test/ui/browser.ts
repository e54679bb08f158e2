/// <reference lib="dom" />
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';

/**
 * The real browser and the real server for the dashboard's tests: Debian's chromium driven
 * by playwright-core, and `pipeline ui` as a user starts it. Screenshots go to
 * $PIPELINE_UI_SCREENSHOTS, else <tmp>/pipeline-ui-screenshots, and are kept.
 */

const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');
export const CHROMIUM = process.env.PIPELINE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = process.env.PIPELINE_UI_SCREENSHOTS ?? path.join(os.tmpdir(), 'pipeline-ui-screenshots');

/** Why the browser tests cannot run here, or undefined. In CI a missing browser is a failure, not a skip. */
export function browserMissing(): string | undefined {
  if (fs.existsSync(CHROMIUM)) return undefined;
  const why = `no chromium at ${CHROMIUM} (apt-get install chromium, or set PIPELINE_CHROMIUM)`;
  if (process.env.CI) throw new Error(`${why}; CI must run the browser tests`);
  return why;
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

export interface UiProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/** `pipeline ui` on a free port; resolves once it prints its address. */
export function startUi(args: string[]): Promise<UiProcess> {
  const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pipeline ui did not start: ${err}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/\S+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1],
        child,
        stderr: () => err,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    child.on('exit', (code) => reject(new Error(`pipeline ui exited ${code}: ${err}`)));
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Go to a view and wait until it has rendered. */
export async function open(page: Page, url: string): Promise<void> {
  await page
    .evaluate(() => (document.body ? (document.body.dataset.ready = 'false') : undefined))
    .catch(() => undefined);
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
}
