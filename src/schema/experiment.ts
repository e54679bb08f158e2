import { Type, type Static, type TObject } from '@sinclair/typebox';
import { Closed, Discriminated, StringEnum } from '../registry/schema-parts';
import { DatasetSchema } from '../data/registry';
import { LAYER_ENTRIES } from '../builders/layers';
import { OPTIMIZER_ENTRIES } from '../builders/optimizers';
import { LOSS_NAMES } from '../builders/losses';
import { METRIC_NAMES } from '../builders/metrics';
import { SCHEDULE_ENTRIES } from '../builders/schedules';

/**
 * The experiment file, format version 1, generated from the registries.
 * This one object is both the JSON schema (ajv, editors) and, through
 * Static<>, the TypeScript type of a resolved experiment.
 */
export const SUPPORTED_VERSIONS = [1] as const;

/** A run folder is named after the experiment, so the name must be a safe single path segment. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

const schemas = <T extends readonly { schema: unknown }[]>(entries: T) =>
  entries.map((e) => e.schema) as { [K in keyof T]: T[K] extends { schema: infer S } ? S : never };

/** A layer's name in a graph: what other layers' `inputs` and `model.outputs` refer to. */
export const LAYER_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,99}$';
export const LayerName = (description: string) => Type.String({ pattern: LAYER_NAME_PATTERN, description });

/**
 * Keys every layer may carry to make the model a graph rather than a stack.
 * Neither has a default, so a file without them resolves (and hashes) as before.
 */
const GRAPH_KEYS = {
  name: Type.Optional(
    LayerName("the layer's name (default: its type and a count, `conv2d_1`); `inputs` and `model.outputs` refer to it"),
  ),
  inputs: Type.Optional(
    Type.Union([LayerName('one layer'), Type.Array(LayerName('a layer'), { minItems: 1 })], {
      description:
        'the layer(s) whose output this layer takes, by name; `input` is the model input (default: the layer before)',
    }),
  ),
};

/** An entry's schema with the graph keys added (same description, still closed). */
function withGraphKeys<S extends TObject>(s: S) {
  const { properties, ...options } = s;
  return Type.Object({ ...properties, ...GRAPH_KEYS }, options as object) as unknown as TObject<
    S['properties'] & typeof GRAPH_KEYS
  >;
}

const layerSchemas = <T extends readonly { schema: TObject }[]>(entries: T) =>
  entries.map((e) => withGraphKeys(e.schema)) as {
    [K in keyof T]: T[K] extends { schema: infer S extends TObject }
      ? TObject<S['properties'] & typeof GRAPH_KEYS>
      : never;
  };

export const LayerSchema = Discriminated([...layerSchemas(LAYER_ENTRIES)], {
  description: 'one layer; `type` picks which',
});

/**
 * Reusable blocks: expanded into model.layers (src/config/blocks.ts) before
 * validation, so the schema checks the expanded layers; here a block only needs
 * its outline, for editors and the docs.
 */
export const BlocksSchema = Type.Record(
  Type.String({ pattern: LAYER_NAME_PATTERN }),
  Type.Object(
    {
      params: Type.Optional(
        Type.Record(Type.String({ pattern: LAYER_NAME_PATTERN }), Type.Any(), {
          description: 'parameter -> default value (null: every use must give it); layers refer to one as "${name}"',
        }),
      ),
      layers: Type.Array(Type.Record(Type.String(), Type.Any()), {
        minItems: 1,
        description:
          "the layers, as in model.layers; `inputs: input` is the block's input; the last layer is its output",
      }),
    },
    { ...Closed, description: 'one block' },
  ),
  { description: 'reusable groups of layers, used in model.layers as {block: NAME, PARAM: value, repeat: N}' },
);

export const EarlyStoppingSchema = Type.Object(
  {
    monitor: Type.String({
      default: 'valLoss',
      description: 'metric to watch: loss, accuracy, valLoss, testAccuracy, ...',
    }),
    mode: StringEnum(['auto', 'min', 'max'] as const, {
      default: 'auto',
      description: 'auto: max for accuracies, min otherwise',
    }),
    patience: Type.Integer({ minimum: 0, default: 5, description: 'epochs without improvement before stopping' }),
    minDelta: Type.Number({ minimum: 0, default: 0, description: 'smallest change that counts as improvement' }),
    restoreBestWeights: Type.Boolean({ default: false, description: 'end with the weights of the best epoch' }),
  },
  { ...Closed, description: 'stop when the monitored metric stops improving' },
);

export const ModelInitSchema = Type.Object(
  {
    from: Type.String({
      description:
        'a run (NAME/VERSION, NAME/best, a run folder) and optionally its checkpoint: NAME/3@best, @last, @epoch-12; default its final model',
    }),
    layers: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        uniqueItems: true,
        description:
          'layer names to copy, as `pipeline inspect` names them (conv2d_1, dense_2, ...); default every layer with weights',
      }),
    ),
  },
  {
    ...Closed,
    description:
      "warm start (fine-tuning): start from another run's weights, layer by layer; each copied layer's weights must have the same shapes",
  },
);

export const SelectBySchema = Type.Object(
  {
    metric: Type.String({
      description: 'a per-epoch metric of the train or validation split: valAccuracy, valLoss, accuracy, loss, ...',
    }),
    goal: StringEnum(['auto', 'min', 'max'] as const, {
      default: 'auto',
      description: 'auto: max for accuracies, min for losses and errors',
    }),
  },
  {
    ...Closed,
    description:
      'the metric that picks the best epoch (checkpoints/best, summary.json, NAME/best, sweep ranking); default: the validation accuracy (loss without accuracy) with a validation split, else the training one. Test metrics are reported, never selected on',
  },
);

export const TrainingSchema = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1, maximum: 100000, description: 'passes over the train set' }),
    batchSize: Type.Integer({ minimum: 1, maximum: 65536, default: 32, description: 'examples per gradient step' }),
    optimizer: Discriminated([...schemas(OPTIMIZER_ENTRIES)], { description: 'the optimizer; `type` picks which' }),
    loss: StringEnum(LOSS_NAMES, { default: 'softmaxCrossEntropy', description: 'the loss to minimize' }),
    metrics: Type.Array(StringEnum(METRIC_NAMES), {
      uniqueItems: true,
      default: ['accuracy'],
      description: 'metrics recorded per epoch on train, validation and test',
    }),
    selectBy: Type.Optional(SelectBySchema),
    schedule: Discriminated([...schemas(SCHEDULE_ENTRIES)], {
      default: { type: 'constant' },
      description: 'learning-rate schedule over epochs; `type` picks which',
    }),
    earlyStopping: Type.Optional(EarlyStoppingSchema),
    checkpoints: Type.Object(
      {
        every: Type.Integer({
          minimum: 0,
          default: 0,
          description: 'also keep a checkpoint every N epochs (0: only best and last)',
        }),
      },
      { ...Closed, default: {}, description: 'checkpoints (best and last are always kept)' },
    ),
    workers: Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('auto')], {
      default: 'auto',
      description: "data-parallel worker threads; 'auto': all cores when it helps",
    }),
    evalBatchSize: Type.Integer({
      minimum: 1,
      default: 500,
      description: 'batch size for validation and test evaluation',
    }),
  },
  { ...Closed, description: 'how the model is trained' },
);

const SweepRange = Type.Object(
  {
    min: Type.Number({ description: 'smallest value drawn' }),
    max: Type.Number({ description: 'largest value drawn' }),
    scale: StringEnum(['linear', 'log'] as const, {
      default: 'linear',
      description: 'log: uniform in log space (for learning rates)',
    }),
    type: StringEnum(['int', 'float'] as const, { default: 'float', description: 'int: draw whole numbers' }),
  },
  { ...Closed, description: 'random search range' },
);

export const SweepSchema = Type.Object(
  {
    method: StringEnum(['grid', 'random', 'tpe'] as const, {
      default: 'grid',
      description:
        'grid: every combination; random: sample; tpe: random startup trials, then a tree-structured Parzen estimator learns from the results',
    }),
    parameters: Type.Record(Type.String(), Type.Union([Type.Array(Type.Any(), { minItems: 1 }), SweepRange]), {
      description: 'dotted path -> list of values, or {min, max, scale, type} for random',
    }),
    trials: Type.Optional(Type.Integer({ minimum: 1, description: 'cap on the number of trials' })),
    metric: Type.Optional(
      Type.String({
        description:
          "metric that ranks trials (default: the experiment's main metric, testAccuracy, or testLoss without accuracy)",
      }),
    ),
    goal: Type.Optional(
      StringEnum(['max', 'min'] as const, {
        description: 'max: a higher metric is better; min: lower (default: from the metric)',
      }),
    ),
    parallel: Type.Integer({ minimum: 1, default: 1, description: 'trials run at once' }),
    earlyStopping: Type.Optional(
      Type.Object(
        {
          type: StringEnum(['median', 'asha'] as const, {
            description:
              'median: stop a trial whose metric is below the median of earlier trials at the same epoch; asha: successive halving, keep the best 1/reductionFactor at rungs minEpochs * reductionFactor^k',
          }),
          minEpochs: Type.Integer({
            minimum: 1,
            default: 1,
            description: 'epochs every trial runs before it may be stopped',
          }),
          minTrials: Type.Integer({
            minimum: 1,
            default: 3,
            description: 'trials that must have reached an epoch before the median rule applies there',
          }),
          reductionFactor: Type.Optional(
            Type.Integer({ minimum: 2, description: 'asha: keep the best 1/reductionFactor at each rung (default 3)' }),
          ),
        },
        { ...Closed, description: 'stop unpromising trials early' },
      ),
    ),
  },
  { ...Closed, description: 'hyperparameter sweep (used by `pipeline sweep`)' },
);

export const ExperimentSchema = Type.Object(
  {
    version: Type.Literal(1, { description: 'experiment format version (this release reads 1)' }),
    name: Type.String({ pattern: NAME_PATTERN, description: 'experiment name; names the run folder runs/<name>/' }),
    description: Type.Optional(Type.String({ description: 'free text' })),
    seed: Type.Integer({
      minimum: 0,
      maximum: 2147483647,
      default: 42,
      description: 'seeds init, shuffling, dropout, augmentation',
    }),
    dataset: DatasetSchema,
    blocks: Type.Optional(BlocksSchema),
    model: Type.Object(
      {
        layers: Type.Array(LayerSchema, {
          minItems: 1,
          description: 'layers in order; the input shape comes from the dataset',
        }),
        init: Type.Optional(ModelInitSchema),
        outputs: Type.Optional(
          Type.Array(LayerName('a layer'), {
            minItems: 1,
            maxItems: 1,
            description: "the layer whose output is the model's output (default: the last layer)",
          }),
        ),
      },
      { ...Closed, description: 'the network' },
    ),
    training: TrainingSchema,
    sweep: Type.Optional(SweepSchema),
  },
  {
    ...Closed,
    $id: 'https://pipeline.dev/schema/experiment-v1.json',
    title: 'pipeline experiment (version 1)',
    description: 'A deep-learning experiment for `pipeline`: data, model, training.',
  },
);

export type Experiment = Static<typeof ExperimentSchema>;
export type LayerConfig = Experiment['model']['layers'][number];
