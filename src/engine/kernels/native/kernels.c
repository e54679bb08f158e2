/*
 * Native builds of the convolution kernels' hottest loops, for x86-64 machines with AVX2 and FMA3: the GEMM-shaped
 * loops of assembly/conv-forward.ts, gemm.ts and conv-filter-grad.ts, and the Winograd F(4x4, 3x3) transforms of
 * assembly/winograd4.ts, on the same operands in the tfjs wasm heap (every pointer a byte offset into the heap's
 * ArrayBuffer, passed with each call).
 *
 * Why native: WebAssembly SIMD is 128 bits wide, and those loops already ran at its fused multiply-add peak
 * (40-51 GFLOP/s a core here); 256-bit vectors do twice the work per instruction. Measured on the model families'
 * shapes at batch 16 (bench/native-loops.ts, best of 40 alternating calls): 94-113 GFLOP/s against 37-51 for the
 * products, 2.0-2.9x in all (see BENCHMARKS.md).
 *
 * Same bits as the relaxed-SIMD wasm build: every output is computed from the same terms with the same operations
 * in the same order, each multiply-add one fused multiply-add (f32x4.relaxed_madd is one on x86 with FMA3), every
 * other operation separate (compiled with -ffp-contract=off); only the width of a tile differs, and a tile never
 * changes the order within one output. Edges as in the wasm loops: the last tile of rows, columns or channels is
 * shifted back to end at the edge, and its overlapping cells are computed twice in the same order, so they get
 * the same bits. test/engine/native-kernels.test.ts compares the two bit for bit.
 *
 * This file is compiled without AVX flags; the kernels carry their own target attribute, and `supported()`
 * asks the CPU (cpuid) before anything calls them. On other architectures only `supported()` exists, and says no.
 */
#include <node_api.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>

#define KERNEL __attribute__((target("avx2,fma")))
#define MR 6 /* rows (output pixels) of a tile: 6 x 2 vectors = 12 accumulators of x86's 16 registers */
#define MIN_COLUMNS 8         /* columns or channels a call needs: one vector of 8 lanes */
#define MIN_FILTER_CHANNELS 6 /* output channels the filter gradient needs (its 16 x 6 tiles) */

static inline int32_t ldi(const uint8_t *m, int32_t p) { return *(const int32_t *)(m + p); }
static inline int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

/* The column vectors of a 2-vector tile: at 0 and 32 bytes, or for 8 <= cols < 16 one tile at 0 and cols - 8. */
typedef struct {
  int32_t second; /* byte offset of the second vector */
  int32_t step;   /* columns from one tile to the next */
  int full;       /* one tile covers every column */
} Columns;

static Columns columns(int32_t cols) {
  Columns c;
  c.full = cols < 16;
  c.second = c.full ? (cols - 8) * 4 : 32;
  c.step = c.full ? cols : 16;
  return c;
}

static inline int32_t tileColumn(Columns c, int32_t j0, int32_t cols) { return c.full ? 0 : min32(j0, cols - 16); }

/* The 6 x 2 accumulators of a tile, zero. An array with literal bounds, which GCC keeps in registers. */
#define TILE_ACCUMULATORS(ACC)                                                                                  \
  __m256 ACC[MR][2];                                                                                            \
  for (int r_ = 0; r_ < MR; r_++) ACC[r_][0] = ACC[r_][1] = _mm256_setzero_ps()

/* ACC[r] += s_r * (V0, V1) for the 6 rows, s_r the float at row pointer P[r] + O broadcast: one step of the sum. */
#define TILE_STEP(ACC, P, O, V0, V1)                                                                            \
  for (int r_ = 0; r_ < MR; r_++) {                                                                             \
    const __m256 s_ = _mm256_broadcast_ss((const float *)((P)[r_] + (O)));                                      \
    ACC[r_][0] = _mm256_fmadd_ps(s_, V0, ACC[r_][0]);                                                           \
    ACC[r_][1] = _mm256_fmadd_ps(s_, V1, ACC[r_][1]);                                                           \
  }

/* relu as the wasm's f32x4.max(z, 0): +0 for -0, and NaN stays NaN (x86's max alone would return 0 for NaN). */
KERNEL static inline __m256 relu8(__m256 z) {
  const __m256 r = _mm256_max_ps(z, _mm256_setzero_ps());
  return _mm256_blendv_ps(r, z, _mm256_cmp_ps(z, z, _CMP_UNORD_Q));
}

/* A row's two accumulators to q and q + second, plus the bias vectors if any, then relu if asked. */
KERNEL static inline void storeRow(uint8_t *q, int32_t second, __m256 v0, __m256 v1, int hasBias, __m256 b0,
                                   __m256 b1, int relu) {
  if (hasBias) {
    v0 = _mm256_add_ps(v0, b0);
    v1 = _mm256_add_ps(v1, b1);
  }
  if (relu) {
    v0 = relu8(v0);
    v1 = relu8(v1);
  }
  _mm256_storeu_ps((float *)q, v0);
  _mm256_storeu_ps((float *)(q + second), v1);
}

/*
 * assembly/conv-forward.ts's convForward, M >= 6 and Cout >= 8:
 *   y[m, co] = bias[co] + sum over kh < fh, j < L of x[base[m] + kh*rowBytes + 4j] * w[(kh*L + j)*Cout + co]
 * then relu if asked; pixel m's outputs at y + m*Cout*4, or at y + ytab[m] when ytab is not 0.
 */
KERNEL static void convForward(uint8_t *mem, int32_t x, int32_t w, int32_t bias, int32_t y, int32_t base, int32_t M,
                               int32_t Cout, int32_t fh, int32_t L, int32_t rowBytes, int32_t relu, int32_t ytab) {
  const Columns cols = columns(Cout);
  const int32_t wRow = Cout * 4;
  for (int32_t i0 = 0; i0 < M; i0 += MR) {
    const int32_t ii = min32(i0, M - MR);
    const uint8_t *p[MR];
    for (int r = 0; r < MR; r++) p[r] = mem + x + ldi(mem, base + (ii + r) * 4);
    for (int32_t j0 = 0; j0 < Cout; j0 += cols.step) {
      const int32_t jj = tileColumn(cols, j0, Cout);
      TILE_ACCUMULATORS(acc);
      const uint8_t *wp = mem + w + jj * 4;
      for (int32_t kh = 0; kh < fh; kh++) {
        const int32_t end = kh * rowBytes + L * 4;
        for (int32_t o = kh * rowBytes; o < end; o += 4) {
          const __m256 w0 = _mm256_loadu_ps((const float *)wp);
          const __m256 w1 = _mm256_loadu_ps((const float *)(wp + cols.second));
          TILE_STEP(acc, p, o, w0, w1);
          wp += wRow;
        }
      }
      __m256 b0 = _mm256_setzero_ps(), b1 = b0;
      if (bias) {
        b0 = _mm256_loadu_ps((const float *)(mem + bias + jj * 4));
        b1 = _mm256_loadu_ps((const float *)(mem + bias + jj * 4 + cols.second));
      }
      for (int r = 0; r < MR; r++) {
        uint8_t *q = ytab == 0 ? mem + y + ((ii + r) * Cout + jj) * 4 : mem + y + ldi(mem, ytab + (ii + r) * 4) + jj * 4;
        storeRow(q, cols.second, acc[r][0], acc[r][1], bias != 0, b0, b1, relu);
      }
    }
  }
}

/*
 * assembly/gemm.ts's gemm, M >= 6 and N >= 8:
 *   C[i, j] = sum over t < K of A(i, t) * B[t, j],  A(i, t) at a + i*sAi + t*sAt, B[t, j] at b + t*sBt + 4j,
 * C row-major [M, N] at c.
 */
KERNEL static void gemm(uint8_t *mem, int32_t a, int32_t sAi, int32_t sAt, int32_t b, int32_t sBt, int32_t c, int32_t M,
                        int32_t N, int32_t K) {
  const Columns cols = columns(N);
  for (int32_t i0 = 0; i0 < M; i0 += MR) {
    const int32_t ii = min32(i0, M - MR);
    for (int32_t j0 = 0; j0 < N; j0 += cols.step) {
      const int32_t jj = tileColumn(cols, j0, N);
      TILE_ACCUMULATORS(acc);
      const uint8_t *p[MR];
      for (int r = 0; r < MR; r++) p[r] = mem + a + (ii + r) * sAi;
      const uint8_t *bp = mem + b + jj * 4;
      int32_t o = 0;
      for (int32_t t = 0; t < K; t++) {
        const __m256 v0 = _mm256_loadu_ps((const float *)bp);
        const __m256 v1 = _mm256_loadu_ps((const float *)(bp + cols.second));
        TILE_STEP(acc, p, o, v0, v1);
        o += sAt;
        bp += sBt;
      }
      for (int r = 0; r < MR; r++)
        storeRow(mem + c + ((ii + r) * N + jj) * 4, cols.second, acc[r][0], acc[r][1], 0, acc[r][0], acc[r][0], 0);
    }
  }
}

/* Pixels per block of the filter gradient: a block's x and dy rows stay in cache while every tile visits it. */
#define BLOCK 128

/* Where a filter-gradient tile of `width` taps starts in a row segment of L taps, and its vector v's tap offset. */
static inline int32_t tapTileStart(int32_t jt, int32_t width, int32_t L) { return L >= width ? min32(jt * width, L - width) : 0; }
static inline int32_t tapVector(int v, int32_t L) { return min32(8 * v, L - 8); }

/*
 * One filter-gradient tile shape, NAME: NV vectors of 8 taps along j x NR output channels (broadcast from dy), NV*NR
 * accumulators. A macro, so that NV and NR are literals: GCC keeps an accumulator array in registers only when its
 * loops have constant bounds before inlining (as a function with constant arguments it kept them in memory).
 * Tiles of a row segment start at tapTileStart (the last shifted back to end at L); a segment narrower than
 * the tile (8 <= L < 8*NV) takes one tile whose vectors sit at tapVector (the last shifted back).
 */
#define FILTER_GRAD_TILES(NAME, NV, NR)                                                                             \
  KERNEL static int NAME(uint8_t *mem, int32_t x, int32_t dy, int32_t dw, int32_t base, int32_t M, int32_t Cout,     \
                         int32_t fh, int32_t L, int32_t rowBytes) {                                                 \
    const int32_t width = 8 * (NV);                                                                                 \
    const int32_t jTiles = L >= width ? (L + width - 1) / width : 1;                                                \
    const int32_t cTiles = (Cout + (NR) - 1) / (NR);                                                                \
    const size_t slotFloats = (size_t)(NR) * width;                                                                 \
    int32_t vo[NV];                                                                                                 \
    for (int v = 0; v < (NV); v++) vo[v] = tapVector(v, L) * 4;                                                     \
    float *scratch = aligned_alloc(32, (size_t)fh * jTiles * cTiles * slotFloats * sizeof(float));                 \
    if (!scratch) return -1;                                                                                        \
    const int32_t cout4 = Cout * 4;                                                                                 \
    for (int32_t m0 = 0; m0 < M; m0 += BLOCK) {                                                                     \
      const int32_t m1 = min32(m0 + BLOCK, M);                                                                      \
      float *slot = scratch;                                                                                        \
      for (int32_t kh = 0; kh < fh; kh++) {                                                                         \
        for (int32_t jt = 0; jt < jTiles; jt++) {                                                                   \
          const int32_t colOff = kh * rowBytes + tapTileStart(jt, width, L) * 4;                                    \
          for (int32_t ct = 0; ct < cTiles; ct++, slot += slotFloats) {                                             \
            const int32_t co = min32(ct * (NR), Cout - (NR));                                                       \
            __m256 a[NR][NV];                                                                                       \
            for (int r = 0; r < (NR); r++)                                                                          \
              for (int v = 0; v < (NV); v++)                                                                        \
                a[r][v] = m0 > 0 ? _mm256_load_ps(slot + (r * (NV) + v) * 8) : _mm256_setzero_ps();                 \
            const uint8_t *d = mem + dy + m0 * cout4 + co * 4;                                                      \
            for (int32_t m = m0; m < m1; m++, d += cout4) {                                                         \
              const uint8_t *xp = mem + x + colOff + ldi(mem, base + m * 4);                                        \
              __m256 xv[NV];                                                                                        \
              for (int v = 0; v < (NV); v++) xv[v] = _mm256_loadu_ps((const float *)(xp + vo[v]));                  \
              for (int r = 0; r < (NR); r++) {                                                                      \
                const __m256 s = _mm256_broadcast_ss((const float *)(d + 4 * r));                                   \
                for (int v = 0; v < (NV); v++) a[r][v] = _mm256_fmadd_ps(s, xv[v], a[r][v]);                        \
              }                                                                                                     \
            }                                                                                                       \
            for (int r = 0; r < (NR); r++)                                                                          \
              for (int v = 0; v < (NV); v++) _mm256_store_ps(slot + (r * (NV) + v) * 8, a[r][v]);                   \
          }                                                                                                         \
        }                                                                                                           \
      }                                                                                                             \
    }                                                                                                               \
    /* Slots to dw[(kh*L + j)*Cout + co]; overlapping tiles write equal values. */                                  \
    const float *slot = scratch;                                                                                    \
    float *out = (float *)(mem + dw);                                                                               \
    for (int32_t kh = 0; kh < fh; kh++)                                                                             \
      for (int32_t jt = 0; jt < jTiles; jt++) {                                                                     \
        const int32_t j = tapTileStart(jt, width, L);                                                               \
        for (int32_t ct = 0; ct < cTiles; ct++, slot += slotFloats) {                                               \
          const int32_t co = min32(ct * (NR), Cout - (NR));                                                         \
          for (int r = 0; r < (NR); r++)                                                                            \
            for (int v = 0; v < (NV); v++)                                                                          \
              for (int lane = 0; lane < 8; lane++)                                                                  \
                out[(kh * L + j + vo[v] / 4 + lane) * Cout + co + r] = slot[(r * (NV) + v) * 8 + lane];             \
        }                                                                                                           \
      }                                                                                                             \
    free(scratch);                                                                                                  \
    return 0;                                                                                                       \
  }

FILTER_GRAD_TILES(filterGrad24x4, 3, 4)
FILTER_GRAD_TILES(filterGrad16x6, 2, 6)

/* Taps x channels a tile shape computes for L taps and Cout channels, overlaps included. */
static int64_t tileWork(int32_t width, int32_t rows, int32_t L, int32_t Cout) {
  const int64_t tapTiles = L >= width ? (L + width - 1) / width : 1;
  return tapTiles * (L >= width ? width : 16) * ((Cout + rows - 1) / rows) * rows;
}

/*
 * assembly/conv-filter-grad.ts's convFilterGradBlocked, L >= 8 and Cout >= 6:
 *   dw[(kh*L + j)*Cout + co] = sum over m < M of dy[m, co] * x[base[m] + kh*rowBytes + 4j]
 * Each tile keeps its running sums in its own slot of a scratch buffer between blocks of pixels (tiles overlap in
 * dw), and the sums run over m in order, so the tile shape changes no bits. Two shapes: 24 taps x 4 channels (3
 * loads and 4 broadcasts per 12 multiply-adds) measured 10-20% faster than 16 taps x 6 channels (2 and 6) where
 * both fit whole (e.g. [4096 pixels, 48 taps, 32 channels] 0.58 against 0.67 ms, [4096, 96, 32] 0.68 against 0.82,
 * best of 40 calls); 16 x 6 takes what 24 x 4 would compute more than 15% more of (rows of 27 taps: 48 against 32)
 * or cannot take (L < 24). Returns 0, or -1 when the scratch could not be allocated (nothing written).
 */
KERNEL static int convFilterGradBlocked(uint8_t *mem, int32_t x, int32_t dy, int32_t dw, int32_t base, int32_t M,
                                        int32_t Cout, int32_t fh, int32_t L, int32_t rowBytes) {
  const int wide = L >= 24 && 100 * tileWork(24, 4, L, Cout) <= 115 * tileWork(16, 6, L, Cout);
  return wide ? filterGrad24x4(mem, x, dy, dw, base, M, Cout, fh, L, rowBytes)
              : filterGrad16x6(mem, x, dy, dw, base, M, Cout, fh, L, rowBytes);
}

/* ---- Winograd F(4x4, 3x3) transforms: assembly/winograd4.ts, 8 channels at a time ---- */
/*
 * Each lane computes the wasm transform's formulas term for term: the wasm madd(acc, a, b) (a*b + acc, fused) is
 * fmadd(a, b, acc) here, and adds, subtractions, products and divisions stay separate (this file is compiled with
 * -ffp-contract=off, so the compiler fuses nothing of its own). The last channel group is shifted back to end at C
 * (C >= 8), as the wasm's 4-channel groups are at C >= 4: overlapping lanes get the same bits.
 */

#define LD(p) _mm256_loadu_ps((const float *)(p))
#define ST(p, v) _mm256_storeu_ps((float *)(p), (v))
#define K(v) _mm256_set1_ps(v)
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define FMA _mm256_fmadd_ps /* FMA(a, b, acc) = a*b + acc, one rounding: the wasm's madd(acc, a, b) */

static inline int32_t tileOrigin(int32_t t, int32_t TH, int32_t TW, int32_t H, int32_t W, int32_t step) {
  const int32_t tw = t % TW, th = (t / TW) % TH, n = t / (TW * TH);
  return (n * H + step * th) * W + step * tw;
}

/* Row i of Bᵀ applied to the 6 values at p, p + s, ..., p + 5s. */
KERNEL static inline __m256 btAt(int i, const uint8_t *p, int32_t s) {
  if (i == 0) return FMA(LD(p + 2 * s), K(-5), FMA(LD(p), K(4), LD(p + 4 * s)));
  if (i == 5) return FMA(LD(p + 3 * s), K(-5), FMA(LD(p + s), K(4), LD(p + 5 * s)));
  const __m256 d1 = LD(p + s), d2 = LD(p + 2 * s), d3 = LD(p + 3 * s), d4 = LD(p + 4 * s);
  if (i == 1) return FMA(ADD(d1, d2), K(-4), ADD(d3, d4));
  if (i == 2) return FMA(SUB(d1, d2), K(4), SUB(d4, d3));
  if (i == 3) return FMA(SUB(d3, d1), K(2), SUB(d4, d2));
  return FMA(SUB(d3, d1), K(-2), SUB(d4, d2));
}

KERNEL static inline void btStore(uint8_t *q, int32_t plane, __m256 e0, __m256 e1, __m256 e2, __m256 e3, __m256 e4,
                                  __m256 e5) {
  ST(q, FMA(e2, K(-5), FMA(e0, K(4), e4)));
  ST(q + plane, FMA(ADD(e1, e2), K(-4), ADD(e3, e4)));
  ST(q + 2 * plane, FMA(SUB(e1, e2), K(4), SUB(e4, e3)));
  const __m256 d42 = SUB(e4, e2), d31 = SUB(e3, e1);
  ST(q + 3 * plane, FMA(d31, K(2), d42));
  ST(q + 4 * plane, FMA(d31, K(-2), d42));
  ST(q + 5 * plane, FMA(e3, K(-5), FMA(e1, K(4), e5)));
}

/* One tile's window at p (rows `row` bytes apart, pixels `px`) to its 36 planes at q, `plane` bytes apart. */
typedef void (*TileTransform)(const uint8_t *p, int32_t row, int32_t px, uint8_t *q, int32_t plane);

/*
 * `transform` on every tile t0..t1-1 of [N, H, W, C] at `in` (tile t's window at 4x its tile position), 8 channels
 * at a time, into row t - t0 of each plane at `out`. Inlined with a constant `transform`, which GCC then inlines too.
 */
KERNEL __attribute__((always_inline)) static inline void eachTile(TileTransform transform, uint8_t *mem, int32_t in,
                                                                  int32_t out, int32_t plane, int32_t H, int32_t W,
                                                                  int32_t C, int32_t TH, int32_t TW, int32_t t0,
                                                                  int32_t t1) {
  const int32_t row = W * C * 4, px = C * 4;
  for (int32_t t = t0; t < t1; t++) {
    const int32_t origin = tileOrigin(t, TH, TW, H, W, 4);
    for (int32_t c0 = 0; c0 < C; c0 += 8) {
      const int32_t c = min32(c0, C - 8);
      transform(mem + in + (origin * C + c) * 4, row, px, mem + out + ((t - t0) * C + c) * 4, plane);
    }
  }
}

/* V = Bᵀ d B of one tile. */
KERNEL __attribute__((always_inline)) static inline void inputTile(const uint8_t *p, int32_t row, int32_t px,
                                                                   uint8_t *q, int32_t plane) {
  for (int i = 0; i < 6; i++)
    btStore(q + 6 * i * plane, plane, btAt(i, p, row), btAt(i, p + px, row), btAt(i, p + 2 * px, row),
            btAt(i, p + 3 * px, row), btAt(i, p + 4 * px, row), btAt(i, p + 5 * px, row));
}

/* winograd4Input(xp, v, plane, Hp, Wp, C, TH, TW, t0, t1), C >= 8. */
KERNEL static void winograd4Input(uint8_t *mem, int32_t xp, int32_t v, int32_t plane, int32_t Hp, int32_t Wp,
                                  int32_t C, int32_t TH, int32_t TW, int32_t t0, int32_t t1) {
  eachTile(inputTile, mem, xp, v, plane, Hp, Wp, C, TH, TW, t0, t1);
}

/* Row i of Aᵀ applied to the 6 values at p, p + s, ..., p + 5s. */
KERNEL static inline __m256 atAt(int i, const uint8_t *p, int32_t s) {
  const __m256 m1 = LD(p + s), m2 = LD(p + 2 * s), m3 = LD(p + 3 * s), m4 = LD(p + 4 * s);
  if (i == 0) return ADD(ADD(LD(p), ADD(m1, m2)), ADD(m3, m4));
  if (i == 1) return FMA(SUB(m3, m4), K(2), SUB(m1, m2));
  if (i == 2) return FMA(ADD(m3, m4), K(4), ADD(m1, m2));
  return ADD(FMA(SUB(m3, m4), K(8), SUB(m1, m2)), LD(p + 5 * s));
}

KERNEL static inline void outStore(uint8_t *p, __m256 v, __m256 bv, int32_t bias, int32_t relu) {
  const __m256 z = bias == 0 ? v : ADD(v, bv);
  ST(p, relu ? relu8(z) : z);
}

/* winograd4Output(m, plane, y, bias, OH, OW, C, TH, TW, t0, t1, relu), C >= 8. */
KERNEL static void winograd4Output(uint8_t *mem, int32_t m, int32_t plane, int32_t y, int32_t bias, int32_t OH,
                                   int32_t OW, int32_t C, int32_t TH, int32_t TW, int32_t t0, int32_t t1,
                                   int32_t relu) {
  const int32_t px = C * 4, rowBytes = OW * C * 4, s = 6 * plane;
  for (int32_t t = t0; t < t1; t++) {
    const int32_t tw = t % TW, th = (t / TW) % TH, n = t / (TW * TH);
    const int32_t oh = 4 * th, ow = 4 * tw;
    const int32_t rows = min32(4, OH - oh), cols = min32(4, OW - ow);
    for (int32_t c0 = 0; c0 < C; c0 += 8) {
      const int32_t c = min32(c0, C - 8);
      const uint8_t *q = mem + m + ((t - t0) * C + c) * 4;
      const __m256 bv = bias == 0 ? _mm256_setzero_ps() : LD(mem + bias + c * 4);
      uint8_t *yp = mem + y + (((n * OH + oh) * OW + ow) * C + c) * 4;
      for (int i = 0; i < rows; i++, yp += rowBytes) {
        const __m256 s0 = atAt(i, q, s), s1 = atAt(i, q + plane, s), s2 = atAt(i, q + 2 * plane, s);
        const __m256 s3 = atAt(i, q + 3 * plane, s), s4 = atAt(i, q + 4 * plane, s), s5 = atAt(i, q + 5 * plane, s);
        const __m256 p12 = ADD(s1, s2), p34 = ADD(s3, s4), m12 = SUB(s1, s2), m34 = SUB(s3, s4);
        outStore(yp, ADD(ADD(s0, p12), p34), bv, bias, relu);
        if (cols > 1) outStore(yp + px, FMA(m34, K(2), m12), bv, bias, relu);
        if (cols > 2) outStore(yp + 2 * px, FMA(p34, K(4), p12), bv, bias, relu);
        if (cols > 3) outStore(yp + 3 * px, ADD(FMA(m34, K(8), m12), s5), bv, bias, relu);
      }
    }
  }
}

/* Row i of A applied to the 4 values at p, p + s, p + 2s, p + 3s. */
KERNEL static inline __m256 aAt(int i, const uint8_t *p, int32_t s) {
  if (i == 0) return LD(p);
  if (i == 5) return LD(p + 3 * s);
  const __m256 d0 = LD(p), d1 = LD(p + s), d2 = LD(p + 2 * s), d3 = LD(p + 3 * s);
  if (i == 1) return ADD(ADD(d0, d2), ADD(d1, d3));
  if (i == 2) return SUB(ADD(d0, d2), ADD(d1, d3));
  if (i == 3) return FMA(FMA(d3, K(4), d1), K(2), FMA(d2, K(4), d0));
  return FMA(FMA(d3, K(4), d1), K(-2), FMA(d2, K(4), d0));
}

KERNEL static inline void aStore(uint8_t *q, int32_t plane, __m256 e0, __m256 e1, __m256 e2, __m256 e3) {
  const __m256 e02 = ADD(e0, e2), e13 = ADD(e1, e3);
  const __m256 f02 = FMA(e2, K(4), e0), f13 = FMA(e3, K(4), e1);
  ST(q, e0);
  ST(q + plane, ADD(e02, e13));
  ST(q + 2 * plane, SUB(e02, e13));
  ST(q + 3 * plane, FMA(f13, K(2), f02));
  ST(q + 4 * plane, FMA(f13, K(-2), f02));
  ST(q + 5 * plane, e3);
}

/* E = A dY Aᵀ of one tile (a 4x4 window of dy). */
KERNEL __attribute__((always_inline)) static inline void gradTile(const uint8_t *p, int32_t row, int32_t px,
                                                                  uint8_t *q, int32_t plane) {
  for (int i = 0; i < 6; i++)
    aStore(q + 6 * i * plane, plane, aAt(i, p, row), aAt(i, p + px, row), aAt(i, p + 2 * px, row),
           aAt(i, p + 3 * px, row));
}

/* winograd4GradInput(dy, e, plane, OHp, OWp, C, TH, TW, t0, t1), C >= 8. */
KERNEL static void winograd4GradInput(uint8_t *mem, int32_t dy, int32_t e, int32_t plane, int32_t OHp, int32_t OWp,
                                      int32_t C, int32_t TH, int32_t TW, int32_t t0, int32_t t1) {
  eachTile(gradTile, mem, dy, e, plane, OHp, OWp, C, TH, TW, t0, t1);
}

/* G applied to one filter column (a, b, c), to q, q + s, ..., q + 5s: separate products and divisions. */
KERNEL static inline void gStore(uint8_t *q, int32_t s, __m256 a, __m256 b, __m256 c) {
  const __m256 ac = ADD(a, c);
  const __m256 a4c = ADD(a, _mm256_mul_ps(K(4), c));
  const __m256 b2 = _mm256_mul_ps(K(2), b);
  ST(q, _mm256_mul_ps(a, K(0.25f)));
  ST(q + s, _mm256_div_ps(ADD(ac, b), K(-6)));
  ST(q + 2 * s, _mm256_div_ps(SUB(ac, b), K(-6)));
  ST(q + 3 * s, _mm256_div_ps(ADD(a4c, b2), K(24)));
  ST(q + 4 * s, _mm256_div_ps(SUB(a4c, b2), K(24)));
  ST(q + 5 * s, c);
}

/* winograd4Filter(g, u, Cin, Cout), Cout >= 8. */
KERNEL static void winograd4Filter(uint8_t *mem, int32_t g, int32_t u, int32_t Cin, int32_t Cout) {
  const int32_t tap = Cin * Cout * 4;
  for (int32_t ci = 0; ci < Cin; ci++) {
    for (int32_t c0 = 0; c0 < Cout; c0 += 8) {
      const int32_t co = min32(c0, Cout - 8);
      const uint8_t *p = mem + g + (ci * Cout + co) * 4;
      uint8_t *out = mem + u + (ci * Cout + co) * 4;
      for (int kw = 0; kw < 3; kw++)
        gStore(out + kw * tap, 6 * tap, LD(p + kw * tap), LD(p + (3 + kw) * tap), LD(p + (6 + kw) * tap));
      for (int i = 0; i < 6; i++) {
        uint8_t *q = out + 6 * i * tap;
        gStore(q, tap, LD(q), LD(q + tap), LD(q + 2 * tap));
      }
    }
  }
}

/* ---- Node-API bindings: fn(heap: ArrayBuffer, ...int32 arguments) ---- */

#define MAX_ARGS 13

/* The heap's bytes and the int32 arguments after it; NULL (with a JS exception pending) on a wrong call. */
static uint8_t *readArgs(napi_env env, napi_callback_info info, size_t want, int32_t *out) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  void *data = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want + 1 ||
      napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "native kernel: expected (ArrayBuffer, ...int32 byte offsets and sizes)");
    return NULL;
  }
  for (size_t i = 0; i < want; i++) {
    if (napi_get_value_int32(env, argv[i + 1], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "native kernel: arguments after the heap must be numbers");
      return NULL;
    }
  }
  return (uint8_t *)data;
}

static napi_value ConvForward(napi_env env, napi_callback_info info) {
  int32_t a[12];
  uint8_t *mem = readArgs(env, info, 12, a);
  if (mem) convForward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  return NULL;
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  int32_t a[9];
  uint8_t *mem = readArgs(env, info, 9, a);
  if (mem) gemm(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
  return NULL;
}

static napi_value ConvFilterGradBlocked(napi_env env, napi_callback_info info) {
  int32_t a[9];
  uint8_t *mem = readArgs(env, info, 9, a);
  if (mem && convFilterGradBlocked(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]) != 0)
    napi_throw_error(env, NULL, "native kernel: out of memory for the filter gradient's scratch");
  return NULL;
}

static napi_value Winograd4Input(napi_env env, napi_callback_info info) {
  int32_t a[10];
  uint8_t *mem = readArgs(env, info, 10, a);
  if (mem) winograd4Input(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
  return NULL;
}

static napi_value Winograd4GradInput(napi_env env, napi_callback_info info) {
  int32_t a[10];
  uint8_t *mem = readArgs(env, info, 10, a);
  if (mem) winograd4GradInput(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
  return NULL;
}

static napi_value Winograd4Output(napi_env env, napi_callback_info info) {
  int32_t a[12];
  uint8_t *mem = readArgs(env, info, 12, a);
  if (mem) winograd4Output(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  return NULL;
}

static napi_value Winograd4Filter(napi_env env, napi_callback_info info) {
  int32_t a[4];
  uint8_t *mem = readArgs(env, info, 4, a);
  if (mem) winograd4Filter(mem, a[0], a[1], a[2], a[3]);
  return NULL;
}

/* Whether this CPU runs the kernels: AVX2 and FMA3. */
static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
  __builtin_cpu_init();
  napi_value result;
  napi_get_boolean(env, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor fns[] = {
      {"supported", NULL, Supported, NULL, NULL, NULL, napi_enumerable, NULL},
      {"convForward", NULL, ConvForward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"convFilterGradBlocked", NULL, ConvFilterGradBlocked, NULL, NULL, NULL, napi_enumerable, NULL},
      {"winograd4Input", NULL, Winograd4Input, NULL, NULL, NULL, napi_enumerable, NULL},
      {"winograd4GradInput", NULL, Winograd4GradInput, NULL, NULL, NULL, napi_enumerable, NULL},
      {"winograd4Output", NULL, Winograd4Output, NULL, NULL, NULL, napi_enumerable, NULL},
      {"winograd4Filter", NULL, Winograd4Filter, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  /* The smallest operands the tiles take (native.ts routes smaller calls to wasm). */
  napi_value limits, v;
  napi_create_object(env, &limits);
  napi_create_int32(env, MR, &v);
  napi_set_named_property(env, limits, "rows", v);
  napi_create_int32(env, MIN_COLUMNS, &v);
  napi_set_named_property(env, limits, "columns", v);
  napi_create_int32(env, MIN_FILTER_CHANNELS, &v);
  napi_set_named_property(env, limits, "filterChannels", v);
  napi_set_named_property(env, exports, "limits", limits);
  return exports;
}

#else /* not x86-64: no kernels; the wasm ones run */

static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, false, &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor fns[] = {{"supported", NULL, Supported, NULL, NULL, NULL, napi_enumerable, NULL}};
  napi_define_properties(env, exports, 1, fns);
  return exports;
}

#endif
