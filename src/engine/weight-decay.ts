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
  // The model's variables by name, and their names in the model's order: built together at the first update.
  let byName: Map<string, tfjs.Variable> | undefined;
  let order: string[] = [];
  return (unordered) => {
    if (!optimizer) throw new Error('applyGradients: this step runner has no optimizer (evaluation only)');
    if (!byName) {
      byName = new Map(variables().map((v) => [v.name, v]));
      order = [...byName.keys()];
    }
    const grads = inModelOrder(order, unordered);
    if (weightDecay === 0) {
      optimizer.applyGradients(grads);
      return;
    }
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

/**
 * The gradients in the model's order. tfjs's optimizers pair the i-th gradient of a map with
 * the i-th slot, whatever its name, and make the slots in the order of the first map; the
 * direct step lists its gradients from the output back, the data-parallel exchange in the
 * model's order. One optimizer fed both (a run switching between 1 and 2 replicas, a
 * checkpoint resumed with the other count) would update one variable with another's moments,
 * so every map goes in one order: the model's, which checkpoints keep (optimizer-state.ts).
 */
function inModelOrder(order: readonly string[], grads: tfjs.NamedTensorMap): tfjs.NamedTensorMap {
  const given = Object.keys(grads);
  if (given.every((n, i) => n === order[i])) return grads;
  const ordered: tfjs.NamedTensorMap = {};
  for (const n of order) if (n in grads) ordered[n] = grads[n];
  for (const n of given) if (!(n in ordered)) ordered[n] = grads[n];
  return ordered;
}
