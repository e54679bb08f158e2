/*
 * The GEMM-shaped inner loops of the convolution kernels in 8-lane AVX2 fused multiply-adds, for x86-64 machines
 * that have them: the same products as assembly/conv-forward.ts, gemm.ts and conv-filter-grad.ts, on the same
 * operands in the tfjs wasm heap (every pointer a byte offset into the heap's ArrayBuffer, passed with each call).
 *
 * Why native: WebAssembly SIMD is 128 bits wide, and those kernels already run at its fused multiply-add peak
 * (40-46 GFLOP/s a core here); 256-bit vectors double what one instruction does. Measured on this project's
 * family shapes: 77-92 GFLOP/s against 23-34 for the wasm kernels (see BENCHMARKS.md).
 *
 * Same bits as the relaxed-SIMD wasm build: every output is one sequential sum in float32, from 0, over the same
 * terms in the same order, each step one fused multiply-add (f32x4.relaxed_madd is one on x86 with FMA3); only
 * the width of a tile differs, and tiles never change the order within one output. Edges as in the wasm
 * kernels: the last tile of rows or columns is shifted back to end at the edge, and its overlapping cells are
 * computed twice in the same order, so they get the same bits.
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

#define ZERO12                                                                                                   \
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00, \
         a40 = a00, a41 = a00, a50 = a00, a51 = a00
/* acc_r += s_r * (v0, v1) for the 6 rows, s_r the float at row pointer p_r + o broadcast. */
#define MADD12(P, O, V0, V1)                                                                                     \
  do {                                                                                                           \
    __m256 s;                                                                                                    \
    s = _mm256_broadcast_ss((const float *)((P)[0] + (O)));                                                      \
    a00 = _mm256_fmadd_ps(s, V0, a00);                                                                           \
    a01 = _mm256_fmadd_ps(s, V1, a01);                                                                           \
    s = _mm256_broadcast_ss((const float *)((P)[1] + (O)));                                                      \
    a10 = _mm256_fmadd_ps(s, V0, a10);                                                                           \
    a11 = _mm256_fmadd_ps(s, V1, a11);                                                                           \
    s = _mm256_broadcast_ss((const float *)((P)[2] + (O)));                                                      \
    a20 = _mm256_fmadd_ps(s, V0, a20);                                                                           \
    a21 = _mm256_fmadd_ps(s, V1, a21);                                                                           \
    s = _mm256_broadcast_ss((const float *)((P)[3] + (O)));                                                      \
    a30 = _mm256_fmadd_ps(s, V0, a30);                                                                           \
    a31 = _mm256_fmadd_ps(s, V1, a31);                                                                           \
    s = _mm256_broadcast_ss((const float *)((P)[4] + (O)));                                                      \
    a40 = _mm256_fmadd_ps(s, V0, a40);                                                                           \
    a41 = _mm256_fmadd_ps(s, V1, a41);                                                                           \
    s = _mm256_broadcast_ss((const float *)((P)[5] + (O)));                                                      \
    a50 = _mm256_fmadd_ps(s, V0, a50);                                                                           \
    a51 = _mm256_fmadd_ps(s, V1, a51);                                                                           \
  } while (0)

/* A row's two accumulators to q and q + second, plus the bias vectors if any, then relu if asked. */
KERNEL static inline void storeRow(uint8_t *q, int32_t second, __m256 v0, __m256 v1, int hasBias, __m256 b0,
                                   __m256 b1, int relu) {
  if (hasBias) {
    v0 = _mm256_add_ps(v0, b0);
    v1 = _mm256_add_ps(v1, b1);
  }
  if (relu) {
    v0 = _mm256_max_ps(v0, _mm256_setzero_ps());
    v1 = _mm256_max_ps(v1, _mm256_setzero_ps());
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
      ZERO12;
      const uint8_t *wp = mem + w + jj * 4;
      for (int32_t kh = 0; kh < fh; kh++) {
        const int32_t end = kh * rowBytes + L * 4;
        for (int32_t o = kh * rowBytes; o < end; o += 4) {
          const __m256 w0 = _mm256_loadu_ps((const float *)wp);
          const __m256 w1 = _mm256_loadu_ps((const float *)(wp + cols.second));
          MADD12(p, o, w0, w1);
          wp += wRow;
        }
      }
      __m256 b0 = _mm256_setzero_ps(), b1 = b0;
      if (bias) {
        b0 = _mm256_loadu_ps((const float *)(mem + bias + jj * 4));
        b1 = _mm256_loadu_ps((const float *)(mem + bias + jj * 4 + cols.second));
      }
      const __m256 acc[MR][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
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
      ZERO12;
      const uint8_t *p[MR];
      for (int r = 0; r < MR; r++) p[r] = mem + a + (ii + r) * sAi;
      const uint8_t *bp = mem + b + jj * 4;
      int32_t o = 0;
      for (int32_t t = 0; t < K; t++) {
        const __m256 v0 = _mm256_loadu_ps((const float *)bp);
        const __m256 v1 = _mm256_loadu_ps((const float *)(bp + cols.second));
        MADD12(p, o, v0, v1);
        o += sAt;
        bp += sBt;
      }
      const __m256 acc[MR][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
      for (int r = 0; r < MR; r++)
        storeRow(mem + c + ((ii + r) * N + jj) * 4, cols.second, acc[r][0], acc[r][1], 0, acc[r][0], acc[r][0], 0);
    }
  }
}

/* Pixels per block of the filter gradient: a block's x and dy rows stay in cache while every tile visits it. */
#define BLOCK 128
#define FG_ROWS 6 /* output channels of a filter-gradient tile, against 16 taps (2 vectors) */

/*
 * assembly/conv-filter-grad.ts's convFilterGradBlocked, L >= 8 and Cout >= 6:
 *   dw[(kh*L + j)*Cout + co] = sum over m < M of dy[m, co] * x[base[m] + kh*rowBytes + 4j]
 * Tiles of 16 taps (two vectors along j) x 6 output channels (broadcast from dy); each tile keeps its running sums
 * in its own slot of a scratch buffer between blocks (tiles overlap in dw), and the sums run over m in order.
 * Returns 0, or -1 when the scratch could not be allocated (nothing written).
 */
KERNEL static int convFilterGradBlocked(uint8_t *mem, int32_t x, int32_t dy, int32_t dw, int32_t base, int32_t M,
                                        int32_t Cout, int32_t fh, int32_t L, int32_t rowBytes) {
  const Columns taps = columns(L);
  const int32_t jTiles = (L + taps.step - 1) / taps.step;
  const int32_t cTiles = (Cout + FG_ROWS - 1) / FG_ROWS;
  const size_t slotFloats = FG_ROWS * 16;
  float *scratch = aligned_alloc(32, (size_t)fh * jTiles * cTiles * slotFloats * sizeof(float));
  if (!scratch) return -1;
  const int32_t cout4 = Cout * 4;
  for (int32_t m0 = 0; m0 < M; m0 += BLOCK) {
    const int32_t m1 = min32(m0 + BLOCK, M);
    float *slot = scratch;
    for (int32_t kh = 0; kh < fh; kh++) {
      for (int32_t jt = 0; jt < jTiles; jt++) {
        const int32_t colOff = kh * rowBytes + tileColumn(taps, jt * taps.step, L) * 4;
        for (int32_t ct = 0; ct < cTiles; ct++, slot += slotFloats) {
          const int32_t co = min32(ct * FG_ROWS, Cout - FG_ROWS);
          ZERO12;
          if (m0 > 0) {
            a00 = _mm256_load_ps(slot), a01 = _mm256_load_ps(slot + 8), a10 = _mm256_load_ps(slot + 16);
            a11 = _mm256_load_ps(slot + 24), a20 = _mm256_load_ps(slot + 32), a21 = _mm256_load_ps(slot + 40);
            a30 = _mm256_load_ps(slot + 48), a31 = _mm256_load_ps(slot + 56), a40 = _mm256_load_ps(slot + 64);
            a41 = _mm256_load_ps(slot + 72), a50 = _mm256_load_ps(slot + 80), a51 = _mm256_load_ps(slot + 88);
          }
          const uint8_t *d = mem + dy + m0 * cout4 + co * 4;
          /* dy's 6 channels of pixel m are 6 consecutive floats: the "rows" of MADD12, at d + 4r. */
          const uint8_t *p[MR] = {d, d + 4, d + 8, d + 12, d + 16, d + 20};
          for (int32_t m = m0; m < m1; m++) {
            const uint8_t *xp = mem + x + colOff + ldi(mem, base + m * 4);
            const __m256 v0 = _mm256_loadu_ps((const float *)xp);
            const __m256 v1 = _mm256_loadu_ps((const float *)(xp + taps.second));
            const int32_t o = (m - m0) * cout4;
            MADD12(p, o, v0, v1);
          }
          _mm256_store_ps(slot, a00), _mm256_store_ps(slot + 8, a01), _mm256_store_ps(slot + 16, a10);
          _mm256_store_ps(slot + 24, a11), _mm256_store_ps(slot + 32, a20), _mm256_store_ps(slot + 40, a21);
          _mm256_store_ps(slot + 48, a30), _mm256_store_ps(slot + 56, a31), _mm256_store_ps(slot + 64, a40);
          _mm256_store_ps(slot + 72, a41), _mm256_store_ps(slot + 80, a50), _mm256_store_ps(slot + 88, a51);
        }
      }
    }
  }
  /* Slots to dw[(kh*L + j)*Cout + co]; overlapping tiles write equal values. */
  const float *slot = scratch;
  float *out = (float *)(mem + dw);
  for (int32_t kh = 0; kh < fh; kh++) {
    for (int32_t jt = 0; jt < jTiles; jt++) {
      const int32_t j = tileColumn(taps, jt * taps.step, L);
      for (int32_t ct = 0; ct < cTiles; ct++, slot += slotFloats) {
        const int32_t co = min32(ct * FG_ROWS, Cout - FG_ROWS);
        for (int r = 0; r < FG_ROWS; r++) {
          for (int v = 0; v < 2; v++) {
            const int32_t j0 = j + (v == 0 ? 0 : taps.second / 4);
            for (int lane = 0; lane < 8; lane++)
              out[(kh * L + j0 + lane) * Cout + co + r] = slot[(r * 2 + v) * 8 + lane];
          }
        }
      }
    }
  }
  free(scratch);
  return 0;
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
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
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
