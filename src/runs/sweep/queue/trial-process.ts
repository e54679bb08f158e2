import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LIFELINE_FD, LIFELINE_FD_ENV } from './lifeline';
import { childEnv } from './url';

/**
 * `pipeline run` as a child: its own process group, its output appended to the trial's log
 * (the last 8 KB kept for the result line and the error), niced below the worker. The
 * watcher (parent-watch.ts) makes it stop, checkpointing, if this worker dies without stopping
 * it: the child holds one end of a lifeline (lifeline.ts) whose other end this process keeps.
 */
export function startTrialProcess(script: string, args: string[], logFile: string) {
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--require', path.join(__dirname, 'parent-watch.js'), script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...childEnv(), [LIFELINE_FD_ENV]: String(LIFELINE_FD) },
  });
  // Read (nothing comes) so the handle stays open until the child exits; only this process's end matters.
  (child.stdio[LIFELINE_FD] as net.Socket | null)?.resume();
  lowerPriority(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    fs.writeSync(logFd, b);
    stdout = (stdout + b.toString('utf8')).slice(-8192);
  });
  child.stderr!.on('data', (b: Buffer) => {
    fs.writeSync(logFd, b);
    stderr = (stderr + b.toString('utf8')).slice(-8192);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (err) => (stderr += `\n${err.message}`));
    child.on('close', (code, signal) => {
      fs.closeSync(logFd);
      resolve({ code, signal });
    });
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/**
 * Trials run at a lower priority than their worker (niceness +5): training takes every core
 * it gets, and the worker must still renew its locks and report results on time, or the
 * queue would think it dead and hand its trials to another worker.
 */
function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, Math.min(19, os.getPriority() + 5));
  } catch {
    // Deliberate: not permitted here (or the child is gone already): the trial keeps the worker's priority.
  }
}
