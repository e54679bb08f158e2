import * as fs from 'node:fs';
import type { ErrorObject } from 'ajv';
import { formatPath, fromPointer } from '../config/paths';
import type { JsonSchema } from '../config/schema-walk';
import { RunError } from '../errors';
import { runFileValidator, type RunFileSchema } from './validators';

/**
 * The JSON files of a run folder and its checkpoints, checked when read with the same schema
 * machinery as experiments (TypeBox schemas, run-format/schemas.ts; ajv): a file edited by
 * hand, cut short by a broken disk or copied from another tool is reported naming the file
 * and the field, never trusted (a negative epoch would train with negative learning rates)
 * and never an internal error.
 */

/** One ajv error as `field: expected ..., found ...` (the wording the experiment's errors use, loaded when needed). */
function describeProblem(e: ErrorObject): string {
  const { describeSchema, describeValue } =
    require('../config/schema-errors') as typeof import('../config/schema-errors');
  const at = formatPath(fromPointer(e.instancePath));
  const where = at ? `${at}: ` : '';
  if (e.keyword === 'required')
    return `${where}missing required key "${String((e.params as { missingProperty: string }).missingProperty)}"`;
  return `${where}expected ${describeSchema((e.parentSchema ?? e.schema) as JsonSchema)}, found ${describeValue(e.data)}`;
}

/** `value` as T when it matches `schema`; else a RunError naming the file and each field that is wrong. */
export function checkRunFile<T>(file: string, schema: RunFileSchema, value: unknown): T {
  const validate = runFileValidator(schema);
  if (validate(value)) return value as T;
  // A union's branches each report; the union's own error says it in one line.
  const errors = (validate.errors ?? []).filter(
    (e, _, all) => !all.some((u) => u !== e && u.keyword === 'anyOf' && e.instancePath === u.instancePath),
  );
  throw new RunError(`${file}: ${[...new Set(errors.map(describeProblem))].join('; ')}`);
}

/** Reads and checks a run file. A missing or unreadable file throws the OS error (worded by the error boundary). */
export function readRunFile<T>(file: string, schema: RunFileSchema): T {
  const text = fs.readFileSync(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RunError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return checkRunFile<T>(file, schema, value);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Bytes a manifest's weights take, so a weights file one byte longer or shorter is refused. */
export function manifestBytes(weights: ReadonlyArray<{ shape: readonly number[]; dtype: string }>): number {
  return weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[w.dtype] ?? 4), 0);
}

/** The weights file's bytes, checked against what its manifest (`manifestFile`) describes. */
export function readWeightsFile(
  file: string,
  manifestFile: string,
  weights: ReadonlyArray<{ shape: readonly number[]; dtype: string }>,
): Buffer {
  const buf = fs.readFileSync(file);
  const expected = manifestBytes(weights);
  if (buf.length !== expected) {
    throw new RunError(
      `${file}: holds ${buf.length} bytes, but ${manifestFile} describes ${expected}; the folder is damaged (restore it, or run the experiment again)`,
    );
  }
  return buf;
}
