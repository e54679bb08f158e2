/** Shape arithmetic shared by layer entries. Shapes exclude the batch dimension (NHWC: [h, w, c]). */
export type Shape = readonly number[];

export function pair(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Output length of a sliding window, as TensorFlow computes it (conv_utils.convOutputLength). */
export function windowOutput(
  length: number,
  window: number,
  stride: number,
  padding: 'valid' | 'same',
  dilation = 1,
): number {
  const dilated = window + (window - 1) * (dilation - 1);
  return padding === 'same' ? Math.ceil(length / stride) : Math.floor((length - dilated) / stride) + 1;
}

/** Thrown by an entry's shape rule; the semantic stage turns it into a located diagnostic. */
export class ShapeError extends Error {
  constructor(
    message: string,
    /** The key under the layer that caused it (`units`, `kernelSize`), when one did. */
    readonly key?: string,
  ) {
    super(message);
  }
}

export function requireRank(input: Shape, rank: number, layer: string): void {
  if (input.length !== rank) {
    const hint =
      rank === 3
        ? ' (it needs an image-shaped input [height, width, channels]; is there a flatten or dense layer before it?)'
        : '';
    throw new ShapeError(`${layer} expects an input of rank ${rank}, got shape [${input.join(', ')}]${hint}`);
  }
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** A merge layer's inputs do not fit together; `pair` names the two inputs (by position) that disagree. */
export class MergeShapeError extends ShapeError {
  constructor(
    message: string,
    readonly pair: readonly [number, number],
    key?: string,
  ) {
    super(message, key);
  }
}
