import { ldi, sti } from './mem';

// transpose2d(src, dst, rows, cols): dst[c*rows + r] = src[r*cols + c] for 4-byte elements, in
// 16x16 blocks so that both the reads and the writes stay within a few cache lines per block.
// (The stock Transpose kernel computes a multi-dimensional index per element: ~10 ns each,
// 10 ms for a dense layer's 4096x256 weights.)
export function transpose2d(src: i32, dst: i32, rows: i32, cols: i32): void {
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = min(r0 + 16, rows);
    for (let c0 = 0; c0 < cols; c0 += 16) {
      const c1 = min(c0 + 16, cols);
      for (let r = r0; r < r1; r++) {
        let s = src + ((r * cols + c0) << 2);
        let d = dst + ((c0 * rows + r) << 2);
        for (let c = c0; c < c1; c++) {
          sti(d, ldi(s));
          s += 4;
          d += rows << 2;
        }
      }
    }
  }
}
