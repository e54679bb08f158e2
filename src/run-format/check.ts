import * as fs from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { formatPath, fromPointer } from '../config/paths';
import { describeSchema, describeValue } from '../config/schema-errors';
import type { JsonSchema } from '../config/schema-walk';
import { RunError } from '../errors';

/**
 * The JSON files of a run folder and its checkpoints, checked when read with the same schema
 * machinery as experiments (TypeBox schemas, ajv): a file edited by hand, cut short by a
 * broken disk or copied from another tool is reported naming the file and the field, never
 * trusted (a negative epoch would train with negative learning rates) and never an internal
 * error. The schemas list what pipeline relies on; other keys are allowed.
 */

const Count = Type.Integer({ minimum: 0 });

export const MetaSchema = Type.Object({
  formatVersion: Type.Optional(Type.Integer({ minimum: 1 })),
  name: Type.String({ minLength: 1 }),
  version: Type.Integer({ minimum: 1 }),
  status: Type.Union([
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('interrupted'),
    Type.Literal('diverged'),
  ]),
  pid: Type.Integer({ minimum: 0 }),
  host: Type.String(),
  startedAt: Type.String({ minLength: 1 }),
  durationSeconds: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  backend: Type.String({ minLength: 1 }),
  workers: Type.Optional(Type.Integer({ minimum: 1 })),
  configHash: Type.String({ minLength: 1 }),
  resumes: Type.Optional(Type.Array(Type.Object({}))),
});

export const OverridesSchema = Type.Array(Type.String());

const Row = Type.Object({ epoch: Type.Number() });

/** summary.json: every key optional (a run before its first epoch has none; older runs lack bestGoal). */
export const SummarySchema = Type.Object({
  final: Type.Optional(Row),
  best: Type.Optional(Row),
  bestBy: Type.Optional(Type.String()),
  bestGoal: Type.Optional(Type.Union([Type.Literal('max'), Type.Literal('min')])),
  epochs: Type.Optional(Count),
});

/** resolved.json: an experiment as a mapping (its own schema is the experiment's). */
export const ResolvedSchema = Type.Object({});

export const CheckpointStateSchema = Type.Object({
  format: Type.Literal(1),
  position: Type.Object({
    epoch: Count,
    batch: Count,
    sums: Type.Array(Type.Number()),
    seen: Count,
    trainSeconds: Type.Number({ minimum: 0 }),
  }),
  learningRate: Type.Number(),
  callbacks: Type.Object({}),
});

const WeightSpec = Type.Object({
  name: Type.String({ minLength: 1 }),
  shape: Type.Array(Count),
  dtype: Type.Union([Type.Literal('float32'), Type.Literal('int32'), Type.Literal('bool')]),
});

const WeightsManifest = Type.Array(Type.Object({ paths: Type.Array(Type.String()), weights: Type.Array(WeightSpec) }), {
  minItems: 1,
});

export const ModelJsonSchema = Type.Object({
  modelTopology: Type.Object({}),
  weightsManifest: WeightsManifest,
});

export const OptimizerJsonSchema = Type.Object({
  className: Type.String({ minLength: 1 }),
  weightsManifest: WeightsManifest,
});

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validator(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(schema)));
  return v;
}

/** One ajv error as `field: expected ..., found ...`. */
function describeProblem(e: ErrorObject): string {
  const at = formatPath(fromPointer(e.instancePath));
  const where = at ? `${at}: ` : '';
  if (e.keyword === 'required')
    return `${where}missing required key "${String((e.params as { missingProperty: string }).missingProperty)}"`;
  return `${where}expected ${describeSchema((e.parentSchema ?? e.schema) as JsonSchema)}, found ${describeValue(e.data)}`;
}

/** `value` as T when it matches `schema`; else a RunError naming the file and each field that is wrong. */
export function checkRunFile<T>(file: string, schema: TSchema, value: unknown): T {
  const validate = validator(schema);
  if (validate(value)) return value as T;
  // A union's branches each report; the union's own error says it in one line.
  const errors = (validate.errors ?? []).filter(
    (e, _, all) => !all.some((u) => u !== e && u.keyword === 'anyOf' && e.instancePath === u.instancePath),
  );
  throw new RunError(`${file}: ${[...new Set(errors.map(describeProblem))].join('; ')}`);
}

/** Reads and checks a run file. A missing or unreadable file throws the OS error (worded by the error boundary). */
export function readRunFile<T>(file: string, schema: TSchema): T {
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
