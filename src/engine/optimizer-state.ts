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
export async function restoreOptimizerState(
  _tf: TF,
  optimizer: tfjs.Optimizer,
  tensors: NamedTensor[],
  /** The model's trainable variables' names, in its order (see inVariableOrder). */
  variableNames?: readonly string[],
): Promise<void> {
  const o = optimizer as unknown as Record<string, unknown>;
  // setWeights replaces the slot variables without disposing them: a replica restored again and again would leak them.
  const replaced = slotVariables(o);
  const extras = new Map(
    tensors.filter((t) => t.name.startsWith(EXTRA_PREFIX)).map((t) => [t.name.slice(EXTRA_PREFIX.length), t.tensor]),
  );
  const saved = tensors.filter((t) => !t.name.startsWith(EXTRA_PREFIX));
  const slots = variableNames ? inVariableOrder(saved, variableNames) : saved;
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
  const kept = new Set(slotVariables(o));
  for (const v of replaced) if (!kept.has(v) && !v.isDisposed) v.dispose();
}

/**
 * Slots in the model's variable order, where their names say which variable each is for.
 * The optimizer pairs slots with gradients by position and the update lists gradients in the
 * model's order (weight-decay.ts); a checkpoint written before that kept the order its run
 * first applied, which for one worker was the direct step's, from the output back. When every
 * group of slots (Adam's m, then v, ...) names exactly the model's variables, each group is
 * put in the model's order; otherwise (names from another process's layer counters) the saved
 * order is kept, which is the model's for every checkpoint written since.
 */
function inVariableOrder(slots: NamedTensor[], names: readonly string[]): NamedTensor[] {
  const n = names.length;
  if (n === 0) return slots;
  const lead = slots.length % n === 0 ? 0 : 1; // 'iter', first where the optimizer has one
  const body = slots.slice(lead);
  if (body.length % n !== 0) return slots;
  const base = (t: NamedTensor) => t.name.slice(0, t.name.lastIndexOf('/'));
  const groups: NamedTensor[][] = [];
  for (let at = 0; at < body.length; at += n) {
    const byVariable = new Map(body.slice(at, at + n).map((t) => [base(t), t]));
    if (byVariable.size !== n || names.some((v) => !byVariable.has(v))) return slots;
    groups.push(names.map((v) => byVariable.get(v)!));
  }
  return [...slots.slice(0, lead), ...groups.flat()];
}

/** Every per-variable slot variable an optimizer holds (its fields that are arrays of { originalName, variable }). */
function slotVariables(o: Record<string, unknown>): tfjs.Variable[] {
  return Object.values(o).flatMap((field) =>
    Array.isArray(field)
      ? field
          .filter(
            (s): s is OptimizerVariable => s != null && typeof s === 'object' && 'variable' in s && 'originalName' in s,
          )
          .map((s) => s.variable)
      : [],
  );
}
