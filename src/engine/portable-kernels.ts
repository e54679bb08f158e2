/**
 * Kernels for the wasm backend written against tfjs's public backend interface only
 * (readSync, write): registered when the engine is off (start.ts) because the installed
 * tfjs is not the one the engine was built for, so that stock autograd can still train.
 *
 *   Conv2DBackpropFilter: tfjs-backend-wasm 4.22 has none (every conv2d gradient threw);
 *     registered only where the backend still lacks it.
 *   MaxPoolGrad: the 4.22 stock kernel misroutes windows whose max is <= 0; this one is the
 *     cpu backend's rule (first strictly greater value from -Infinity), whatever the version.
 *
 * Plain JS loops over copies of the data: slow, but correct on any backend layout.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { markOurs } from './kernels/stock-kernels';
import type { TF } from './types';

type Info = tfjs.TensorInfo;
interface PublicBackend {
  readSync(dataId: object): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): object;
}
interface Args<I> {
  inputs: I;
  backend: unknown;
  attrs: Record<string, unknown>;
}

const floats = (b: PublicBackend, t: Info) => Float32Array.from(b.readSync(t.dataId) as ArrayLike<number>);
const output = (b: PublicBackend, values: Float32Array, shape: number[]): Info => ({
  dataId: b.write(values, shape, 'float32'),
  shape,
  dtype: 'float32',
});

function conv2dBackpropFilter(tf: TF) {
  return (args: Args<{ x: Info; dy: Info }>): Info => {
    const b = args.backend as PublicBackend;
    const a = args.attrs as unknown as tfjs.Conv2DBackpropFilterAttrs;
    const info = tf.backend_util.computeConv2DInfo(
      args.inputs.x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(a.dataFormat),
    );
    if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter (portable): only NHWC');
    const x = floats(b, args.inputs.x);
    const dy = floats(b, args.inputs.dy);
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
    const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
    const dw = new Float32Array(FH * FW * C * CO);
    for (let kh = 0; kh < FH; kh++)
      for (let kw = 0; kw < FW; kw++)
        for (let ci = 0; ci < C; ci++) {
          const row = ((kh * FW + kw) * C + ci) * CO;
          for (let n = 0; n < N; n++)
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * SH + kh - info.padInfo.top;
              if (ih < 0 || ih >= H) continue;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * SW + kw - info.padInfo.left;
                if (iw < 0 || iw >= W) continue;
                const xv = x[((n * H + ih) * W + iw) * C + ci];
                const d = ((n * OH + oh) * OW + ow) * CO;
                for (let co = 0; co < CO; co++) dw[row + co] += xv * dy[d + co];
              }
            }
        }
    return output(b, dw, info.filterShape);
  };
}

function maxPoolGrad(tf: TF) {
  return (args: Args<{ dy: Info; input: Info }>): Info => {
    const b = args.backend as PublicBackend;
    const a = args.attrs as unknown as tfjs.MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      args.inputs.input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const x = floats(b, args.inputs.input);
    const dy = floats(b, args.inputs.dy);
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const dx = new Float32Array(x.length);
    for (let n = 0; n < N; n++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let c = 0; c < C; c++) {
            let best = -Infinity;
            let at = -1;
            const r0 = oh * info.strideHeight - info.padInfo.top;
            const c0 = ow * info.strideWidth - info.padInfo.left;
            for (let r = Math.max(r0, 0); r < Math.min(r0 + info.effectiveFilterHeight, H); r++) {
              for (let q = Math.max(c0, 0); q < Math.min(c0 + info.effectiveFilterWidth, W); q++) {
                const i = ((n * H + r) * W + q) * C + c;
                if (x[i] > best) {
                  best = x[i];
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at] += dy[((n * OH + oh) * OW + ow) * C + c];
          }
    return output(b, dx, info.inShape);
  };
}

/** Registers the portable kernels for wasm (see the top); returns their names. */
export function registerPortableKernels(tf: TF): string[] {
  const kernels: Array<[string, (tf: TF) => (args: never) => Info, boolean]> = [
    ['Conv2DBackpropFilter', conv2dBackpropFilter, tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined],
    ['MaxPoolGrad', maxPoolGrad, true],
  ];
  const registered: string[] = [];
  for (const [kernelName, make, wanted] of kernels) {
    if (!wanted) continue;
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    const kernelFunc = make(tf) as unknown as tfjs.KernelFunc;
    // Never captured as a stock kernel if the engine starts in full later in this thread.
    markOurs(kernelFunc);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    registered.push(kernelName);
  }
  return registered;
}
