import { Type, type Static } from '@sinclair/typebox';
import type * as tfjs from '@tensorflow/tfjs';
import { Closed, TypeTag } from '../registry/schema-parts';
import type { LayerEntry } from './layers';
import { fmtShape, MergeShapeError, ShapeError, type Shape } from './shapes';

/**
 * Merge layers: several inputs (named in `inputs`) into one output, as Keras'
 * Add, Concatenate, ... Each is a LayerEntry whose `merge` rule takes every
 * input shape; `outputShape` (one input) never applies, validation requires
 * at least two inputs.
 */

type TF = typeof tfjs;
type Elementwise = 'add' | 'multiply' | 'average' | 'maximum' | 'subtract';

/** Elementwise merges need every input to have the first input's shape. */
function sameShapes(type: string, inputs: readonly Shape[]): Shape {
  for (let k = 1; k < inputs.length; k++) {
    if (fmtShape(inputs[k]) !== fmtShape(inputs[0]))
      throw new MergeShapeError(`${type} needs inputs of one shape`, [k, 0]);
  }
  return inputs[0];
}

function elementwise(
  type: Elementwise,
  what: string,
  build: (tf: TF, name: string) => tfjs.layers.Layer,
  arity?: number,
) {
  const schema = Type.Object(
    { type: TypeTag(type, what) },
    {
      ...Closed,
      description: type === 'subtract' ? 'tf.layers.add of the first input and -1 x the second' : `tf.layers.${type}`,
    },
  );
  const entry: LayerEntry<typeof schema> = {
    type,
    summary: what,
    schema,
    arity,
    merge: (inputs) => sameShapes(type, inputs),
    outputShape: (input) => input,
    params: () => 0,
    build: (tf, _a, ctx) => build(tf, ctx.name),
  };
  return entry;
}

const concatSchema = Type.Object(
  {
    type: TypeTag('concatenate', 'join inputs along one axis'),
    axis: Type.Integer({
      default: -1,
      description: 'axis counted with the batch axis, as Keras: -1 (channels) or 1..rank',
    }),
  },
  { ...Closed, description: 'tf.layers.concatenate' },
);

/** Concatenation along `axis` (Keras counts the batch axis as 0): other dimensions must agree. */
function concatShape(inputs: readonly Shape[], axis: number): Shape {
  const rank = inputs[0].length;
  if (axis === 0 || axis < -rank || axis > rank) {
    throw new ShapeError(
      `concatenate axis ${axis} is out of range for inputs of rank ${rank} (${fmtShape(inputs[0])} besides the batch): use -1..-${rank} or 1..${rank}`,
      'axis',
    );
  }
  const a = axis < 0 ? rank + axis : axis - 1;
  for (let k = 1; k < inputs.length; k++) {
    const other = inputs[k];
    if (other.length !== rank || other.some((d, j) => j !== a && d !== inputs[0][j])) {
      throw new MergeShapeError(`concatenate on axis ${axis} needs inputs that agree on every other axis`, [k, 0]);
    }
  }
  const out = [...inputs[0]];
  out[a] = inputs.reduce((s, x) => s + x[a], 0);
  return out;
}

export const MERGE_ENTRIES = [
  elementwise('add', 'sum of the inputs (residual connections)', (tf, name) => tf.layers.add({ name })),
  elementwise('multiply', 'elementwise product of the inputs', (tf, name) => tf.layers.multiply({ name })),
  elementwise('average', 'elementwise mean of the inputs', (tf, name) => tf.layers.average({ name })),
  elementwise('maximum', 'elementwise maximum of the inputs', (tf, name) => tf.layers.maximum({ name })),
  // tfjs has no Subtract layer; a stock Rescaling(-1) and Add keep model.json loadable by plain tfjs.
  {
    ...elementwise('subtract', 'first input minus the second', (tf, name) => tf.layers.add({ name }), 2),
    connect: (tf: TF, _a: unknown, ctx: { name: string }, inputs: tfjs.SymbolicTensor[]) => {
      const negated = tf.layers
        .rescaling({ name: `${ctx.name}_negate`, scale: -1, offset: 0 })
        .apply(inputs[1]) as tfjs.SymbolicTensor;
      return tf.layers.add({ name: ctx.name }).apply([inputs[0], negated]) as tfjs.SymbolicTensor;
    },
  },
  {
    type: 'concatenate',
    summary: 'join the inputs along an axis',
    schema: concatSchema,
    merge: (inputs: readonly Shape[], a: Static<typeof concatSchema>) => concatShape(inputs, a.axis),
    outputShape: (input: Shape) => input,
    params: () => 0,
    build: (tf: TF, a: Static<typeof concatSchema>, ctx: { name: string }) =>
      tf.layers.concatenate({ name: ctx.name, axis: a.axis }),
  } satisfies LayerEntry<typeof concatSchema>,
] as const;
