import { Type, type Static, type TObject } from '@sinclair/typebox';
import type * as tfjs from '@tensorflow/tfjs';
import { Registry, type Entry } from '../registry/registry';
import { Closed, TypeTag } from '../registry/schema-parts';

type TF = typeof tfjs;

export interface OptimizerEntry<S extends TObject = TObject> extends Entry {
  readonly schema: S;
  /** Builds the optimizer with the given learning rate (a schedule may have changed it from the file's). */
  build(tf: TF, args: Static<S>, learningRate: number): tfjs.Optimizer;
}

function optimizer<S extends TObject>(e: OptimizerEntry<S>): OptimizerEntry<S> {
  return e;
}

const LR = (dflt: number) =>
  Type.Number({ exclusiveMinimum: 0, default: dflt, description: `step size (default ${dflt}, as in Keras)` });
/**
 * Optional, without a default, so files without it mean what they did. Applied as PyTorch's
 * optimizers apply `weight_decay` (L2 on the gradient, not decoupled AdamW): step.ts adds
 * weightDecay * w to every trainable weight's gradient before the update.
 */
const WeightDecay = Type.Optional(
  Type.Number({
    minimum: 0,
    description: "add weightDecay * w to each weight's gradient (L2 decay, as torch.optim's weight_decay)",
  }),
);
const Epsilon = Type.Number({ exclusiveMinimum: 0, default: 1e-7, description: 'added to denominators for stability' });
const Beta = (dflt: number, what: string) =>
  Type.Number({ minimum: 0, exclusiveMaximum: 1, default: dflt, description: what });

export const OPTIMIZER_ENTRIES = [
  optimizer({
    type: 'sgd',
    summary: 'stochastic gradient descent, with optional (Nesterov) momentum',
    schema: Type.Object(
      {
        type: TypeTag('sgd', 'stochastic gradient descent'),
        learningRate: LR(0.01),
        weightDecay: WeightDecay,
        momentum: Type.Number({ minimum: 0, default: 0, description: 'momentum factor; 0 is plain SGD' }),
        nesterov: Type.Boolean({ default: false, description: 'use Nesterov momentum (needs momentum > 0)' }),
      },
      Closed,
    ),
    build: (tf, a, lr) => (a.momentum > 0 ? tf.train.momentum(lr, a.momentum, a.nesterov) : tf.train.sgd(lr)),
  }),
  optimizer({
    type: 'adam',
    summary: 'Adam (Kingma & Ba)',
    schema: Type.Object(
      {
        type: TypeTag('adam', 'Adam'),
        learningRate: LR(0.001),
        weightDecay: WeightDecay,
        beta1: Beta(0.9, 'decay of the first-moment estimate'),
        beta2: Beta(0.999, 'decay of the second-moment estimate'),
        epsilon: Epsilon,
      },
      Closed,
    ),
    build: (tf, a, lr) => tf.train.adam(lr, a.beta1, a.beta2, a.epsilon),
  }),
  optimizer({
    type: 'rmsprop',
    summary: 'RMSProp',
    schema: Type.Object(
      {
        type: TypeTag('rmsprop', 'RMSProp'),
        learningRate: LR(0.001),
        weightDecay: WeightDecay,
        rho: Beta(0.9, 'decay of the squared-gradient average'),
        momentum: Type.Number({ minimum: 0, default: 0, description: 'momentum factor' }),
        epsilon: Epsilon,
      },
      Closed,
    ),
    // Not offered: `centered`. tfjs 4.22 computes sqrt(ms - (mg^2 + epsilon)), NaN wherever a gradient entry is 0.
    build: (tf, a, lr) => tf.train.rmsprop(lr, a.rho, a.momentum, a.epsilon, false),
  }),
  optimizer({
    type: 'adagrad',
    summary: 'Adagrad',
    schema: Type.Object(
      {
        type: TypeTag('adagrad', 'Adagrad'),
        learningRate: LR(0.01),
        weightDecay: WeightDecay,
        initialAccumulatorValue: Type.Number({
          exclusiveMinimum: 0,
          default: 0.1,
          description: 'starting accumulator',
        }),
      },
      Closed,
    ),
    build: (tf, a, lr) => tf.train.adagrad(lr, a.initialAccumulatorValue),
  }),
  optimizer({
    type: 'adadelta',
    summary: 'Adadelta',
    schema: Type.Object(
      {
        type: TypeTag('adadelta', 'Adadelta'),
        learningRate: LR(0.001),
        weightDecay: WeightDecay,
        rho: Beta(0.95, 'decay rate'),
        epsilon: Epsilon,
      },
      Closed,
    ),
    build: (tf, a, lr) => tf.train.adadelta(lr, a.rho, a.epsilon),
  }),
  optimizer({
    type: 'adamax',
    summary: 'Adamax (Adam with the infinity norm)',
    schema: Type.Object(
      {
        type: TypeTag('adamax', 'Adamax'),
        learningRate: LR(0.002),
        weightDecay: WeightDecay,
        beta1: Beta(0.9, 'decay of the first-moment estimate'),
        beta2: Beta(0.999, 'decay of the infinity-norm estimate'),
        epsilon: Epsilon,
      },
      Closed,
    ),
    build: (tf, a, lr) => tf.train.adamax(lr, a.beta1, a.beta2, a.epsilon, 0),
  }),
] as const;

export type OptimizerConfig = Static<(typeof OPTIMIZER_ENTRIES)[number]['schema']>;
export const OPTIMIZERS = new Registry<OptimizerEntry>('optimizer', OPTIMIZER_ENTRIES as unknown as OptimizerEntry[]);
