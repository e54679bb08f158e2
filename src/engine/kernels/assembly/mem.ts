// Loads and stores at byte offsets of the imported memory (the tfjs wasm heap, or the shared
// exchange memory). Every pointer in these kernels is an i32 byte offset.

@inline export function ldf(p: i32): f32 { return load<f32>(<usize>p); }
@inline export function stf(p: i32, v: f32): void { store<f32>(<usize>p, v); }
@inline export function ldi(p: i32): i32 { return load<i32>(<usize>p); }
@inline export function sti(p: i32, v: i32): void { store<i32>(<usize>p, v); }
@inline export function ldv(p: i32): v128 { return v128.load(<usize>p); }
@inline export function stv(p: i32, v: v128): void { v128.store(<usize>p, v); }
@inline export function fill0(p: i32, bytes: i32): void { memory.fill(<usize>p, 0, <usize>bytes); }

// acc + a * b on four lanes. In the relaxed-SIMD build (ASC_FEATURE_RELAXED_SIMD, target heapRelaxed)
// one f32x4.relaxed_madd, which V8 lowers to a fused multiply-add on x86 with FMA3 (one rounding
// instead of two, half the instructions of a GEMM tile); otherwise a multiply, then an add.
@inline export function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// The first pixel (an index into [N, H, W]) of tile t's window, tiles numbered t = (n*TH + th)*TW + tw and
// `step` pixels apart: what every Winograd transform reading windows computes per tile.
@inline export function tileOrigin(t: i32, TH: i32, TW: i32, H: i32, W: i32, step: i32): i32 {
  const tw = t % TW;
  const th = (t / TW) % TH;
  const n = t / (TW * TH);
  return (n * H + step * th) * W + step * tw;
}
