import { Type, type TSchema } from '@sinclair/typebox';

/**
 * The schemas of a run folder's JSON files (TypeBox, like the experiment's): what pipeline
 * relies on when it reads them back; other keys are allowed. Checking uses them compiled
 * (run-format/validators.ts), so reading a run needs neither TypeBox nor ajv's compiler.
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

/** Every run-file schema by the name checkRunFile takes. */
export const RUN_FILE_SCHEMAS = {
  meta: MetaSchema,
  overrides: OverridesSchema,
  summary: SummarySchema,
  resolved: ResolvedSchema,
  checkpointState: CheckpointStateSchema,
  modelJson: ModelJsonSchema,
  optimizerJson: OptimizerJsonSchema,
} satisfies Record<string, TSchema>;
