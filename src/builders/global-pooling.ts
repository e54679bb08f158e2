import { Type } from '@sinclair/typebox';
import { Closed, TypeTag } from '../registry/schema-parts';
import { layer } from './layer-kit';
import { requireRank } from './shapes';

type GlobalPooling = 'globalAveragePooling2d' | 'globalMaxPooling2d' | 'globalAveragePooling1d';

/**
 * One registry entry for a global pooling layer: no arguments, no weights, the last axis
 * (channels) kept and every other axis reduced. `rank` is the input's rank without the batch:
 * 3 for [height, width, channels], 2 for [steps, channels].
 */
export function globalPoolingLayer(type: GlobalPooling, rank: 2 | 3, summary: string, what: string) {
  return layer({
    type,
    summary,
    schema: Type.Object({ type: TypeTag(type, what) }, { ...Closed, description: `tf.layers.${type}` }),
    outputShape(input) {
      requireRank(input, rank, type);
      return [input[rank - 1]];
    },
    params: () => 0,
    build: (tf, _a, ctx) => tf.layers[type]({ name: ctx.name, inputShape: ctx.inputShape }),
  });
}
