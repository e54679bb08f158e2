/**
 * The input gradient of a strided convolution as stride-1 convolutions, one per output phase, each
 * run by the implicit-GEMM kernel (assembly/conv-forward.ts) writing straight into dx: no patch
 * gradient buffer, no col2im scatter.
 *
 * Why this is right: along one axis (input size H, dy size O, filter k, stride s, top padding p),
 *   dx[h] = sum over taps i with (h + p - i) divisible by s of dy[(h + p - i) / s] * W[i]
 * (dy outside [0, O) read as 0). The taps that reach h depend only on its phase r = h mod s:
 * i = i0 + s*t (t < T) with i0 = (r + p) mod s, T = ceil((k - i0) / s), and for h = s*a + r
 *   dx[s*a + r] = sum_t dy[a + d - t] * W[i0 + s*t],  d = (r + p - i0) / s,
 * a stride-1 correlation of dy with the sub-filter W'[t'] = W[i0 + s*(T-1-t')] read from dy row
 * a + d - (T-1). Over both axes, the (rh, rw) phase is a convolution of dy (zero-padded once for
 * every phase) with the [Th, Tw, Cout, Cin] sub-filter (in and out channels swapped), whose output
 * pixel (n, a, b) is dx pixel (n, s*a + rh, s*b + rw): the kernel's output table says where.
 * Every dx pixel is in one phase, so dx is written whole. Each pixel's sum runs over its taps and
 * channels in the same order whatever the batch.
 */
import { padSpatial, tileFor } from './conv2d-forward';
import { loopsOf } from './heap-loops';
import { f32, ptr, type TensorInfo, type tfTypes, type WasmBackendInternals } from './wasm-internals';

type ConvInfo = tfTypes.backend_util.Conv2DInfo;

/** One phase along one axis: dx positions s*a + r (a < count) from taps i0, i0 + s, ... (taps of them). */
interface AxisPhase {
  r: number;
  i0: number;
  taps: number;
  count: number;
  /** First dy row (column) the phase reads for a = 0, in the padded dy. */
  start: number;
}

/** An axis's phases and the zero padding of dy they need, or null if a phase has no tap or no pixel. */
function axisPhases(inSize: number, outSize: number, k: number, s: number, pad: number) {
  const raw = [];
  for (let r = 0; r < s; r++) {
    const i0 = (r + pad) % s;
    const taps = i0 < k ? Math.ceil((k - i0) / s) : 0;
    const count = Math.ceil((inSize - r) / s);
    if (taps === 0 || count <= 0) return null;
    raw.push({ r, i0, taps, count, first: (r + pad - i0) / s - (taps - 1) });
  }
  const before = Math.max(0, ...raw.map((p) => -p.first));
  const after = Math.max(0, ...raw.map((p) => p.first + p.count + p.taps - 1 - outSize));
  const phases: AxisPhase[] = raw.map(({ first, ...p }) => ({ ...p, start: first + before }));
  return { phases, before, after };
}

/** The phases of a strided input gradient, or null where some phase is empty or below one tile per image. */
export function phasesOf(info: ConvInfo) {
  const rows = axisPhases(info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, info.padInfo.top);
  const cols = axisPhases(info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, info.padInfo.left);
  if (!rows || !cols) return null;
  if (rows.phases.some((p) => cols.phases.some((q) => p.count * q.count < 4))) return null;
  return { rows, cols };
}

/** The sub-filters of every phase, one after another ([Th, Tw, Cout, Cin] each), and their float offsets. */
function subFilters(
  backend: WasmBackendInternals,
  filter: TensorInfo,
  info: ConvInfo,
  rows: AxisPhase[],
  cols: AxisPhase[],
) {
  const { filterWidth: kw, inChannels: cin, outChannels: cout, strideHeight: sh, strideWidth: sw } = info;
  const sub = backend.makeOutput([info.filterHeight * kw * cin * cout], 'float32');
  const w = f32(backend, filter);
  const out = f32(backend, sub);
  const offsets: number[] = [];
  let dst = 0;
  for (const p of rows) {
    for (const q of cols) {
      offsets.push(dst);
      for (let th = 0; th < p.taps; th++) {
        for (let tw = 0; tw < q.taps; tw++) {
          const src = ((p.i0 + sh * (p.taps - 1 - th)) * kw + q.i0 + sw * (q.taps - 1 - tw)) * cin * cout;
          for (let co = 0; co < cout; co++) {
            for (let ci = 0; ci < cin; ci++) out[dst + ci] = w[src + ci * cout + co];
            dst += cin;
          }
        }
      }
    }
  }
  return { sub, offsets };
}

/** dx of a strided convolution (phasesOf(info) not null; Cin >= 4), NHWC float32. */
export function phaseInputGradient(
  backend: WasmBackendInternals,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ConvInfo,
): TensorInfo {
  const phases = phasesOf(info);
  if (!phases) throw new Error(`phaseInputGradient: a phase below one tile for ${info.inShape}`);
  const { rows, cols } = phases;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout } = info;
  const dyp = padSpatial(backend, dy, [rows.before, rows.after, cols.before, cols.after]);
  const [, hp, wp] = dyp.shape;
  const { sub, offsets } = subFilters(backend, filter, info, rows.phases, cols.phases);
  const most = n * rows.phases[0].count * cols.phases[0].count;
  const base = backend.makeOutput([most], 'int32');
  const ytab = backend.makeOutput([most], 'int32');
  const dx = backend.makeOutput(info.inShape, 'float32');
  const loops = loopsOf(backend);
  const tile = tileFor(loops, cin);
  let phase = 0;
  for (const p of rows.phases) {
    for (const q of cols.phases) {
      loops.convBaseTable(ptr(backend, base), n, p.count, q.count, hp, wp, cout, 1, 1);
      loops.convBaseTable(ptr(backend, ytab), n, p.count, q.count, h, w, cin, info.strideHeight, info.strideWidth);
      tile(
        ptr(backend, dyp) + (p.start * wp + q.start) * cout * 4,
        ptr(backend, sub) + offsets[phase++] * 4,
        0,
        ptr(backend, dx) + (p.r * w + q.r) * cin * 4,
        ptr(backend, base),
        n * p.count * q.count,
        cin,
        p.taps,
        q.taps * cout,
        wp * cout * 4,
        0,
        ptr(backend, ytab),
      );
    }
  }
  for (const t of [sub, base, ytab, ...(dyp === dy ? [] : [dyp])]) backend.disposeData(t.dataId);
  return dx;
}
