/**
 * Fused updates for tfjs's SGD, Momentum, RMSProp, Adagrad, Adadelta and Adamax optimizers on
 * the wasm backend: one kernel per variable (PipelineOptimizerUpdate, kernels/optimizer-update.ts)
 * instead of 3-12 elementwise kernels, with the same float32 arithmetic in the same order, so
 * the values are bit-identical to the stock optimizer's (Adam has its own: fused-adam.ts).
 *
 * `fuse(tf, optimizer)` turns a stock optimizer (as the optimizer registry builds it) into its
 * fused subclass: same fields, same slot variables created in the same way under the same
 * names, so getWeights / setWeights, serialization (the stock class name), learning-rate
 * changes and optimizer-state.ts's exact save and restore behave as before. On any other
 * backend, or without our kernel registered, the subclass runs the stock update.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { inPlaceHeap, rewritten, soleData, type InPlaceHeap } from './in-place';
import { OPTIMIZER_UPDATE_KERNEL, RULES, type OptimizerUpdateAttrs, type Rule } from './kernels/optimizer-update';

type Tf = typeof tfTypes;
type Variable = tfTypes.Variable;
interface NamedTensor {
  name: string;
  tensor: tfTypes.Tensor;
}
type Gradients = Record<string, Variable> | NamedTensor[];
type Slot = { originalName: string; variable: Variable } | undefined;
/** The optimizer's fields, read as the stock update reads them. */
type Fields = Record<string, number | boolean | Slot[] | Variable>;

interface Spec {
  rule: Rule;
  /** The optimizer's slot arrays for this rule, with each slot's name suffix and initial value (0 unless given). */
  slots: Array<{ field: string; suffix: string; initial?: (o: Fields) => number }>;
  /** The loop's float32 constants for this step. */
  scalars(tf: Tf, o: Fields): number[];
  /** State the stock update changes once per step after the variables (Adamax's iteration and accBeta1). */
  after?(tf: Tf, o: Fields): void;
}

const num = (o: Fields, k: string) => o[k] as number;
const f32 = Math.fround;

const SPECS: Record<string, Spec> = {
  SGD: { rule: 'sgd', slots: [], scalars: (_tf, o) => [-num(o, 'learningRate')] },
  Momentum: {
    rule: 'momentum',
    slots: [{ field: 'accumulations', suffix: 'momentum' }],
    scalars: (_tf, o) => [-num(o, 'learningRate'), num(o, 'momentum'), o.useNesterov ? 1 : 0],
  },
  RMSProp: {
    rule: 'rmsprop',
    slots: [
      { field: 'accumulatedMeanSquares', suffix: 'rms' },
      { field: 'accumulatedMoments', suffix: 'momentum' },
    ],
    scalars: (_tf, o) => [
      num(o, 'decay'),
      1 - num(o, 'decay'),
      num(o, 'momentum'),
      num(o, 'learningRate'),
      num(o, 'epsilon'),
    ],
  },
  Adagrad: {
    rule: 'adagrad',
    slots: [{ field: 'accumulatedGrads', suffix: 'accumulator', initial: (o) => num(o, 'initialAccumulatorValue') }],
    scalars: (tf, o) => [-num(o, 'learningRate'), tf.backend().epsilon()],
  },
  Adadelta: {
    rule: 'adadelta',
    slots: [
      { field: 'accumulatedGrads', suffix: 'accum_grad' },
      { field: 'accumulatedUpdates', suffix: 'accum_var' },
    ],
    scalars: (_tf, o) => [num(o, 'rho'), 1 - num(o, 'rho'), num(o, 'epsilon'), -num(o, 'learningRate')],
  },
  Adamax: {
    rule: 'adamax',
    slots: [
      { field: 'accumulatedFirstMoment', suffix: 'm' },
      { field: 'accumulatedWeightedInfNorm', suffix: 'v' },
    ],
    scalars: (_tf, o) => {
      // tfjs's float32 scalars: lr = -learningRate / (iteration * decay + 1); k = lr / (1 - accBeta1).
      const iteration = (o.iteration as Variable).dataSync()[0];
      const oneMinusAccBeta1 = f32(1 - (o.accBeta1 as Variable).dataSync()[0]);
      const lr = f32(f32(-num(o, 'learningRate')) / f32(f32(iteration * f32(num(o, 'decay'))) + 1));
      return [num(o, 'beta1'), 1 - num(o, 'beta1'), num(o, 'beta2'), num(o, 'epsilon'), f32(lr / oneMinusAccBeta1)];
    },
    after: (tf, o) => {
      (o.iteration as Variable).assign(tf.add(o.iteration as Variable, 1));
      (o.accBeta1 as Variable).assign(tf.mul(o.accBeta1 as Variable, num(o, 'beta1')));
    },
  },
};

/** The slot variables of variable i (created as the stock update creates them: a tidy zerosLike or fill). */
function slotsOf(tf: Tf, o: Fields, spec: Spec, name: string, i: number, value: Variable): Variable[] {
  return spec.slots.map(({ field, suffix, initial }) => {
    const slots = o[field] as Slot[];
    slots[i] ??= {
      originalName: `${name}/${suffix}`,
      variable: tf.tidy(() => (initial ? tf.fill(value.shape, initial(o)) : tf.zerosLike(value)).variable(false)),
    };
    return slots[i]!.variable;
  });
}

/** The fused step, or false where the stock one must run (another backend, a non-float32 gradient). */
function applyFused(tf: Tf, opt: tfTypes.Optimizer, spec: Spec, gradients: Gradients): boolean {
  const names = Array.isArray(gradients) ? gradients.map((v) => v.name) : Object.keys(gradients);
  const gradientOf = (name: string, i: number): tfTypes.Tensor | undefined =>
    Array.isArray(gradients) ? gradients[i].tensor : gradients[name];
  const fused =
    tf.getBackend() === 'wasm' &&
    tf.getKernel(OPTIMIZER_UPDATE_KERNEL, 'wasm') !== undefined &&
    names.every((name, i) => (gradientOf(name, i)?.dtype ?? 'float32') === 'float32');
  if (!fused) return false;
  const o = opt as unknown as Fields;
  const heap = inPlaceHeap(tf);
  tf.tidy(() => {
    const attrs: OptimizerUpdateAttrs = { rule: spec.rule, scalars: spec.scalars(tf, o) };
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      const slots = slotsOf(tf, o, spec, name, i, value);
      const g = gradientOf(name, i);
      if (g == null) return;
      if (heap && updateInPlace(heap, attrs, value, slots, g)) return;
      const inputs = { x: value, g, ...Object.fromEntries(slots.map((s, k) => [`s${k}`, s])) };
      const [x2, ...slots2] = tf
        .engine()
        .runKernel(OPTIMIZER_UPDATE_KERNEL, inputs, attrs as unknown as tfTypes.NamedAttrMap) as tfTypes.Tensor[];
      slots.forEach((s, k) => s.assign(slots2[k]));
      value.assign(x2);
    });
    spec.after?.(tf, o);
  });
  (opt as unknown as { incrementIterations(): void }).incrementIterations();
  return true;
}

/** (x, g, slots..., xOut, slotsOut..., n, scalars...): byte offsets, the length, the constants. */
type Loop = (...args: number[]) => void;

/**
 * The kernel's loop written over the variable's and its slots' own data where each owns it
 * (in-place.ts; fused-adam.ts does the same): no new tensors, assigns or disposals.
 */
function updateInPlace(
  heap: InPlaceHeap,
  attrs: OptimizerUpdateAttrs,
  x: Variable,
  slots: Variable[],
  g: tfTypes.Tensor,
): boolean {
  // A slot of another size is another variable's (a gradient map in another order): never write past it.
  if (g.dtype !== 'float32' || g.size !== x.size || slots.some((t) => t.size !== x.size)) return false;
  const owned = [x, ...slots].map((t) => soleData(heap, t));
  const pg = heap.backend.dataIdMap.get(g.dataId)?.memoryOffset;
  if (owned.some((at) => at === undefined) || pg == null) return false;
  const [px, ...ps] = owned as number[];
  const loop = (heap.loops as unknown as Record<string, Loop>)[RULES[attrs.rule].loop];
  loop(px, pg, ...ps, px, ...ps, x.size, ...attrs.scalars);
  for (const t of [x, ...slots]) rewritten(heap, t);
  return true;
}

type OptimizerClass = new (...args: never[]) => tfTypes.Optimizer;
const classes = new WeakMap<OptimizerClass, OptimizerClass>();

/** The fused subclass of a stock optimizer class. */
function fusedClass(tf: Tf, Base: OptimizerClass, spec: Spec): OptimizerClass {
  let Fused = classes.get(Base);
  if (!Fused) {
    const stock = Base.prototype.applyGradients;
    // A concrete stock class at run time; typed through the abstract base, hence the casts.
    const Concrete = Base as unknown as new (...args: never[]) => { applyGradients(g: Gradients): void };
    Fused = class extends Concrete {
      override applyGradients(gradients: Gradients): void {
        if (!applyFused(tf, this as unknown as tfTypes.Optimizer, spec, gradients))
          stock.call(this, gradients as never);
      }
    } as unknown as OptimizerClass;
    classes.set(Base, Fused);
  }
  return Fused;
}

/** Whether `fuse` has a fused update for this optimizer (by its serialized class name). */
export const hasFusedUpdate = (optimizer: tfTypes.Optimizer): boolean => optimizer.getClassName() in SPECS;

/**
 * The optimizer with its update fused on wasm (see the top): the same object, its class now
 * the fused subclass of its own. Optimizers without a fused rule are returned as they are.
 */
export function fuse<O extends tfTypes.Optimizer>(tf: Tf, optimizer: O): O {
  const spec = SPECS[optimizer.getClassName()];
  if (!spec) return optimizer;
  Object.setPrototypeOf(optimizer, fusedClass(tf, optimizer.constructor as OptimizerClass, spec).prototype);
  return optimizer;
}
