import type * as tfjs from '@tensorflow/tfjs';
import type { TF } from './types';

/**
 * The optimizer's update with `training.optimizer.weightDecay`: g + weightDecay * w for every
 * weight, as torch.optim applies weight_decay, before the optimizer sees the gradients.
 */
export function gradientApplier(
  tf: TF,
  optimizer: tfjs.Optimizer | undefined,
  weightDecay: number,
  variables: () => tfjs.Variable[],
): (grads: tfjs.NamedTensorMap) => void {
  let byName: Map<string, tfjs.Variable> | undefined;
  return (grads) => {
    if (!optimizer) throw new Error('applyGradients: this step runner has no optimizer (evaluation only)');
    if (weightDecay === 0) {
      optimizer.applyGradients(grads);
      return;
    }
    byName ??= new Map(variables().map((v) => [v.name, v]));
    const decayed = tf.tidy(() => {
      const out: tfjs.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) {
        const w = byName!.get(name);
        if (!w) throw new Error(`weightDecay: gradient for unknown variable ${name}`);
        out[name] = tf.add(g, tf.mul(w, weightDecay));
      }
      return out;
    });
    try {
      optimizer.applyGradients(decayed);
    } finally {
      tf.dispose(decayed);
    }
  };
}
