import type { TensorInfo } from '../kernels/wasm-internals';
import { size, type CallScope } from './call-scope';

/**
 * Every activation tfjs-layers 4.22 has, as one wasm loop forward and one fused loop backward
 * (kernels/assembly/activation-kinds.ts), for the direct step: after a convolution or dense
 * layer (in place on its output where the gradient needs only the output) and as an activation
 * layer. The forward formulas are tfjs's own (its constants), so a model trained here computes
 * what stock tfjs computes when it loads the saved model.
 *
 */
/** Each element-wise activation's pair of loops: `${loop}Forward` and `${loop}Grad` (linear needs none). */
const LOOPS = {
  linear: '',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  selu: 'selu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  hardSigmoid: 'hardSigmoid',
  softplus: 'softplus',
  softsign: 'softsign',
  swish: 'swish',
  mish: 'mish',
  gelu: 'gelu',
  gelu_new: 'geluNew',
} as const;

/** The element-wise activations' loop names (without linear), for benchmarks that call the loops themselves. */
export const ACTIVATION_LOOPS: readonly string[] = Object.values(LOOPS).filter((loop) => loop !== '');

/** An activation of the direct step: the element-wise ones and softmax over the last axis. */
export type ActivationName = keyof typeof LOOPS | 'softmax';

export const isDirectActivation = (name: string): name is ActivationName => name === 'softmax' || name in LOOPS;

/** The activations whose gradient is taken at the input (the others' at the output, so they may run in place). */
const FROM_INPUT: ReadonlySet<ActivationName> = new Set([
  'hardSigmoid',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
]);
export const gradNeedsInput = (a: ActivationName): boolean => FROM_INPUT.has(a);

type Loops = Record<string, (...args: number[]) => void>;
const loopsOf = (scope: CallScope) => scope.loops() as unknown as Loops;

/** [rows, last axis] of a tensor, for softmax. */
const rowsCols = (t: TensorInfo): [number, number] => {
  const cols = t.shape[t.shape.length - 1];
  return [size(t.shape) / cols, cols];
};

/** a(x): into x itself when `inPlace` (x must be this call's and read by nothing else), else into a new tensor. */
export function activationForward(scope: CallScope, a: ActivationName, x: TensorInfo, inPlace: boolean): TensorInfo {
  if (a === 'linear') return x;
  const y = inPlace ? x : scope.alloc(x.shape);
  const { ptr } = scope;
  if (a === 'softmax') loopsOf(scope).softmaxRows(ptr(x), ptr(y), ...rowsCols(x));
  else loopsOf(scope)[`${LOOPS[a]}Forward`](ptr(x), ptr(y), size(x.shape));
  return y;
}

/**
 * dy * a'(x) into a new tensor (dy may be read by other nodes); `x` (the input) is needed where
 * gradNeedsInput(a), `y` (the output) otherwise.
 */
export function activationBackward(
  scope: CallScope,
  a: ActivationName,
  dy: TensorInfo,
  x: TensorInfo | undefined,
  y: TensorInfo,
): TensorInfo {
  if (a === 'linear') return dy;
  if (gradNeedsInput(a) && !x) throw new Error(`direct step: the ${a} gradient needs the activation's input`);
  const dx = scope.alloc(dy.shape);
  const { ptr } = scope;
  if (a === 'softmax') loopsOf(scope).softmaxRowsGrad(ptr(dy), ptr(y), ptr(dx), ...rowsCols(dy));
  else loopsOf(scope)[`${LOOPS[a]}Grad`](ptr(dy), ptr(x ?? y), ptr(y), ptr(dx), size(dy.shape));
  return dx;
}
