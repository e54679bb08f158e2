import type { TensorInfo } from '../kernels/wasm-internals';
import type { CallScope } from './call-scope';

/**
 * A dilated convolution's gradients through the undilated kernels: a convolution with filter
 * taps spaced (dh, dw) apart is the convolution with the "spread" filter of size
 * ((kh-1)*dh + 1, (kw-1)*dw + 1) that holds the taps at multiples of the dilation and zeros
 * between (same output size, same 'same' padding: tfjs pads by the effective filter size).
 * So its input gradient is Conv2DBackpropInput with the spread filter, and its filter
 * gradient is Conv2DBackpropFilter for the spread shape read back at the taps. (tfjs 4.22
 * itself has no gradient for dilated convolutions.)
 */

/** The spread filter [kh', kw', ci, co] of a [kh, kw, ci, co] filter (a new tensor of this call). */
export function spreadFilter(scope: CallScope, filter: TensorInfo, d: [number, number]): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const out = scope.alloc([(kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1, ci, co]);
  const cell = ci * co;
  // Views after the allocation (it may grow the heap).
  const [src, dst] = [scope.heapF32(filter), scope.heapF32(out)];
  dst.fill(0);
  for (let r = 0; r < kh; r++)
    for (let c = 0; c < kw; c++)
      dst.set(src.subarray((r * kw + c) * cell, (r * kw + c + 1) * cell), (r * d[0] * out.shape[1] + c * d[1]) * cell);
  return out;
}

/** The taps of a spread filter's gradient: [kh, kw, ci, co] (a new tensor of this call). */
export function gatherTaps(scope: CallScope, spread: TensorInfo, d: [number, number], shape: number[]): TensorInfo {
  const [kh, kw, ci, co] = shape;
  const out = scope.alloc(shape);
  const cell = ci * co;
  const [src, dst] = [scope.heapF32(spread), scope.heapF32(out)];
  for (let r = 0; r < kh; r++)
    for (let c = 0; c < kw; c++) {
      const from = (r * d[0] * spread.shape[1] + c * d[1]) * cell;
      dst.set(src.subarray(from, from + cell), (r * kw + c) * cell);
    }
  return out;
}
