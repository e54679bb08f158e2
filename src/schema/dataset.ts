import { Type, type Static } from '@sinclair/typebox';
import { Closed, StringEnum } from '../registry/schema-parts';

/**
 * The `dataset` section. Input shape and class count come from here (the
 * dataset), never from the model: see src/data/registry.ts for each source.
 */
export const DATASET_NAMES = ['cifar10', 'mnist', 'fashionMnist', 'imageFolder'] as const;

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

export const DatasetSchema = Type.Object(
  {
    name: StringEnum(DATASET_NAMES, { description: 'where examples come from' }),
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
    classes: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 2,
        uniqueItems: true,
        description: 'imageFolder: class order (default: sorted folder names)',
      }),
    ),
    imageSize: Type.Optional(
      Type.Tuple([Type.Integer({ minimum: 1, maximum: 4096 }), Type.Integer({ minimum: 1, maximum: 4096 })], {
        description: 'imageFolder: resize every image to [height, width]',
      }),
    ),
    channels: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal(3)], { description: 'imageFolder: 1 (grey) or 3 (RGB); default 3' }),
    ),
    validationSplit: Type.Number({
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0,
      description: 'fraction of train held out for validation, stratified, from the seed',
    }),
    limit: Type.Optional(
      Type.Object(
        {
          train: Type.Optional(
            Type.Integer({ minimum: 1, description: 'train examples to keep (stratified, seeded)' }),
          ),
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
  },
  { ...Closed, description: 'the data to train and test on' },
);

export type DatasetSection = Static<typeof DatasetSchema>;

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/**
 * What a dataset looks like without reading it: enough for shape checks in
 * `validate` (which must not touch the disk). imageFolder knows its shape
 * only when `imageSize` is given, and its class count only with `classes`.
 */
export function staticDatasetInfo(d: Pick<DatasetSection, 'name' | 'imageSize' | 'channels' | 'classes'>): {
  shape?: [number, number, number];
  classes?: readonly string[];
} {
  switch (d.name) {
    case 'cifar10':
      return { shape: [32, 32, 3], classes: CIFAR10_CLASSES };
    case 'mnist':
      return { shape: [28, 28, 1], classes: MNIST_CLASSES };
    case 'fashionMnist':
      return { shape: [28, 28, 1], classes: FASHION_MNIST_CLASSES };
    case 'imageFolder':
      return {
        shape: d.imageSize ? [d.imageSize[0], d.imageSize[1], d.channels ?? 3] : undefined,
        classes: d.classes,
      };
  }
}
