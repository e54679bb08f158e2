import type * as tfjs from '@tensorflow/tfjs';
import { createAdam } from './fused-adam';
import { fuse } from './fused-optimizers';
import { engineStatus } from './start';
import { OPTIMIZERS } from '../builders/optimizers';
import type { ResolvedExperiment } from '../config/load';
import type { TF } from './types';

/** An optimizer slot or state tensor with its name (tfjs' NamedTensor, not re-exported by @tensorflow/tfjs). */
export type NamedTensor = { name: string; tensor: tfjs.Tensor };

/**
 * Optimizer construction, learning-rate changes and exact state save/restore.
 *
 * State goes through optimizer.getWeights()/setWeights() (iteration count plus the
 * per-variable slots, matched by position, not by name, so variable-name suffixes that
 * differ between processes do not matter). Two gaps in tfjs 4.22 are bridged here:
 *  - Adam/Adamax keep bias-correction powers (accBeta1, accBeta2) as variables updated by
 *    repeated multiplication; setWeights recomputes them with pow(), which differs in the
 *    last float bits, so a resumed run would drift from an uninterrupted one. We save those
 *    scalars too and assign them back after setWeights.
 *  - Adamax has no getWeights/setWeights at all; its slots are read and written directly.
 */

export function buildOptimizer(tf: TF, experiment: ResolvedExperiment, learningRate: number): tfjs.Optimizer {
  const cfg = experiment.training.optimizer;
  // Adam through createAdam: on wasm one fused kernel per variable instead of ~13 (about a
  // tenth of a LeNet step), bit-identical to tf.train.adam; elsewhere it is tf.train.adam.
  if (cfg.type === 'adam' && engineStatus().fast)
    return createAdam(tf, learningRate, cfg.beta1, cfg.beta2, cfg.epsilon);
  // Every other optimizer: as the registry builds it, its update fused on wasm (fused-optimizers.ts), bit-identical.
  const stock = OPTIMIZERS.require(cfg.type).build(tf, cfg as never, learningRate);
  return engineStatus().fast ? fuse(tf, stock) : stock;
}

/** Sets the rate used by the next applyGradients (schedules change it per epoch). */
export function setLearningRate(optimizer: tfjs.Optimizer, learningRate: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  // SGD and momentum cache -lr in a scalar tensor and expose setLearningRate; the others read the field each step.
  if (typeof o.setLearningRate === 'function') o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

export interface OptimizerState {
  /** Named tensors to serialize (the caller disposes them after writing). */
  tensors: NamedTensor[];
}

interface OptimizerVariable {
  originalName: string;
  variable: tfjs.Variable;
}

interface AdamaxInternals {
  iteration: tfjs.Variable;
  accBeta1: tfjs.Variable;
  accumulatedFirstMoment: OptimizerVariable[];
  accumulatedWeightedInfNorm: OptimizerVariable[];
  iterations_: number;
}

const EXACT_SCALARS = ['accBeta1', 'accBeta2'] as const;
const EXTRA_PREFIX = 'pipeline.exact/';

function isAdamax(optimizer: tfjs.Optimizer): boolean {
  return optimizer.getClassName() === 'Adamax';
}

export async function captureOptimizerState(tf: TF, optimizer: tfjs.Optimizer): Promise<OptimizerState> {
  const o = optimizer as unknown as Record<string, unknown>;
  const tensors: NamedTensor[] = [];
  if (isAdamax(optimizer)) {
    const a = o as unknown as AdamaxInternals;
    tensors.push({ name: 'iter', tensor: tf.scalar(a.iterations_, 'int32') });
    tensors.push({ name: `${EXTRA_PREFIX}iteration`, tensor: a.iteration.clone() });
    for (const v of [...a.accumulatedFirstMoment, ...a.accumulatedWeightedInfNorm])
      tensors.push({ name: v.originalName, tensor: v.variable.clone() });
  } else {
    // getWeights returns the live slot variables (cloned, so the snapshot does not change with
    // later steps) and a fresh 'iter' scalar, which is ours to dispose, so it is taken as is.
    for (const w of await optimizer.getWeights())
      tensors.push({ name: w.name, tensor: w.tensor instanceof tf.Variable ? w.tensor.clone() : w.tensor });
  }
  for (const key of EXACT_SCALARS) {
    const v = o[key] as tfjs.Variable | undefined;
    if (v) tensors.push({ name: EXTRA_PREFIX + key, tensor: v.clone() });
  }
  return { tensors };
}

/** Restores state captured by captureOptimizerState into a freshly built optimizer of the same type. */
export async function restoreOptimizerState(_tf: TF, optimizer: tfjs.Optimizer, tensors: NamedTensor[]): Promise<void> {
  const o = optimizer as unknown as Record<string, unknown>;
  const extras = new Map(
    tensors.filter((t) => t.name.startsWith(EXTRA_PREFIX)).map((t) => [t.name.slice(EXTRA_PREFIX.length), t.tensor]),
  );
  const slots = tensors.filter((t) => !t.name.startsWith(EXTRA_PREFIX));
  if (isAdamax(optimizer)) {
    const a = o as unknown as AdamaxInternals;
    const [iter, ...rest] = slots;
    a.iterations_ = iter.tensor.dataSync()[0];
    const half = rest.length / 2;
    const asSlot = (t: NamedTensor): OptimizerVariable => ({
      originalName: t.name,
      variable: t.tensor.variable(false),
    });
    a.accumulatedFirstMoment = rest.slice(0, half).map(asSlot);
    a.accumulatedWeightedInfNorm = rest.slice(half).map(asSlot);
    const iteration = extras.get('iteration');
    if (iteration) a.iteration.assign(iteration);
  } else {
    await optimizer.setWeights(slots);
  }
  for (const key of EXACT_SCALARS) {
    const v = o[key] as tfjs.Variable | undefined;
    const saved = extras.get(key);
    if (v && saved) v.assign(saved);
  }
}
