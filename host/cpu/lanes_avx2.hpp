// The lane primitives for AVX2 + FMA + F16C: 8 f32 lanes. The shared math (kernels/math/: the
// vector math and one functor per activation) and the cpu loop (kernels_simd.hpp) are written once
// against these names and compiled once per lane type, in that type's namespace (like Highway's
// HWY_NAMESPACE); lanes_avx512.hpp has the same names for 16 lanes, and
// kernels/math/lanes_scalar.hpp for one (the portable path and the CUDA kernels), with the same
// results lane by lane.
//
// Only kernels_avx2.cpp, compiled with -mavx2 -mfma -mf16c, includes this header.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "actk/types.hpp"

#ifdef ACTK_LANES
#error "one instruction set per translation unit"
#endif
/// The namespace of the instruction set this translation unit compiles.
#define ACTK_LANES avx2

// Everything on the hot path is forced inline: a call would spill every live vector register (all
// are caller-saved), and GCC declines to inline the larger activations at their four call sites.
#define ACTK_LANE_INLINE inline __attribute__((always_inline))

#include "host/cpu/lanes_x86_stores.hpp"

namespace actk::lanes::avx2 {

inline constexpr int kLanes = 8;
using V = __m256;          ///< f32 lanes
using Mask = __m256;       ///< a comparison's result: lanes of all ones or all zeros
using VI = __m256i;        ///< int32 lanes: bit patterns, table indices
using Exponent = __m256i;  ///< the integer k of a power of two 2^k, per lane

// Arithmetic; fma(a, b, c) = a b + c, fms = a b - c, fnma = c - a b, each rounded once.
ACTK_LANE_INLINE V splat(float v) { return _mm256_set1_ps(v); }
ACTK_LANE_INLINE V zero() { return _mm256_setzero_ps(); }
ACTK_LANE_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
ACTK_LANE_INLINE V sub(V a, V b) { return _mm256_sub_ps(a, b); }
ACTK_LANE_INLINE V mul(V a, V b) { return _mm256_mul_ps(a, b); }
ACTK_LANE_INLINE V div(V a, V b) { return _mm256_div_ps(a, b); }
ACTK_LANE_INLINE V sqrt(V a) { return _mm256_sqrt_ps(a); }
ACTK_LANE_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
ACTK_LANE_INLINE V fms(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }
ACTK_LANE_INLINE V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
/// min/max of finite values and infinities (NaN lanes are the callers' concern).
ACTK_LANE_INLINE V min(V a, V b) { return _mm256_min_ps(a, b); }
ACTK_LANE_INLINE V max(V a, V b) { return _mm256_max_ps(a, b); }
/// To the nearest integer, ties to even.
ACTK_LANE_INLINE V round_to_integer(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
ACTK_LANE_INLINE V bit_and(V a, V b) { return _mm256_and_ps(a, b); }
ACTK_LANE_INLINE V bit_or(V a, V b) { return _mm256_or_ps(a, b); }
ACTK_LANE_INLINE V bit_xor(V a, V b) { return _mm256_xor_ps(a, b); }

// Comparisons: ordered (false where a lane is NaN) except not_equal, not_less_equal and is_nan.
ACTK_LANE_INLINE Mask less(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
ACTK_LANE_INLINE Mask less_equal(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
ACTK_LANE_INLINE Mask greater(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
ACTK_LANE_INLINE Mask greater_equal(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
ACTK_LANE_INLINE Mask equal(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
ACTK_LANE_INLINE Mask not_equal(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
ACTK_LANE_INLINE Mask not_less_equal(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NLE_UQ); }
ACTK_LANE_INLINE Mask is_nan(V x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }
ACTK_LANE_INLINE Mask mask_and(Mask a, Mask b) { return _mm256_and_ps(a, b); }
ACTK_LANE_INLINE Mask mask_or(Mask a, Mask b) { return _mm256_or_ps(a, b); }
/// Whether any lane is set.
ACTK_LANE_INLINE bool any(Mask m) { return _mm256_movemask_ps(m) != 0; }
/// m ? a : b, lane by lane.
ACTK_LANE_INLINE V select(Mask m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
ACTK_LANE_INLINE VI select(Mask m, VI a, VI b) { return _mm256_blendv_epi8(b, a, _mm256_castps_si256(m)); }
/// m ? a : 0
ACTK_LANE_INLINE V select_or_zero(Mask m, V a) { return _mm256_and_ps(m, a); }

// Powers of two.
/// k of an integral-valued kf (|kf| < 2^31).
ACTK_LANE_INLINE Exponent to_exponent(V kf) { return _mm256_cvtps_epi32(kf); }
/// 2^k for k in [-126, 127].
ACTK_LANE_INLINE V pow2(Exponent k) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}
/// v 2^k where 2^k is normal (k in [-126, 127]): exact unless the result leaves the normal range.
ACTK_LANE_INLINE V ldexp_normal(V v, Exponent k) { return _mm256_mul_ps(v, pow2(k)); }
/// v 2^k for k in [-166, 128], rounded once wherever v 2^(k/2) is normal (the callers' v lie near
/// 1, or k near 0): 2^k is applied as two normal powers of two, so a result in the subnormal range
/// is rounded only by the last multiplication, and one past the largest finite value becomes
/// infinity.
ACTK_LANE_INLINE V ldexp(V v, Exponent k) {
  const VI k1 = _mm256_srai_epi32(k, 1);
  const VI k2 = _mm256_sub_epi32(k, k1);
  return _mm256_mul_ps(_mm256_mul_ps(v, pow2(k1)), pow2(k2));
}

// Tables of 16 entries, one entry per lane chosen by an index.
/// trunc(x) for x in [0, 16): the index of the entry.
ACTK_LANE_INLINE VI table_index(V x) { return _mm256_cvttps_epi32(x); }
/// vpermps picks among 8 by the index's low 3 bits; bit 3, moved into the sign bit, picks the half.
ACTK_LANE_INLINE V lookup(const float (&table)[16], VI index) {
  const V low = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), index);
  const V high = _mm256_permutevar8x32_ps(_mm256_loadu_ps(table + 8), index);
  return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32(index, 28)));
}

// Bit patterns, for the bf16 conversions.
ACTK_LANE_INLINE VI splat_int(std::int32_t v) { return _mm256_set1_epi32(v); }
ACTK_LANE_INLINE VI bits_of(V x) { return _mm256_castps_si256(x); }
ACTK_LANE_INLINE V from_bits(VI x) { return _mm256_castsi256_ps(x); }
ACTK_LANE_INLINE VI add(VI a, VI b) { return _mm256_add_epi32(a, b); }
ACTK_LANE_INLINE VI bit_and(VI a, VI b) { return _mm256_and_si256(a, b); }
ACTK_LANE_INLINE VI bit_or(VI a, VI b) { return _mm256_or_si256(a, b); }
template <int kBits>
ACTK_LANE_INLINE VI shift_left(VI x) { return _mm256_slli_epi32(x, kBits); }
template <int kBits>
ACTK_LANE_INLINE VI shift_right(VI x) { return _mm256_srli_epi32(x, kBits); }

// Memory. kStream: a non-temporal store (the address aligned to the stored size), which writes
// around the caches and saves the read-for-ownership of the destination line.
ACTK_LANE_INLINE V load(const float* p) { return _mm256_loadu_ps(p); }
/// f16 -> f32, exact.
ACTK_LANE_INLINE V load(const Half* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
/// kLanes 16-bit values, zero-extended.
ACTK_LANE_INLINE VI load_u16(const std::uint16_t* p) {
  return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <bool kStream>
ACTK_LANE_INLINE void store(float* p, V v) {
  if constexpr (kStream) {
    _mm256_stream_ps(p, v);
  } else {
    _mm256_storeu_ps(p, v);
  }
}
/// f32 -> f16, rounded to nearest even; NaN stays NaN.
template <bool kStream>
ACTK_LANE_INLINE void store(Half* p, V v) {
  store_bytes<kStream>(p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
/// The low 16 bits of each lane; lanes must lie in [0, 65535].
template <bool kStream>
ACTK_LANE_INLINE void store_u16(std::uint16_t* p, VI v) {
  // packus works within 128-bit lanes: [a0..a3 b0..b3 a4..a7 b4..b7]; permute the quads back.
  store_bytes<kStream>(p, _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0xd8)));
}
/// store_u16 of a at p and of b at p + kLanes, with one pack and one 32-byte store.
template <bool kStream>
ACTK_LANE_INLINE void store_u16_pair(std::uint16_t* p, VI a, VI b) {
  store_bytes<kStream>(p, _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8));
}
/// Orders the non-temporal stores before later stores (the end of a streamed range).
ACTK_LANE_INLINE void stream_fence() { _mm_sfence(); }
/// p[i] += v[i] in double, for kLanes doubles at p (the per-channel sums of the bias calls).
ACTK_LANE_INLINE void add_to_doubles(double* p, V v) {
  _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
  _mm256_storeu_pd(p + 4, _mm256_add_pd(_mm256_loadu_pd(p + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
}

}  // namespace actk::lanes::avx2
