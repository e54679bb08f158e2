import type { Static, TObject } from '@sinclair/typebox';
import type * as tfjs from '@tensorflow/tfjs';
import type { Entry } from '../registry/registry';
import type { InitializerName, RegularizerConfig } from '../registry/schema-parts';
import { fmtShape, ShapeError, type Shape } from './shapes';

/** What every layer entry is made of (layers.ts, more-layers.ts, sequence-layers.ts, merge-layers.ts). */

type TF = typeof tfjs;

export interface BuildContext {
  /** The layer's unique, stable name (`conv2d_1`): weight names in saved models and checkpoints derive from it. */
  name: string;
  /** Set for the first layer only: the dataset's input shape. */
  inputShape?: number[];
  /** A seed derived from the experiment's seed and the layer's index, for initializers and dropout. */
  seed: number;
}

export interface LayerEntry<S extends TObject = TObject> extends Entry {
  readonly schema: S;
  /** Output shape for an input shape; throws ShapeError when the layer cannot apply or makes a dimension < 1. */
  outputShape(input: Shape, args: Static<S>): Shape;
  /** Number of weights (trainable and not), as Keras' summary counts them. */
  params(input: Shape, args: Static<S>): number;
  build(tf: TF, args: Static<S>, ctx: BuildContext): tfjs.layers.Layer;
  /** Merge layers (merge-layers.ts): the output shape for all input shapes; throws ShapeError/MergeShapeError. */
  merge?(inputs: readonly Shape[], args: Static<S>): Shape;
  /** Merge layers that take exactly this many inputs (subtract: 2); others take two or more. */
  arity?: number;
  /** Wiring into a functional model when it is more than `build(...).apply(inputs)` (subtract: two stock layers). */
  connect?(tf: TF, args: Static<S>, ctx: BuildContext, inputs: tfjs.SymbolicTensor[]): tfjs.SymbolicTensor;
}

/** Lets each entry's callbacks see its own schema's type. */
export function layer<S extends TObject>(e: LayerEntry<S>): LayerEntry<S> {
  return e;
}

/** tfjs's l1l2 regularizer for a file's `{l1, l2}`, or none. */
export function regularizer(tf: TF, r: RegularizerConfig | undefined) {
  return r && (r.l1 > 0 || r.l2 > 0) ? tf.regularizers.l1l2({ l1: r.l1, l2: r.l2 }) : undefined;
}

export function initializer(tf: TF, name: InitializerName, seed: number): ReturnType<TF['initializers']['zeros']> {
  const i = tf.initializers;
  switch (name) {
    case 'zeros':
      return i.zeros();
    case 'ones':
      return i.ones();
    case 'randomNormal':
      return i.randomNormal({ mean: 0, stddev: 0.05, seed });
    case 'randomUniform':
      return i.randomUniform({ minval: -0.05, maxval: 0.05, seed });
    case 'truncatedNormal':
      return i.truncatedNormal({ mean: 0, stddev: 0.05, seed });
    default:
      return i[name]({ seed });
  }
}

export function checkPositive(dims: Shape, layer: string, key: string, input: Shape): void {
  if (dims.some((d) => d < 1)) {
    throw new ShapeError(
      `${layer} turns input ${fmtShape(input)} into ${fmtShape(dims)}: every dimension must be at least 1`,
      key,
    );
  }
}
