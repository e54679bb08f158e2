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
  return (unordered) => {
    if (!optimizer) throw new Error('applyGradients: this step runner has no optimizer (evaluation only)');
    const grads = inSlotOrder(optimizer, unordered);
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

/** Per-variable slot arrays of tfjs's optimizers (and ours, fused-adam.ts, fused-optimizers.ts), each entry named `<variable>/<slot>`. */
const SLOT_FIELDS = ['accumulatedFirstMoment', 'accumulations', 'accumulatedMeanSquares', 'accumulatedGrads'];

/**
 * The gradients in the order of the optimizer's slots. tfjs's optimizers pair the i-th
 * gradient with the i-th slot, whatever its name, so one optimizer fed maps in two orders
 * (the direct step lists its gradients from the output back, the data-parallel exchange in
 * the model's order, a resumed run its checkpoint's) would update one variable with another's
 * moments. Slots carry their variable's name: the map is put in their order, new names last.
 */
function inSlotOrder(optimizer: tfjs.Optimizer, grads: tfjs.NamedTensorMap): tfjs.NamedTensorMap {
  const fields = optimizer as unknown as Record<string, Array<{ originalName: string } | undefined> | undefined>;
  const slots = SLOT_FIELDS.map((f) => fields[f]).find((s) => Array.isArray(s) && s.length > 0);
  if (!slots) return grads;
  const names = slots.map((s) => s?.originalName.slice(0, s.originalName.lastIndexOf('/')));
  if (names.every((n, i) => n === Object.keys(grads)[i])) return grads;
  const ordered: tfjs.NamedTensorMap = {};
  for (const n of names) if (n !== undefined && n in grads) ordered[n] = grads[n];
  for (const [n, g] of Object.entries(grads)) if (!(n in ordered)) ordered[n] = g;
  return ordered;
}
