import { Type } from '@sinclair/typebox';
import { Closed } from '../registry/schema-parts';

/**
 * The keys of the experiment's `dataset` section that every dataset has: where
 * its files are, and how its examples are split, scaled and augmented. The
 * section is assembled in registry.ts from these and each entry's own keys.
 */

/** Where the files are: before each dataset's own keys. */
export const SOURCE_KEYS = {
  path: Type.Optional(
    Type.String({
      minLength: 1,
      description: "the dataset's home folder (default: <data dir>/<name>); required for imageFolder",
    }),
  ),
  url: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'download URL override (default: the official archive); append #md5=<hex> to check another file than the official one',
    }),
  ),
};

const Normalize = Type.Union(
  [
    Type.Object(
      { type: Type.Literal('scale', { description: 'divide by 255: values in [0, 1] (torchvision ToTensor)' }) },
      Closed,
    ),
    Type.Object(
      {
        type: Type.Literal('standardize', { description: '(x/255 - mean) / std per channel' }),
        mean: Type.Array(Type.Number(), { minItems: 1, maxItems: 3, description: 'per-channel mean of x/255' }),
        std: Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
          minItems: 1,
          maxItems: 3,
          description: 'per-channel std of x/255',
        }),
      },
      Closed,
    ),
  ],
  { description: 'how uint8 pixels become float inputs', default: { type: 'scale' } },
);

/** How examples are held out, subset, scaled, augmented and shuffled: after each dataset's own keys. */
export const EXAMPLE_KEYS = {
  validationSplit: Type.Number({
    minimum: 0,
    exclusiveMaximum: 1,
    default: 0,
    description: 'fraction of train held out for validation, stratified, from the seed',
  }),
  limit: Type.Optional(
    Type.Object(
      {
        train: Type.Optional(Type.Integer({ minimum: 1, description: 'train examples to keep (stratified, seeded)' })),
        test: Type.Optional(Type.Integer({ minimum: 1, description: 'test examples to keep (stratified, seeded)' })),
      },
      { ...Closed, description: 'a reproducible subset, for quick runs' },
    ),
  ),
  normalize: Normalize,
  augment: Type.Object(
    {
      randomCrop: Type.Optional(
        Type.Object(
          {
            padding: Type.Integer({
              minimum: 1,
              maximum: 64,
              default: 4,
              description: 'zero padding before the crop',
            }),
          },
          { ...Closed, description: 'pad then crop back to size at a random offset' },
        ),
      ),
      horizontalFlip: Type.Optional(Type.Boolean({ description: 'mirror half the images left-right' })),
    },
    { ...Closed, default: {}, description: 'per-batch training augmentation, seeded' },
  ),
  shuffle: Type.Boolean({ default: true, description: 'reshuffle the train set every epoch (seeded)' }),
};
