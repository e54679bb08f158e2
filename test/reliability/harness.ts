/**
 * The fault-injection suite's tools: the real CLI in a child process (exit code, stderr, peak
 * memory, a hard timeout), a small tmpfs to fill, and checks that a failure left nothing
 * behind (temp files, .partial folders, runs marked running) and changed nothing outside
 * the folder it was meant to touch.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../data/fixtures';

export const BIN = path.resolve(__dirname, '../../../bin/pipeline.js');
const MAX_RSS = path.join(__dirname, 'max-rss.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the process, in MB. */
  peakRssMb: number;
  seconds: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  /** The child is SIGKILLed after this long and the test fails: no case may hang. */
  timeoutMs?: number;
  /** Each stderr line as it arrives (to send a signal at the right moment). */
  onStderrLine?: (line: string, child: ChildProcess) => void;
  onStart?: (child: ChildProcess) => void;
  uid?: number;
  gid?: number;
}

/** `pipeline ARGS` as a real process (rejecting if it hangs or prints `internal error`); its peak RSS comes from a preload that reports process.resourceUsage() at exit. */
export function cli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const rssFile = path.join(tempDir('pipeline-rss-'), 'rss');
  if (o.uid !== undefined) fs.chmodSync(path.dirname(rssFile), 0o777);
  const started = Date.now();
  const child = spawn(process.execPath, ['--require', MAX_RSS, BIN, ...args], {
    env: { ...process.env, PIPELINE_TEST_MAX_RSS_FILE: rssFile, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: o.uid,
    gid: o.gid,
  });
  o.onStart?.(child);
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d;
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      o.onStderrLine?.(pending.slice(0, nl), child);
      pending = pending.slice(nl + 1);
    }
  });
  const limit = o.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limit);
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut)
        return reject(
          new Error(`pipeline ${args.join(' ')} did not finish within ${limit} ms (it hangs); stderr:\n${stderr}`),
        );
      // No fault a user can cause is a bug: every case in the suite fails on an internal error.
      if (/internal error/.test(stderr))
        return reject(new Error(`pipeline ${args.join(' ')} printed an internal error:\n${stderr}`));
      const kb = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : NaN;
      resolve({ code, signal, stdout, stderr, peakRssMb: kb / 1024, seconds: (Date.now() - started) / 1000 });
    }),
  );
}

/** stderr from the first `error: ` (or `internal error`) line on: what the boundary printed, without the run's log lines before it. */
export function errorLines(stderr: string): string {
  const lines = stderr.split('\n');
  const first = lines.findIndex((l) => l.startsWith('error: ') || l.startsWith('internal error'));
  return first < 0 ? '' : lines.slice(first).join('\n').trimEnd();
}

/** Every file and folder under `dir` with its size and modification time: compare before and after to see what changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(dir, rel));
    out[rel.split(path.sep).join('/')] = st.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs}`;
  }
  return out;
}

/** Temp files, partial folders and runs left `running` under `dir`: what no failure may leave behind. */
export function leftovers(dir: string): string[] {
  const found: string[] = [];
  if (!fs.existsSync(dir)) return found;
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const base = path.basename(rel);
    if (/^\.partial-|\.tmp$|\.tmp-|\.old-/.test(base)) found.push(rel);
    if (base === 'meta.json') {
      try {
        const meta = JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8'));
        if (meta?.status === 'running') found.push(`${rel} (running)`);
      } catch {
        // A tampered meta.json is the test's own doing.
      }
    }
  }
  return found.sort();
}

export function assertClean(dir: string): void {
  assert.deepEqual(leftovers(dir), [], `nothing left behind under ${dir}`);
}

/**
 * A tmpfs of `size` (e.g. '2m') mounted at a fresh folder, or undefined with the reason
 * (mounting needs root, or CAP_SYS_ADMIN in a container).
 */
export function mountTmpfs(
  size: string,
): { dir: string; remount(size: string): void; unmount(): void } | { skip: string } {
  const dir = tempDir('pipeline-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return {
      skip: `cannot mount a tmpfs here (${(r.error?.message ?? r.stderr).trim()}); run as root to test a full disk`,
    };
  const run = (args: string[]) => {
    const x = spawnSync('mount', args, { encoding: 'utf8' });
    if (x.status !== 0) throw new Error(`mount ${args.join(' ')}: ${x.stderr}`);
  };
  let mounted = true;
  process.on('exit', () => {
    if (mounted) spawnSync('umount', ['-l', dir]);
  });
  return {
    dir,
    remount: (s) => run(['-o', `remount,size=${s}`, dir]),
    unmount: () => {
      spawnSync('umount', [dir]);
      mounted = false;
    },
  };
}

/** Free bytes on the filesystem holding `dir`. */
export const freeBytes = (dir: string) => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};

/** Fills the filesystem holding `dir` until `leave` bytes are free; returns the filler file. */
export function fillUntil(dir: string, leave: number): string {
  const filler = path.join(dir, 'filler');
  const size = Math.max(0, freeBytes(dir) - leave);
  const fd = fs.openSync(filler, 'w');
  try {
    const block = Buffer.alloc(1 << 16, 1);
    for (let done = 0; done < size; ) {
      const n = fs.writeSync(fd, block, 0, Math.min(block.length, size - done));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
