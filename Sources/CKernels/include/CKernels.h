// C kernels for the few loops Swift's SIMD types cannot express well; only MMKernels imports
// them, and each is chosen where a side-by-side benchmark showed it faster (Kernels.md):
// - integer dot products for decoding (GEMV) on ggml block formats, built on the AVX2 byte
//   multiply-adds (vpmaddubsw/vpmaddwd), written from the block layouts in
//   Sources/MMKernels/QuantFormats.swift and called from MMKernels/QuantGEMV.swift;
// - the GEMM's packing of a transposed f32 weight into micro-kernel panels, whose 8 × 8
//   transposes Swift compiles to scalar moves (that copy took 4–6 % of an encoder's time),
//   called from MMKernels/GEMMPacking.swift.
// Compiled with the kernels' -march; without AVX2 (AVX for the packing) scalar C versions
// compute the same results.
#ifndef MMGRAPH_CKERNELS_H
#define MMGRAPH_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An activation vector x[count] (count a multiple of 32) quantized in blocks of 32:
/// x[32b + i] ≈ d[b] · q[32b + i] with d[b] = max|x[32b ..< 32b + 32]| / 127 (f32) and
/// q = round-to-nearest-even(x / d[b]) in [−127, 127]; s[b] = d[b] · Σ_i q[32b + i].
void mm_quantize_act_q8(const float *x, int64_t count, int8_t *q, float *d, float *s);

/// out[r] = Σ_b dw(r, b) · d[b] · Σ_i wq(r, b, i) · q[32b + i] (+ the format's offset term)
/// for r < rows: the dot products of `rows` weight rows (row r at w + r·row_stride bytes, each
/// `blocks` blocks of 32) with an activation vector quantized by mm_quantize_act_q8.
/// Q8_0: x = d·q. Q4_0: x = d·(q − 8). Q4_1: x = d·q + m, offset m·s[b].
/// Each row's blocks are summed in order; the result never depends on how rows are grouped.
void mm_dot_q8_0(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, float *out);
void mm_dot_q4_0(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, float *out);
void mm_dot_q4_1(const void *w, size_t row_stride, int64_t rows, int64_t blocks, const int8_t *q,
                 const float *d, const float *s, float *out);

/// GEMM packing of a transposed f32 B (a Linear weight stored [n][ld]): the 16 rows at src,
/// src + ld, …, src + 15·ld, depth [0, kc) each → dst[p · 16 + j] = src[j · ld + p] (one
/// micro-kernel column panel, [kc][16]). A pure copy, done in 8 × 8 register transposes.
void mm_pack_b_transposed_f32(const float *src, int64_t ld, int64_t kc, float *dst);

/// Whether the integer kernels use AVX2 (1) or the scalar fallback (0) in this build.
int mm_ckernels_simd(void);

#ifdef __cplusplus
}
#endif

#endif
