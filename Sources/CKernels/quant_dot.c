// Integer dot products of ggml block rows with an 8-bit quantized activation vector (see
// include/CKernels.h). Block layouts (bytes): Q8_0 = f16 d, 32 × i8; Q4_0 = f16 d, 16 bytes of
// nibbles (element i in the low nibble of byte i, element i + 16 in the high one), x = d·(q − 8);
// Q4_1 = f16 d, f16 m, nibbles as Q4_0, x = d·q + m.
//
// Per block the 32 products of 8-bit integers are summed exactly in 32-bit integers, converted
// to f32 once and scaled by dw·dx; the eight f32 lanes of a row are summed at the end in a fixed
// order. A row's result depends only on its own bytes and x: not on the thread count, nor on
// which rows share a pass.
#include "CKernels.h"

#include <math.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#define MM_ROUND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#endif

static inline float f16_to_f32(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400) == 0) {
        mantissa <<= 1;
        exponent--;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
#endif
}

static inline float load_f16(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return f16_to_f32(h);
}

int mm_ckernels_simd(void) {
#if defined(__AVX2__)
  return 1;
#else
  return 0;
#endif
}

// MARK: - Activation quantization

void mm_quantize_act_q8(const float *x, int64_t count, int8_t *q, float *d, float *s) {
  for (int64_t b = 0; b < count / 32; b++) {
    const float *xb = x + 32 * b;
    int8_t *qb = q + 32 * b;
#if defined(__AVX2__)
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
    __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float scale = amax / 127.0f;
    const __m256 inverse = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, inverse), MM_ROUND));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, inverse), MM_ROUND));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, inverse), MM_ROUND));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, inverse), MM_ROUND));
    __m256i total = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    __m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0x4E));
    t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0xB1));
    // Pack 32 × i32 to 32 × i8; the lane-wise packs interleave 128-bit halves, undone by the
    // final permutation.
    __m256i p16a = _mm256_packs_epi32(i0, i1), p16b = _mm256_packs_epi32(i2, i3);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qb, p8);
    d[b] = scale;
    s[b] = scale * (float)_mm_cvtsi128_si32(t4);
#else
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xb[i]));
    const float scale = amax / 127.0f;
    const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int i = 0; i < 32; i++) {
      int v = (int)nearbyintf(xb[i] * inverse);
      v = v > 127 ? 127 : v < -127 ? -127 : v;
      qb[i] = (int8_t)v;
      sum += v;
    }
    d[b] = scale;
    s[b] = scale * (float)sum;
#endif
  }
}

// MARK: - Dot products

#if defined(__AVX2__)

static inline float hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// Σ w·x over 32 signed 8-bit pairs, as 8 × f32 lanes (exact integer partial sums). vpmaddubsw
// multiplies unsigned by signed bytes: |w| times x carrying w's sign. Pair sums stay below
// 2 · 128 · 127 < 2^15, so nothing saturates.
static inline __m256 dot32_signed(__m256i w, __m256i x) {
  __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

// The same for unsigned 4-bit w (0 ... 15): pair sums below 2 · 15 · 127.
static inline __m256 dot32_unsigned(__m256i w, __m256i x) {
  __m256i p16 = _mm256_maddubs_epi16(w, x);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

// The 32 nibbles of a Q4 block in element order: low nibbles (elements 0 ... 15), then high.
static inline __m256i nibbles32(const uint8_t *p) {
  __m128i raw = _mm_loadu_si128((const __m128i *)p);
  __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(15));
}

#define ROWS4_BEGIN                                                                                \
  const uint8_t *r0 = (const uint8_t *)w + (size_t)r * row_stride;                                 \
  const uint8_t *r1 = r0 + row_stride, *r2 = r1 + row_stride, *r3 = r2 + row_stride;               \
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;

// One row at a time: interleaving 2 or 4 rows (as the Q4 kernels do) made this kernel ~2×
// slower on the 49152 × 576 lm_head (measured on Zen 3; the 34-byte blocks' 32-byte loads
// straddle cache lines in every stream).
void mm_dot_q8_0(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *r0 = (const uint8_t *)w + (size_t)r * row_stride;
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
      const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
      const size_t o = 34 * (size_t)b;
      a0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r0 + o) * d[b]),
                           dot32_signed(_mm256_loadu_si256((const __m256i *)(r0 + o + 2)), x), a0);
    }
    out[r] = hsum8(a0);
  }
}

void mm_dot_q4_0(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, float *out) {
  const __m256i eight = _mm256_set1_epi8(8);
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    ROWS4_BEGIN
    for (int64_t b = 0; b < blocks; b++) {
      const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
      const float db = d[b];
      const size_t o = 18 * (size_t)b;
      a0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r0 + o) * db),
                           dot32_signed(_mm256_sub_epi8(nibbles32(r0 + o + 2), eight), x), a0);
      a1 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r1 + o) * db),
                           dot32_signed(_mm256_sub_epi8(nibbles32(r1 + o + 2), eight), x), a1);
      a2 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r2 + o) * db),
                           dot32_signed(_mm256_sub_epi8(nibbles32(r2 + o + 2), eight), x), a2);
      a3 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r3 + o) * db),
                           dot32_signed(_mm256_sub_epi8(nibbles32(r3 + o + 2), eight), x), a3);
    }
    out[r] = hsum8(a0);
    out[r + 1] = hsum8(a1);
    out[r + 2] = hsum8(a2);
    out[r + 3] = hsum8(a3);
  }
  for (; r < rows; r++) {
    const uint8_t *r0 = (const uint8_t *)w + (size_t)r * row_stride;
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
      const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
      const size_t o = 18 * (size_t)b;
      a0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r0 + o) * d[b]),
                           dot32_signed(_mm256_sub_epi8(nibbles32(r0 + o + 2), eight), x), a0);
    }
    out[r] = hsum8(a0);
  }
}

void mm_dot_q4_1(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, const float *s, float *out) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    ROWS4_BEGIN
    float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (int64_t b = 0; b < blocks; b++) {
      const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
      const float db = d[b], sb = s[b];
      const size_t o = 20 * (size_t)b;
      a0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r0 + o) * db), dot32_unsigned(nibbles32(r0 + o + 4), x), a0);
      a1 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r1 + o) * db), dot32_unsigned(nibbles32(r1 + o + 4), x), a1);
      a2 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r2 + o) * db), dot32_unsigned(nibbles32(r2 + o + 4), x), a2);
      a3 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r3 + o) * db), dot32_unsigned(nibbles32(r3 + o + 4), x), a3);
      c0 += load_f16(r0 + o + 2) * sb;
      c1 += load_f16(r1 + o + 2) * sb;
      c2 += load_f16(r2 + o + 2) * sb;
      c3 += load_f16(r3 + o + 2) * sb;
    }
    out[r] = hsum8(a0) + c0;
    out[r + 1] = hsum8(a1) + c1;
    out[r + 2] = hsum8(a2) + c2;
    out[r + 3] = hsum8(a3) + c3;
  }
  for (; r < rows; r++) {
    const uint8_t *r0 = (const uint8_t *)w + (size_t)r * row_stride;
    __m256 a0 = _mm256_setzero_ps();
    float c0 = 0;
    for (int64_t b = 0; b < blocks; b++) {
      const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
      const size_t o = 20 * (size_t)b;
      a0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(r0 + o) * d[b]), dot32_unsigned(nibbles32(r0 + o + 4), x), a0);
      c0 += load_f16(r0 + o + 2) * s[b];
    }
    out[r] = hsum8(a0) + c0;
  }
}

#else  // Scalar fallback: the same integer block sums, one row at a time.

void mm_dot_q8_0(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = (const uint8_t *)w + (size_t)r * row_stride;
    float acc = 0;
    for (int64_t b = 0; b < blocks; b++) {
      const uint8_t *p = row + 34 * (size_t)b;
      int32_t sum = 0;
      for (int i = 0; i < 32; i++) sum += (int32_t)(int8_t)p[2 + i] * q[32 * b + i];
      acc += load_f16(p) * d[b] * (float)sum;
    }
    out[r] = acc;
  }
}

void mm_dot_q4_0(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = (const uint8_t *)w + (size_t)r * row_stride;
    float acc = 0;
    for (int64_t b = 0; b < blocks; b++) {
      const uint8_t *p = row + 18 * (size_t)b;
      const int8_t *x = q + 32 * b;
      int32_t sum = 0;
      for (int i = 0; i < 16; i++) {
        sum += ((int32_t)(p[2 + i] & 15) - 8) * x[i] + ((int32_t)(p[2 + i] >> 4) - 8) * x[i + 16];
      }
      acc += load_f16(p) * d[b] * (float)sum;
    }
    out[r] = acc;
  }
}

void mm_dot_q4_1(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, const float *s, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *row = (const uint8_t *)w + (size_t)r * row_stride;
    float acc = 0, corr = 0;
    for (int64_t b = 0; b < blocks; b++) {
      const uint8_t *p = row + 20 * (size_t)b;
      const int8_t *x = q + 32 * b;
      int32_t sum = 0;
      for (int i = 0; i < 16; i++) sum += (int32_t)(p[4 + i] & 15) * x[i] + (int32_t)(p[4 + i] >> 4) * x[i + 16];
      acc += load_f16(p) * d[b] * (float)sum;
      corr += load_f16(p + 2) * s[b];
    }
    out[r] = acc + corr;
  }
}

#endif
