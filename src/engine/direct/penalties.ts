import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { TF } from '../types';
import type { CallScope } from './call-scope';

/** A weight's regularizer (layer `kernelRegularizer`, ...): its penalty is part of the training loss. */
export interface Penalty {
  variable: tfjs.LayerVariable;
  regularizer: { apply(x: tfjs.Tensor): tfjs.Scalar };
}

/** Which of a layer's weights each regularizer field applies to (tfjs-layers' own field names). */
const REGULARIZED: Array<[string, string]> = [
  ['kernelRegularizer', 'kernel'],
  ['biasRegularizer', 'bias'],
  ['depthwiseRegularizer', 'depthwiseKernel'],
  ['pointwiseRegularizer', 'pointwiseKernel'],
];

/** A layer's weight penalties (an empty list without regularizers). */
export function penaltiesOf(layer: tfjs.layers.Layer): Penalty[] {
  const fields = layer as unknown as Record<string, unknown>;
  return REGULARIZED.flatMap(([reg, weight]) => {
    const regularizer = fields[reg] as Penalty['regularizer'] | null | undefined;
    const variable = fields[weight] as tfjs.LayerVariable | null | undefined;
    return regularizer && variable ? [{ variable, regularizer }] : [];
  });
}

/**
 * This step's penalty terms, as tfjs's autograd adds model.calculateLosses() to the loss:
 * their sum (float32, in the model's order) and each weight's penalty gradient, as this call's
 * tensors. The weight gradients add it to every shard's partial gradient (each replica's own
 * loss has the penalty), and the loss sums add penalty * rows per shard.
 */
export function penaltyTerms(
  tf: TF,
  scope: CallScope,
  penalties: Penalty[],
): { value: number; grads: Map<tfjs.LayerVariable, TensorInfo> } {
  const grads = new Map<tfjs.LayerVariable, TensorInfo>();
  if (penalties.length === 0) return { value: 0, grads };
  const values: tfjs.Scalar[] = [];
  for (const p of penalties) {
    const { value, grad } = tf.tidy(() =>
      tf.valueAndGrad((w: tfjs.Tensor) => p.regularizer.apply(w))(p.variable.read()),
    );
    values.push(value);
    grads.set(p.variable, scope.fromTensor(grad));
  }
  const total = tf.tidy(() => tf.addN(values));
  const value = total.dataSync()[0];
  tf.dispose([total, ...values]);
  return { value, grads };
}
