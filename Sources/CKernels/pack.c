// Packing a transposed f32 B operand (a Linear weight [n][k]) into the GEMM micro-kernel's
// column panels (see include/CKernels.h): 8 × 8 blocks are transposed in registers, so the
// weight is read in whole cache lines and the panel written sequentially. A pure copy: results
// are bit-identical to an element-by-element loop.
#include "CKernels.h"

#if defined(__AVX__)
#include <immintrin.h>

/// Rows r[0..7] at [p, p + 8) → out[(p + i) · stride + j] = r[j][p + i] for i, j < 8.
static inline void transpose8x8(const float *const *r, int64_t p, float *out, int64_t stride) {
  __m256 a0 = _mm256_loadu_ps(r[0] + p), a1 = _mm256_loadu_ps(r[1] + p);
  __m256 a2 = _mm256_loadu_ps(r[2] + p), a3 = _mm256_loadu_ps(r[3] + p);
  __m256 a4 = _mm256_loadu_ps(r[4] + p), a5 = _mm256_loadu_ps(r[5] + p);
  __m256 a6 = _mm256_loadu_ps(r[6] + p), a7 = _mm256_loadu_ps(r[7] + p);
  __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
  __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
  __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5);
  __m256 t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(out + 0 * stride, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#endif

void mm_pack_b_transposed_f32(const float *src, int64_t ld, int64_t kc, float *dst) {
  for (int64_t half = 0; half < 2; half++) {
    const float *r[8];
    for (int j = 0; j < 8; j++) r[j] = src + (half * 8 + j) * ld;
    float *out = dst + half * 8;
    int64_t p = 0;
#if defined(__AVX__)
    for (; p + 8 <= kc; p += 8) transpose8x8(r, p, out + p * 16, 16);
#endif
    for (; p < kc; p++) {
      for (int j = 0; j < 8; j++) out[p * 16 + j] = r[j][p];
    }
  }
}
