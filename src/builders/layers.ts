import { Type, type Static } from '@sinclair/typebox';
import { Registry } from '../registry/registry';
import {
  Activation,
  Closed,
  Initializer,
  IntOrPair,
  Padding,
  PositiveInt,
  Regularizer,
  TypeTag,
} from '../registry/schema-parts';
import { globalPoolingLayer } from './global-pooling';
import { checkPositive, initializer, layer, regularizer, type LayerEntry } from './layer-kit';

export type { BuildContext, LayerEntry } from './layer-kit';
import { MERGE_ENTRIES } from './merge-layers';
import { MORE_ENTRIES } from './more-layers';
import { SEQUENCE_ENTRIES } from './sequence-layers';
import { fmtShape, pair, requireRank, ShapeError, windowOutput, type Shape } from './shapes';

const conv2dSchema = Type.Object(
  {
    type: TypeTag('conv2d', '2-D convolution over [height, width, channels] inputs'),
    filters: PositiveInt('number of output channels'),
    kernelSize: IntOrPair('window size: n or [height, width]'),
    strides: IntOrPair('step between windows', { default: 1 }),
    padding: Padding,
    dilationRate: IntOrPair('spacing between kernel taps', { default: 1 }),
    activation: Activation('applied to the output', { default: 'linear' }),
    useBias: Type.Boolean({ description: 'add a learned bias per filter', default: true }),
    kernelInitializer: Initializer('initial kernel weights', 'glorotUniform'),
    biasInitializer: Initializer('initial bias', 'zeros'),
    kernelRegularizer: Regularizer('penalty on the kernel, added to the training loss'),
    biasRegularizer: Regularizer('penalty on the bias, added to the training loss'),
  },
  { ...Closed, description: 'tf.layers.conv2d' },
);

function poolSchema(type: 'maxPooling2d' | 'averagePooling2d', what: string) {
  return Type.Object(
    {
      type: TypeTag(type, `${what} over 2-D windows`),
      poolSize: IntOrPair('window size', { default: 2 }),
      strides: Type.Optional(IntOrPair('step between windows (default: poolSize)')),
      padding: Padding,
    },
    { ...Closed, description: `tf.layers.${type}` },
  );
}

const maxPoolSchema = poolSchema('maxPooling2d', 'maximum');
const avgPoolSchema = poolSchema('averagePooling2d', 'average');
type PoolArgs = Static<typeof maxPoolSchema> | Static<typeof avgPoolSchema>;

function poolOutput(input: Shape, a: PoolArgs, type: string): Shape {
  requireRank(input, 3, type);
  const [ph, pw] = pair(a.poolSize);
  const [sh, sw] = pair(a.strides ?? a.poolSize);
  const out = [windowOutput(input[0], ph, sh, a.padding), windowOutput(input[1], pw, sw, a.padding), input[2]];
  checkPositive(out, type, 'poolSize', input);
  return out;
}

const denseSchema = Type.Object(
  {
    type: TypeTag('dense', 'fully connected layer on the last axis'),
    units: PositiveInt('number of outputs'),
    activation: Activation('applied to the output', { default: 'linear' }),
    useBias: Type.Boolean({ description: 'add a learned bias per unit', default: true }),
    kernelInitializer: Initializer('initial kernel weights', 'glorotUniform'),
    biasInitializer: Initializer('initial bias', 'zeros'),
    kernelRegularizer: Regularizer('penalty on the kernel, added to the training loss'),
    biasRegularizer: Regularizer('penalty on the bias, added to the training loss'),
  },
  { ...Closed, description: 'tf.layers.dense' },
);

const ZeroPad = Type.Union(
  [
    Type.Integer({ minimum: 0 }),
    Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })]),
    Type.Tuple([
      Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })]),
      Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })]),
    ]),
  ],
  { description: 'n, [rows, cols], or [[top, bottom], [left, right]]', default: 1 },
);

function zeroPadAmounts(p: Static<typeof ZeroPad>): [[number, number], [number, number]] {
  if (typeof p === 'number')
    return [
      [p, p],
      [p, p],
    ];
  if (typeof p[0] === 'number') {
    const [r, c] = p as [number, number];
    return [
      [r, r],
      [c, c],
    ];
  }
  return p as [[number, number], [number, number]];
}

/** Max and average pooling differ only in the tfjs layer they build. */
function poolLayer<S extends typeof maxPoolSchema | typeof avgPoolSchema>(
  type: 'maxPooling2d' | 'averagePooling2d',
  summary: string,
  schema: S,
) {
  return layer({
    type,
    summary,
    schema,
    outputShape: (input, a) => poolOutput(input, a, type),
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers[type]({
        name: ctx.name,
        inputShape: ctx.inputShape,
        poolSize: a.poolSize as number | [number, number],
        strides: (a.strides ?? a.poolSize) as number | [number, number],
        padding: a.padding,
      }),
  });
}

const BASE_ENTRIES = [
  layer({
    type: 'conv2d',
    summary: '2-D convolution',
    schema: conv2dSchema,
    outputShape(input, a) {
      requireRank(input, 3, 'conv2d');
      const [kh, kw] = pair(a.kernelSize);
      const [sh, sw] = pair(a.strides);
      const [dh, dw] = pair(a.dilationRate);
      const out = [
        windowOutput(input[0], kh, sh, a.padding, dh),
        windowOutput(input[1], kw, sw, a.padding, dw),
        a.filters,
      ];
      checkPositive(out, 'conv2d', 'kernelSize', input);
      return out;
    },
    params(input, a) {
      const [kh, kw] = pair(a.kernelSize);
      return kh * kw * input[2] * a.filters + (a.useBias ? a.filters : 0);
    },
    build(tf, a, ctx) {
      return tf.layers.conv2d({
        name: ctx.name,
        inputShape: ctx.inputShape,
        filters: a.filters,
        kernelSize: a.kernelSize as number | number[],
        strides: a.strides as number | number[],
        padding: a.padding,
        dilationRate: a.dilationRate as number | [number, number],
        activation: a.activation,
        useBias: a.useBias,
        kernelInitializer: initializer(tf, a.kernelInitializer, ctx.seed),
        biasInitializer: initializer(tf, a.biasInitializer, ctx.seed + 1),
        kernelRegularizer: regularizer(tf, a.kernelRegularizer),
        biasRegularizer: regularizer(tf, a.biasRegularizer),
      });
    },
  }),
  poolLayer('maxPooling2d', 'max pooling over 2-D windows', maxPoolSchema),
  poolLayer('averagePooling2d', 'average pooling over 2-D windows', avgPoolSchema),
  globalPoolingLayer(
    'globalAveragePooling2d',
    3,
    'average over height and width, one value per channel',
    'mean over height and width',
  ),
  layer({
    type: 'flatten',
    summary: 'reshape to one dimension',
    schema: Type.Object(
      { type: TypeTag('flatten', 'reshape to [h*w*c]') },
      { ...Closed, description: 'tf.layers.flatten' },
    ),
    outputShape(input) {
      // TensorFlow.js refuses to flatten what is already flat (it wants rank >= 2 besides the batch).
      if (input.length < 2)
        throw new ShapeError(
          `flatten expects an input of rank 2 or more, got shape ${fmtShape(input)}: it is already flat; remove this layer`,
        );
      return [input.reduce((a, b) => a * b, 1)];
    },
    params: () => 0,
    build: (tf, _a, ctx) => tf.layers.flatten({ name: ctx.name, inputShape: ctx.inputShape }),
  }),
  layer({
    type: 'dense',
    summary: 'fully connected',
    schema: denseSchema,
    outputShape: (input, a) => [...input.slice(0, -1), a.units],
    params: (input, a) => input[input.length - 1] * a.units + (a.useBias ? a.units : 0),
    build: (tf, a, ctx) =>
      tf.layers.dense({
        name: ctx.name,
        inputShape: ctx.inputShape,
        units: a.units,
        activation: a.activation,
        useBias: a.useBias,
        kernelInitializer: initializer(tf, a.kernelInitializer, ctx.seed),
        biasInitializer: initializer(tf, a.biasInitializer, ctx.seed + 1),
        kernelRegularizer: regularizer(tf, a.kernelRegularizer),
        biasRegularizer: regularizer(tf, a.biasRegularizer),
      }),
  }),
  layer({
    type: 'dropout',
    summary: 'randomly zero a fraction of inputs while training',
    schema: Type.Object(
      {
        type: TypeTag('dropout', 'zero a fraction `rate` of inputs during training'),
        rate: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'fraction of inputs to drop, in [0, 1)' }),
      },
      { ...Closed, description: 'tf.layers.dropout' },
    ),
    outputShape: (input) => input,
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers.dropout({ name: ctx.name, inputShape: ctx.inputShape, rate: a.rate, seed: ctx.seed }),
  }),
  layer({
    type: 'batchNormalization',
    summary: 'normalize over the batch, per channel',
    schema: Type.Object(
      {
        type: TypeTag('batchNormalization', 'normalize activations per channel'),
        momentum: Type.Number({ minimum: 0, maximum: 1, default: 0.99, description: 'moving-average momentum' }),
        epsilon: Type.Number({ exclusiveMinimum: 0, default: 0.001, description: 'added to the variance' }),
        center: Type.Boolean({ default: true, description: 'learn an offset (beta)' }),
        scale: Type.Boolean({ default: true, description: 'learn a scale (gamma)' }),
      },
      { ...Closed, description: 'tf.layers.batchNormalization' },
    ),
    outputShape: (input) => input,
    // gamma and beta (when enabled) plus the moving mean and variance, as Keras counts them.
    params: (input, a) => input[input.length - 1] * (2 + (a.center ? 1 : 0) + (a.scale ? 1 : 0)),
    build: (tf, a, ctx) =>
      tf.layers.batchNormalization({
        name: ctx.name,
        inputShape: ctx.inputShape,
        momentum: a.momentum,
        epsilon: a.epsilon,
        center: a.center,
        scale: a.scale,
      }),
  }),
  layer({
    type: 'activation',
    summary: 'apply an activation function',
    schema: Type.Object(
      {
        type: TypeTag('activation', 'apply an activation function'),
        activation: Activation('the function'),
      },
      { ...Closed, description: 'tf.layers.activation' },
    ),
    outputShape: (input) => input,
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers.activation({ name: ctx.name, inputShape: ctx.inputShape, activation: a.activation }),
  }),
  layer({
    type: 'zeroPadding2d',
    summary: 'pad height and width with zeros',
    schema: Type.Object(
      { type: TypeTag('zeroPadding2d', 'pad with zeros'), padding: ZeroPad },
      { ...Closed, description: 'tf.layers.zeroPadding2d' },
    ),
    outputShape(input, a) {
      requireRank(input, 3, 'zeroPadding2d');
      const [[t, b], [l, r]] = zeroPadAmounts(a.padding);
      return [input[0] + t + b, input[1] + l + r, input[2]];
    },
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers.zeroPadding2d({ name: ctx.name, inputShape: ctx.inputShape, padding: zeroPadAmounts(a.padding) }),
  }),
] as const;

export const LAYER_ENTRIES = [...BASE_ENTRIES, ...MORE_ENTRIES, ...SEQUENCE_ENTRIES, ...MERGE_ENTRIES] as const;

export type LayerConfig = Static<(typeof LAYER_ENTRIES)[number]['schema']>;
export const LAYERS = new Registry<LayerEntry>('layer', LAYER_ENTRIES as unknown as LayerEntry[]);
