import { Type } from '@sinclair/typebox';
import {
  Activation,
  Closed,
  Initializer,
  IntOrPair,
  Padding,
  PositiveInt,
  Regularizer,
  StringEnum,
  TypeTag,
} from '../registry/schema-parts';
import { globalPoolingLayer } from './global-pooling';
import { checkPositive, initializer, layer, regularizer } from './layer-kit';
import { fmtShape, pair, requireRank, ShapeError, windowOutput, type Shape } from './shapes';

/**
 * Image layers beyond the basic stack (MobileNet's depthwise-separable
 * convolutions, decoders' transposed convolutions and upsampling), shape
 * layers, normalization, noise and activation layers. Each entry builds the
 * stock tfjs layer, so saved models load in plain TensorFlow.js.
 */

const product = (s: Shape) => s.reduce((a, b) => a * b, 1);

const depthwiseSchema = Type.Object(
  {
    type: TypeTag('depthwiseConv2d', 'one 2-D filter per input channel'),
    kernelSize: IntOrPair('window size: n or [height, width]'),
    strides: IntOrPair('step between windows', { default: 1 }),
    padding: Padding,
    depthMultiplier: PositiveInt('output channels per input channel', { default: 1 }),
    activation: Activation('applied to the output', { default: 'linear' }),
    useBias: Type.Boolean({ description: 'add a learned bias per output channel', default: true }),
    depthwiseInitializer: Initializer('initial depthwise kernel', 'glorotUniform'),
    biasInitializer: Initializer('initial bias', 'zeros'),
    depthwiseRegularizer: Regularizer('penalty on the depthwise kernel, added to the training loss'),
    biasRegularizer: Regularizer('penalty on the bias, added to the training loss'),
  },
  { ...Closed, description: 'tf.layers.depthwiseConv2d' },
);

const separableSchema = Type.Object(
  {
    type: TypeTag('separableConv2d', 'depthwise then 1x1 pointwise convolution'),
    filters: PositiveInt('number of output channels'),
    kernelSize: IntOrPair('window size: n or [height, width]'),
    strides: IntOrPair('step between windows', { default: 1 }),
    padding: Padding,
    depthMultiplier: PositiveInt('depthwise output channels per input channel', { default: 1 }),
    activation: Activation('applied to the output', { default: 'linear' }),
    useBias: Type.Boolean({ description: 'add a learned bias per filter', default: true }),
    depthwiseInitializer: Initializer('initial depthwise kernel', 'glorotUniform'),
    pointwiseInitializer: Initializer('initial pointwise kernel', 'glorotUniform'),
    biasInitializer: Initializer('initial bias', 'zeros'),
    depthwiseRegularizer: Regularizer('penalty on the depthwise kernel, added to the training loss'),
    pointwiseRegularizer: Regularizer('penalty on the pointwise kernel, added to the training loss'),
    biasRegularizer: Regularizer('penalty on the bias, added to the training loss'),
  },
  { ...Closed, description: 'tf.layers.separableConv2d' },
);

const transposeSchema = Type.Object(
  {
    type: TypeTag('conv2dTranspose', 'transposed 2-D convolution (learned upsampling)'),
    filters: PositiveInt('number of output channels'),
    kernelSize: IntOrPair('window size: n or [height, width]'),
    strides: IntOrPair('upsampling factor', { default: 1 }),
    padding: Padding,
    activation: Activation('applied to the output', { default: 'linear' }),
    useBias: Type.Boolean({ description: 'add a learned bias per filter', default: true }),
    kernelInitializer: Initializer('initial kernel weights', 'glorotUniform'),
    biasInitializer: Initializer('initial bias', 'zeros'),
    kernelRegularizer: Regularizer('penalty on the kernel, added to the training loss'),
    biasRegularizer: Regularizer('penalty on the bias, added to the training loss'),
  },
  { ...Closed, description: 'tf.layers.conv2dTranspose' },
);

/** Output size of a transposed convolution, as tfjs computes it (conv_utils.deconvLength). */
const deconvLength = (n: number, stride: number, kernel: number, padding: 'valid' | 'same') =>
  padding === 'valid' ? n * stride + Math.max(kernel - stride, 0) : n * stride;

/**
 * Depthwise and separable convolutions take no dilation here: tfjs 4.22 leaves it out of
 * their output shape (the symbolic shape would disagree with the tensors).
 */
function windowShape(
  input: Shape,
  a: { kernelSize: number | number[]; strides: number | number[]; padding: 'valid' | 'same' },
  channels: number,
  type: string,
): Shape {
  requireRank(input, 3, type);
  const [kh, kw] = pair(a.kernelSize);
  const [sh, sw] = pair(a.strides);
  const out = [windowOutput(input[0], kh, sh, a.padding), windowOutput(input[1], kw, sw, a.padding), channels];
  checkPositive(out, type, 'kernelSize', input);
  return out;
}

export const MORE_ENTRIES = [
  layer({
    type: 'depthwiseConv2d',
    summary: 'depthwise 2-D convolution (one filter per channel)',
    schema: depthwiseSchema,
    outputShape: (input, a) => windowShape(input, a as never, input[2] * a.depthMultiplier, 'depthwiseConv2d'),
    params: (input, a) => {
      const [kh, kw] = pair(a.kernelSize);
      return kh * kw * input[2] * a.depthMultiplier + (a.useBias ? input[2] * a.depthMultiplier : 0);
    },
    build: (tf, a, ctx) =>
      tf.layers.depthwiseConv2d({
        name: ctx.name,
        inputShape: ctx.inputShape,
        kernelSize: a.kernelSize as number | [number, number],
        strides: a.strides as number | [number, number],
        padding: a.padding,
        depthMultiplier: a.depthMultiplier,
        activation: a.activation,
        useBias: a.useBias,
        depthwiseInitializer: initializer(tf, a.depthwiseInitializer, ctx.seed),
        biasInitializer: initializer(tf, a.biasInitializer, ctx.seed + 1),
        depthwiseRegularizer: regularizer(tf, a.depthwiseRegularizer),
        biasRegularizer: regularizer(tf, a.biasRegularizer),
      }),
  }),
  layer({
    type: 'separableConv2d',
    summary: 'depthwise-separable 2-D convolution (MobileNet, Xception)',
    schema: separableSchema,
    outputShape: (input, a) => windowShape(input, a as never, a.filters, 'separableConv2d'),
    params: (input, a) => {
      const [kh, kw] = pair(a.kernelSize);
      const mid = input[2] * a.depthMultiplier;
      return kh * kw * mid + mid * a.filters + (a.useBias ? a.filters : 0);
    },
    build: (tf, a, ctx) =>
      tf.layers.separableConv2d({
        name: ctx.name,
        inputShape: ctx.inputShape,
        filters: a.filters,
        kernelSize: a.kernelSize as number | [number, number],
        strides: a.strides as number | [number, number],
        padding: a.padding,
        depthMultiplier: a.depthMultiplier,
        activation: a.activation,
        useBias: a.useBias,
        depthwiseInitializer: initializer(tf, a.depthwiseInitializer, ctx.seed),
        pointwiseInitializer: initializer(tf, a.pointwiseInitializer, ctx.seed + 2),
        biasInitializer: initializer(tf, a.biasInitializer, ctx.seed + 1),
        depthwiseRegularizer: regularizer(tf, a.depthwiseRegularizer),
        pointwiseRegularizer: regularizer(tf, a.pointwiseRegularizer),
        biasRegularizer: regularizer(tf, a.biasRegularizer),
      }),
  }),
  layer({
    type: 'conv2dTranspose',
    summary: 'transposed 2-D convolution',
    schema: transposeSchema,
    outputShape(input, a) {
      requireRank(input, 3, 'conv2dTranspose');
      const [kh, kw] = pair(a.kernelSize);
      const [sh, sw] = pair(a.strides);
      return [deconvLength(input[0], sh, kh, a.padding), deconvLength(input[1], sw, kw, a.padding), a.filters];
    },
    params: (input, a) => {
      const [kh, kw] = pair(a.kernelSize);
      return kh * kw * input[2] * a.filters + (a.useBias ? a.filters : 0);
    },
    build: (tf, a, ctx) =>
      tf.layers.conv2dTranspose({
        name: ctx.name,
        inputShape: ctx.inputShape,
        filters: a.filters,
        kernelSize: a.kernelSize as number | number[],
        strides: a.strides as number | number[],
        padding: a.padding,
        activation: a.activation,
        useBias: a.useBias,
        kernelInitializer: initializer(tf, a.kernelInitializer, ctx.seed),
        biasInitializer: initializer(tf, a.biasInitializer, ctx.seed + 1),
        kernelRegularizer: regularizer(tf, a.kernelRegularizer),
        biasRegularizer: regularizer(tf, a.biasRegularizer),
      }),
  }),
  layer({
    type: 'upSampling2d',
    summary: 'repeat rows and columns (nearest) or interpolate (bilinear)',
    schema: Type.Object(
      {
        type: TypeTag('upSampling2d', 'upsample height and width'),
        size: IntOrPair('factor: n or [rows, cols]', { default: 2 }),
        interpolation: StringEnum(['nearest', 'bilinear'] as const, {
          default: 'nearest',
          description: 'how new pixels are filled',
        }),
      },
      { ...Closed, description: 'tf.layers.upSampling2d' },
    ),
    outputShape(input, a) {
      requireRank(input, 3, 'upSampling2d');
      const [sh, sw] = pair(a.size);
      return [input[0] * sh, input[1] * sw, input[2]];
    },
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers.upSampling2d({
        name: ctx.name,
        inputShape: ctx.inputShape,
        size: pair(a.size),
        interpolation: a.interpolation,
      }),
  }),
  globalPoolingLayer(
    'globalMaxPooling2d',
    3,
    'maximum over height and width, one value per channel',
    'max over height and width',
  ),
  layer({
    type: 'layerNormalization',
    summary: 'normalize each example over its last axis',
    schema: Type.Object(
      {
        type: TypeTag('layerNormalization', 'normalize over the last axis, per example'),
        epsilon: Type.Number({ exclusiveMinimum: 0, default: 0.001, description: 'added to the variance' }),
      },
      // Always with a learned offset and scale: tfjs 4.22's gradient fails without them (center: false).
      { ...Closed, description: 'tf.layers.layerNormalization (with gamma and beta)' },
    ),
    outputShape: (input) => input,
    params: (input) => input[input.length - 1] * 2,
    build: (tf, a, ctx) =>
      tf.layers.layerNormalization({ name: ctx.name, inputShape: ctx.inputShape, epsilon: a.epsilon }),
  }),
  layer({
    type: 'spatialDropout2d',
    summary: 'drop whole channels while training',
    schema: Type.Object(
      {
        type: TypeTag('spatialDropout2d', 'zero a fraction `rate` of channels (whole feature maps) during training'),
        rate: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'fraction of channels to drop, in [0, 1)' }),
      },
      {
        ...Closed,
        description: 'tf.layers.dropout with noiseShape [batch, 1, 1, channels], as Keras SpatialDropout2D',
      },
    ),
    outputShape(input) {
      requireRank(input, 3, 'spatialDropout2d');
      return input;
    },
    params: () => 0,
    // A stock Dropout whose mask is shared over height and width: reseeded per step like dropout.
    build: (tf, a, ctx) =>
      tf.layers.dropout({
        name: ctx.name,
        inputShape: ctx.inputShape,
        rate: a.rate,
        seed: ctx.seed,
        noiseShape: [null, 1, 1, null] as unknown as number[],
      }),
  }),
  layer({
    type: 'gaussianNoise',
    summary: 'add zero-mean Gaussian noise while training',
    schema: Type.Object(
      {
        type: TypeTag('gaussianNoise', 'add N(0, stddev) noise during training'),
        stddev: Type.Number({
          exclusiveMinimum: 0,
          description:
            'standard deviation of the noise (tfjs draws it unseeded: runs with it are not bit-reproducible)',
        }),
      },
      { ...Closed, description: 'tf.layers.gaussianNoise' },
    ),
    outputShape: (input) => input,
    params: () => 0,
    build: (tf, a, ctx) => tf.layers.gaussianNoise({ name: ctx.name, inputShape: ctx.inputShape, stddev: a.stddev }),
  }),
  layer({
    type: 'reshape',
    summary: 'reshape each example',
    schema: Type.Object(
      {
        type: TypeTag('reshape', 'reshape, keeping the batch'),
        // No -1: tfjs 4.22 leaves an inferred dimension unknown in the model's shapes, which breaks the layers after it.
        targetShape: Type.Array(PositiveInt('a dimension'), {
          minItems: 1,
          description: 'the new shape without the batch (every size given)',
        }),
      },
      { ...Closed, description: 'tf.layers.reshape' },
    ),
    outputShape(input, a) {
      if (product(input) !== product(a.targetShape)) {
        throw new ShapeError(
          `reshape cannot turn ${fmtShape(input)} (${product(input)} values) into ${fmtShape(a.targetShape)} (${product(a.targetShape)})`,
          'targetShape',
        );
      }
      return a.targetShape;
    },
    params: () => 0,
    build: (tf, a, ctx) =>
      tf.layers.reshape({ name: ctx.name, inputShape: ctx.inputShape, targetShape: [...a.targetShape] }),
  }),
  layer({
    type: 'permute',
    summary: 'reorder the axes of each example',
    schema: Type.Object(
      {
        type: TypeTag('permute', 'permute axes, keeping the batch'),
        dims: Type.Array(PositiveInt('an axis, 1-based'), {
          minItems: 1,
          description: 'a permutation of 1..rank (the batch axis is not counted)',
        }),
      },
      { ...Closed, description: 'tf.layers.permute' },
    ),
    outputShape(input, a) {
      const sorted = [...a.dims].sort((x, y) => x - y);
      if (a.dims.length !== input.length || sorted.some((d, i) => d !== i + 1)) {
        throw new ShapeError(
          `permute dims ${fmtShape(a.dims)} is not a permutation of 1..${input.length} for input ${fmtShape(input)}`,
          'dims',
        );
      }
      return a.dims.map((d) => input[d - 1]);
    },
    params: () => 0,
    build: (tf, a, ctx) => tf.layers.permute({ name: ctx.name, inputShape: ctx.inputShape, dims: [...a.dims] }),
  }),
  layer({
    type: 'leakyReLU',
    summary: 'x for x > 0, alpha * x otherwise',
    schema: Type.Object(
      {
        type: TypeTag('leakyReLU', 'leaky rectifier'),
        alpha: Type.Number({ minimum: 0, default: 0.3, description: 'slope for x < 0' }),
      },
      { ...Closed, description: 'tf.layers.leakyReLU' },
    ),
    outputShape: (input) => input,
    params: () => 0,
    build: (tf, a, ctx) => tf.layers.leakyReLU({ name: ctx.name, inputShape: ctx.inputShape, alpha: a.alpha }),
  }),
  layer({
    type: 'prelu',
    summary: 'leaky rectifier with a learned slope per unit',
    schema: Type.Object(
      {
        type: TypeTag('prelu', 'parametric rectifier'),
        alphaInitializer: Initializer('initial slopes', 'zeros'),
        sharedAxes: Type.Optional(
          Type.Array(PositiveInt('an axis, 1-based'), {
            minItems: 1,
            description: 'axes that share one slope (e.g. [1, 2]: one per channel)',
          }),
        ),
      },
      { ...Closed, description: 'tf.layers.prelu' },
    ),
    outputShape(input, a) {
      const bad = (a.sharedAxes ?? []).find((d) => d > input.length);
      if (bad !== undefined)
        throw new ShapeError(
          `prelu sharedAxes ${bad} is beyond the input's rank ${input.length} (${fmtShape(input)})`,
          'sharedAxes',
        );
      return input;
    },
    params: (input, a) => product(input.map((d, i) => ((a.sharedAxes ?? []).includes(i + 1) ? 1 : d))),
    build: (tf, a, ctx) =>
      tf.layers.prelu({
        name: ctx.name,
        inputShape: ctx.inputShape,
        alphaInitializer: initializer(tf, a.alphaInitializer, ctx.seed),
        sharedAxes: a.sharedAxes ? [...a.sharedAxes] : undefined,
      }),
  }),
  layer({
    type: 'relu',
    summary: 'rectifier, optionally capped at maxValue',
    schema: Type.Object(
      {
        type: TypeTag('relu', 'max(x, 0), capped at maxValue'),
        maxValue: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'cap (6: relu6)' })),
      },
      { ...Closed, description: 'tf.layers.reLU' },
    ),
    outputShape: (input) => input,
    params: () => 0,
    build: (tf, a, ctx) => tf.layers.reLU({ name: ctx.name, inputShape: ctx.inputShape, maxValue: a.maxValue }),
  }),
  layer({
    type: 'softmax',
    summary: 'softmax over an axis (gives probabilities)',
    schema: Type.Object(
      {
        type: TypeTag('softmax', 'softmax layer'),
        axis: Type.Integer({ default: -1, description: 'axis normalized over' }),
      },
      { ...Closed, description: 'tf.layers.softmax' },
    ),
    outputShape(input, a) {
      if (a.axis === 0 || a.axis < -input.length || a.axis > input.length) {
        throw new ShapeError(
          `softmax axis ${a.axis} is out of range for input ${fmtShape(input)}: use -1..-${input.length} or 1..${input.length}`,
          'axis',
        );
      }
      return input;
    },
    params: () => 0,
    build: (tf, a, ctx) => tf.layers.softmax({ name: ctx.name, inputShape: ctx.inputShape, axis: a.axis }),
  }),
] as const;
