/**
 * Error classes that cross module boundaries. The CLI has one error boundary
 * (src/cli/boundary.ts) that maps these classes to exit codes; nothing else
 * calls process.exit. Anything that is not a PipelineError is a bug and is
 * reported as such (exit 1, with a stack trace only under PIPELINE_DEBUG=1).
 */

export const EXIT = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  interrupted: 130,
} as const;

/** Base class: `message` is what the user sees, without a stack trace. */
export class PipelineError extends Error {
  readonly exitCode: number = EXIT.runFailed;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line usage: unknown option, bad --set syntax, unknown run reference. Exit 2. */
export class UsageError extends PipelineError {
  override readonly exitCode = EXIT.usage;
}

/** One located problem in an experiment file. */
export interface Diagnostic {
  file: string;
  line: number; // 1-based; 0 when the file has no position (missing file, directory)
  column: number; // 1-based
  path: string; // dotted path into the experiment, '' for the whole document
  message: string; // what was expected and what was found
  /** The source line and a caret under the column, already formatted. */
  excerpt?: string;
}

/** The experiment file is invalid (syntax, schema or shapes). Exit 2. Carries every problem found. */
export class ConfigError extends PipelineError {
  override readonly exitCode = EXIT.usage;
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnosticHeadline).join('\n'));
  }
}

export function formatDiagnosticHeadline(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return d.path ? `${where}: ${d.path}: ${d.message}` : `${where}: ${d.message}`;
}

/** Data could not be found, downloaded, verified or decoded. Exit 1. */
export class DataError extends PipelineError {}

/** A training run failed (diverged, backend error...). Exit 1. */
export class RunError extends PipelineError {}

/** The user interrupted (SIGINT/SIGTERM). Exit 130. */
export class InterruptedError extends PipelineError {
  override readonly exitCode = EXIT.interrupted;
}
