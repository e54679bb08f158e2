import { Type } from '@sinclair/typebox';
import { Activation, Closed, Initializer, Padding, PositiveInt, Regularizer, TypeTag } from '../registry/schema-parts';
import { globalPoolingLayer } from './global-pooling';
import { checkPositive, initializer, layer, regularizer } from './layer-kit';
import { requireRank, windowOutput, type Shape } from './shapes';

/**
 * Layers for sequences, shaped [steps, channels] (besides the batch): 1-D
 * convolution and pooling. A 2-D dataset reaches them through a reshape.
 */

const conv1dSchema = Type.Object(
  {
    type: TypeTag('conv1d', '1-D convolution over [steps, channels] inputs'),
    filters: PositiveInt('number of output channels'),
    kernelSize: PositiveInt('window length'),
    strides: PositiveInt('step between windows', { default: 1 }),
    padding: Padding,
    dilationRate: PositiveInt('spacing between kernel taps', { default: 1 }),
    activation: Activation('applied to the output', { default: 'linear' }),
    useBias: Type.Boolean({ description: 'add a learned bias per filter', default: true }),
    kernelInitializer: Initializer('initial kernel weights', 'glorotUniform'),
    biasInitializer: Initializer('initial bias', 'zeros'),
    kernelRegularizer: Regularizer('penalty on the kernel, added to the training loss'),
    biasRegularizer: Regularizer('penalty on the bias, added to the training loss'),
  },
  { ...Closed, description: 'tf.layers.conv1d' },
);

function pool1dSchema<T extends 'maxPooling1d' | 'averagePooling1d'>(type: T, what: string) {
  return Type.Object(
    {
      type: TypeTag(type, `${what} over 1-D windows`),
      poolSize: PositiveInt('window length', { default: 2 }),
      strides: Type.Optional(PositiveInt('step between windows (default: poolSize)')),
      padding: Padding,
    },
    { ...Closed, description: `tf.layers.${type}` },
  );
}

function pool1d<T extends 'maxPooling1d' | 'averagePooling1d'>(type: T, what: string) {
  return layer({
    type,
    summary: `${what} over 1-D windows`,
    schema: pool1dSchema(type, what),
    outputShape(input: Shape, a) {
      requireRank(input, 2, type);
      const out = [windowOutput(input[0], a.poolSize, a.strides ?? a.poolSize, a.padding), input[1]];
      checkPositive(out, type, 'poolSize', input);
      return out;
    },
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers[type]({
        name: ctx.name,
        inputShape: ctx.inputShape,
        poolSize: a.poolSize,
        strides: a.strides ?? a.poolSize,
        padding: a.padding,
      }),
  });
}

export const SEQUENCE_ENTRIES = [
  layer({
    type: 'conv1d',
    summary: '1-D convolution over sequences',
    schema: conv1dSchema,
    outputShape(input, a) {
      requireRank(input, 2, 'conv1d');
      const out = [windowOutput(input[0], a.kernelSize, a.strides, a.padding, a.dilationRate), a.filters];
      checkPositive(out, 'conv1d', 'kernelSize', input);
      return out;
    },
    params: (input, a) => a.kernelSize * input[1] * a.filters + (a.useBias ? a.filters : 0),
    build: (tf, a, ctx) =>
      tf.layers.conv1d({
        name: ctx.name,
        inputShape: ctx.inputShape,
        filters: a.filters,
        kernelSize: a.kernelSize,
        strides: a.strides,
        padding: a.padding,
        dilationRate: a.dilationRate,
        activation: a.activation,
        useBias: a.useBias,
        kernelInitializer: initializer(tf, a.kernelInitializer, ctx.seed),
        biasInitializer: initializer(tf, a.biasInitializer, ctx.seed + 1),
        kernelRegularizer: regularizer(tf, a.kernelRegularizer),
        biasRegularizer: regularizer(tf, a.biasRegularizer),
      }),
  }),
  pool1d('maxPooling1d', 'maximum'),
  pool1d('averagePooling1d', 'average'),
  globalPoolingLayer('globalAveragePooling1d', 2, 'average over steps, one value per channel', 'mean over steps'),
] as const;
