import { spawnSync } from 'node:child_process';
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
  ms: number;
}

/** Runs `node bin/pipeline.js ...args` in `cwd`, as a user would, and times it. */
export function runCli(args: readonly string[], cwd = REPO, env: NodeJS.ProcessEnv = {}): CliResult {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PIPELINE_DEBUG: '', NO_COLOR: '1', ...env },
    timeout: 30_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms };
}

/** A line of a V8 stack trace, which a user must never see. */
export const STACK_LINE = /^\s+at .+/m;
