import type * as tfjs from '@tensorflow/tfjs';

export type TF = typeof tfjs;

/** One batch as the data pipeline yields it: x is size*h*w*c float32 NHWC, y holds class indices. */
export interface Batch {
  x: Float32Array;
  y: Uint8Array;
  size: number;
}
