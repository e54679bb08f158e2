import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { listRuns } from '../../../src/runs/read';
import { processLiveness } from '../../../src/runs/liveness';

export const BIN = path.resolve(__dirname, '../../../../bin/pipeline.js');
export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/runs');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `get` returns something truthy; fail naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  get: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

/** `pipeline ARGS` as a child process, its output collected. */
export function pipeline(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

/** Stop what a test started, even when it failed half-way: workers, sweeps and their trial processes. */
export function killAll(procs: Proc[], runsDirs: string[]): void {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const dir of runsDirs) {
    for (const r of listRuns(dir)) {
      const meta = r.meta();
      // Only the process that wrote the run: pids wrap quickly on a busy machine, and a reused pid is someone else's.
      const pid = meta?.pid;
      if (meta?.status === 'running' && pid && processLiveness(pid, meta.host, meta.startedAt) === 'alive') {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
}
