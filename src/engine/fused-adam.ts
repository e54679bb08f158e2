/**
 * createAdam(): a tf.AdamOptimizer whose update step, on the wasm backend, is one fused kernel
 * per variable (PipelineAdamUpdate, kernels/adam-update.ts) instead of ~13 elementwise
 * kernels; on any other backend (or without our wasm kernels registered) it IS tfjs's Adam.
 *
 * Same state as tfjs's Adam (accBeta1/2, the m and v slots, iterations), so getWeights /
 * setWeights, serialization (className 'Adam') and learning-rate changes behave the same, and
 * the updated values are bit-identical to tf.train.adam's on wasm.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { ADAM_UPDATE_KERNEL, adamScalars, type AdamUpdateAttrs } from './kernels/adam-update';
import { inPlaceHeap, rewritten, scalarOf, setScalarInPlace, soleData, type InPlaceHeap } from './in-place';

type Tf = typeof tfTypes;
/** tfjs-core's NamedTensor and NamedVariableMap (not re-exported by @tensorflow/tfjs). */
interface NamedTensor {
  name: string;
  tensor: tfTypes.Tensor;
}
type NamedVariableMap = Record<string, tfTypes.Variable>;

/** AdamOptimizer's private state, which this subclass updates exactly as the base class does. */
interface AdamState {
  accBeta1: tfTypes.Variable;
  accBeta2: tfTypes.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tfTypes.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tfTypes.Variable } | undefined>;
}

type AdamClass = new (learningRate: number, beta1: number, beta2: number, epsilon?: number) => tfTypes.AdamOptimizer;
const classes = new WeakMap<Tf, AdamClass>();

function fusedAdamClass(tf: Tf): AdamClass {
  const existing = classes.get(tf);
  if (existing) return existing;
  class FusedAdam extends tf.AdamOptimizer {
    override applyGradients(variableGradients: NamedVariableMap | NamedTensor[]): void {
      const names = Array.isArray(variableGradients)
        ? variableGradients.map((v) => v.name)
        : Object.keys(variableGradients);
      const gradientOf = (name: string, i: number): tfTypes.Tensor | undefined =>
        Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      const fused =
        tf.getBackend() === 'wasm' &&
        tf.getKernel(ADAM_UPDATE_KERNEL, 'wasm') !== undefined &&
        names.every((name, i) => (gradientOf(name, i)?.dtype ?? 'float32') === 'float32');
      if (!fused) {
        super.applyGradients(variableGradients);
        return;
      }
      const state = this as unknown as AdamState;
      const heap = inPlaceHeap(tf);
      // float32(1 - accBeta), as tfjs's sub(1, accBeta) computes it.
      const c1 = Math.fround(1 - scalarOf(heap, state.accBeta1));
      const c2 = Math.fround(1 - scalarOf(heap, state.accBeta2));
      const attrs: AdamUpdateAttrs = {
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        learningRate: this.learningRate,
        c1,
        c2,
      };
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        state.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = gradientOf(name, i);
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable;
        const v = state.accumulatedSecondMoment[i]!.variable;
        if (!updateInPlace(heap, attrs, value, m, v, gradient)) updateByKernel(tf, attrs, value, m, v, gradient);
      });
      // accBeta *= beta in float32, as tfjs's mul(accBeta, beta) computes it.
      for (const [acc, beta] of [
        [state.accBeta1, this.beta1],
        [state.accBeta2, this.beta2],
      ] as const) {
        if (!setScalarInPlace(heap, acc, Math.fround(scalarOf(heap, acc) * Math.fround(beta))))
          tf.tidy(() => acc.assign(tf.mul(acc, beta)));
      }
      this.incrementIterations();
    }
  }
  classes.set(tf, FusedAdam);
  return FusedAdam;
}

/**
 * One variable's update written over its own data and its slots' (x, m, v each the sole owner
 * of its data, see in-place.ts): the same loop as the kernel, no new tensors, no engine call.
 */
function updateInPlace(
  heap: InPlaceHeap | undefined,
  a: AdamUpdateAttrs,
  x: tfTypes.Variable,
  m: tfTypes.Variable,
  v: tfTypes.Variable,
  g: tfTypes.Tensor,
): boolean {
  // A slot of another size is another variable's (a gradient map in another order): never write past it.
  if (!heap || g.dtype !== 'float32' || g.size !== x.size || m.size !== x.size || v.size !== x.size) return false;
  const [px, pm, pv] = [x, m, v].map((t) => soleData(heap, t));
  const pg = heap.backend.dataIdMap.get(g.dataId)?.memoryOffset;
  if (px === undefined || pm === undefined || pv === undefined || pg == null) return false;
  heap.loops.adamUpdate(px, pm, pv, pg, px, pm, pv, x.size, ...adamScalars(a));
  for (const t of [x, m, v]) rewritten(heap, t);
  return true;
}

/** The update through the engine: the kernel makes x', m', v', assigned to the variables. */
function updateByKernel(
  tf: Tf,
  attrs: AdamUpdateAttrs,
  value: tfTypes.Variable,
  m: tfTypes.Variable,
  v: tfTypes.Variable,
  gradient: tfTypes.Tensor,
): void {
  tf.tidy(() => {
    const [x2, m2, v2] = tf
      .engine()
      .runKernel(
        ADAM_UPDATE_KERNEL,
        { x: value, m, v, g: gradient },
        attrs as unknown as tfTypes.NamedAttrMap,
      ) as tfTypes.Tensor[];
    m.assign(m2);
    v.assign(v2);
    value.assign(x2);
  });
}

/** Like tf.train.adam(learningRate, beta1, beta2, epsilon), with the fused update on wasm. */
export function createAdam(
  tf: Tf,
  learningRate = 0.001,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon?: number,
): tfTypes.AdamOptimizer {
  const Adam = fusedAdamClass(tf);
  return new Adam(learningRate, beta1, beta2, epsilon);
}
