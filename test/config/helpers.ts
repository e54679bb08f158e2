import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../src/errors';
import { formatDiagnostics } from '../../src/config/diagnostics';

/** Shared by the config and CLI tests: where things are, and how to run the real CLI. */

/** The repository root (tests run from dist/test/<area>/). */
export const REPO = path.resolve(__dirname, '../../..');
export const FIXTURES = path.join(REPO, 'test/fixtures/config');
export const SEED = path.join(REPO, 'configs/cifar-lenet.yaml');
export const BIN = path.join(REPO, 'bin/pipeline.js');

/** What the CLI prints for a ConfigError thrown by `fn` (without the final newline). */
export function configErrorText(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return formatDiagnostics(e.diagnostics);
    throw e;
  }
  throw new Error('expected a ConfigError, but it loaded');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time of the child, startup included. */
  ms: number;
  /** CPU time (user + system) the child used, startup included: steady under load from other processes. */
  cpuMs: number;
}

const CPU_PROBE = path.join(__dirname, 'cpu-probe.js');
let probeCount = 0;

/** Runs `node bin/pipeline.js ...args` in `cwd`, as a user would, and times it. */
export function runCli(args: readonly string[], cwd = REPO, env: NodeJS.ProcessEnv = {}): CliResult {
  const probe = path.join(os.tmpdir(), `pipeline-cpu-${process.pid}-${probeCount++}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', CPU_PROBE, BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PIPELINE_DEBUG: '', NO_COLOR: '1', PIPELINE_CPU_PROBE: probe, ...env },
    timeout: 30_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpuMs = NaN;
  try {
    cpuMs = Number(fs.readFileSync(probe, 'utf8'));
    fs.rmSync(probe);
  } catch {
    // the child died before its exit handler ran; cpuMs stays NaN and any time assertion fails
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms, cpuMs };
}

/** A line of a V8 stack trace, which a user must never see. */
export const STACK_LINE = /^\s+at .+/m;
