import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** Building blocks shared by registry entries. Descriptions become editor tooltips and README rows. */

export const PositiveInt = (description: string, extra: object = {}) =>
  Type.Integer({ minimum: 1, description, ...extra });

/** A string from a fixed list, as a JSON-schema `enum` (one clear error, and editors list the values). */
export function StringEnum<const T extends readonly string[]>(values: T, options: object = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** `3` or `[3, 3]`: TensorFlow.js accepts both for kernel sizes, strides and pool sizes. */
export const IntOrPair = (description: string, extra: object = {}) =>
  Type.Union([Type.Integer({ minimum: 1 }), Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })])], {
    description,
    ...extra,
  });

export const Padding = StringEnum(['valid', 'same'] as const, {
  description: "'valid' (no padding) or 'same' (output size = ceil(input / stride))",
  default: 'valid',
});

/** Every activation TensorFlow.js 4.22 has (ActivationIdentifier in tfjs-layers). */
export const ACTIVATIONS = [
  'elu',
  'hardSigmoid',
  'linear',
  'relu',
  'relu6',
  'selu',
  'sigmoid',
  'softmax',
  'softplus',
  'softsign',
  'tanh',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const Activation = (description: string, extra: object = {}) =>
  StringEnum(ACTIVATIONS, { description, ...extra });

/** Weight initializers TensorFlow.js builds from a name alone (seeded by the experiment's seed). */
export const INITIALIZERS = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'leCunUniform',
  'leCunNormal',
  'truncatedNormal',
  'randomNormal',
  'randomUniform',
  'orthogonal',
  'zeros',
  'ones',
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

export const Initializer = (description: string, dflt: InitializerName) =>
  StringEnum(INITIALIZERS, { description, default: dflt });

/** The discriminator every registry entry's schema carries. */
export const TypeTag = <T extends string>(type: T, description: string) => Type.Literal(type, { description });

/** Objects in the experiment are closed: an unknown key is an error (with a suggestion). */
export const Closed = { additionalProperties: false } as const;

/**
 * A union of registry entries told apart by `type`. Emitted as `oneOf` +
 * `discriminator` so ajv validates only the branch the `type` names, and
 * reports errors for that branch alone instead of for every entry.
 */
export function Discriminated<T extends TSchema[]>(schemas: [...T], options: object = {}) {
  return Type.Unsafe<import('@sinclair/typebox').Static<import('@sinclair/typebox').TUnion<T>>>({
    type: 'object',
    required: ['type'],
    oneOf: schemas,
    discriminator: { propertyName: 'type' },
    ...options,
  });
}

/**
 * A weight penalty added to the training loss, as Keras' regularizers: `{l2: 0.0001}`,
 * `{l1: 0.00001}`, or both (l1l2). Optional, without a default: a file without it means what it did.
 */
export const Regularizer = (description: string) =>
  Type.Optional(
    Type.Object(
      {
        l1: Type.Number({ minimum: 0, default: 0, description: 'l1 factor: adds l1 * sum(|w|) to the loss' }),
        l2: Type.Number({ minimum: 0, default: 0, description: 'l2 factor: adds l2 * sum(w^2) to the loss' }),
      },
      { ...Closed, description },
    ),
  );
export type RegularizerConfig = { l1: number; l2: number };
