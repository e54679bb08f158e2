import { ConfigError, EXIT, PipelineError } from '../errors';
import { formatDiagnostics } from '../config/diagnostics';
import { describeOsError } from '../os-errors';

/**
 * The one error boundary: every command's action runs inside it. It turns
 * error classes into exit codes and messages; user errors never print a stack.
 */
export async function withBoundary(action: () => Promise<number | void>): Promise<number> {
  try {
    const code = await action();
    return code ?? EXIT.ok;
  } catch (err) {
    return report(err);
  }
}

export function report(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(formatDiagnostics(err.diagnostics) + '\n');
    return err.exitCode;
  }
  if (err instanceof PipelineError) {
    process.stderr.write(`error: ${err.message}\n`);
    return err.exitCode;
  }
  // A full disk, a read-only or missing folder...: the user's to fix, named with its path.
  const os = describeOsError(err);
  if (os) {
    process.stderr.write(`error: ${os}\n`);
    return EXIT.runFailed;
  }
  // Anything else is a bug in pipeline, not in the user's input.
  const e = err as Error;
  process.stderr.write(`internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.PIPELINE_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('(set PIPELINE_DEBUG=1 for a stack trace)\n');
  return EXIT.runFailed;
}
