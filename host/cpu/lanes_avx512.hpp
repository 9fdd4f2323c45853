// The lane primitives for AVX-512 (F, BW, DQ, VL) + FMA + F16C: 16 f32 lanes, the same names as
// lanes_avx2.hpp (which says how the shared math uses them). Comparisons give mask registers, and
// powers of two are vscalefps: 2^k with k kept as a float, applied with one rounding over the
// whole range, subnormal results included.
//
// Only kernels_avx512.cpp, compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c,
// and kernels_avx512_bf16.cpp, compiled with -mavx512bf16 besides, include this header. The second
// is the instruction set avx512_bf16, whose namespace holds the same primitives plus the hardware
// f32 -> bf16 narrowing.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "actk/types.hpp"

#ifdef ACTK_LANES
#error "one instruction set per translation unit"
#endif
/// The namespace of the instruction set this translation unit compiles.
#ifdef __AVX512BF16__
#define ACTK_LANES avx512_bf16
#else
#define ACTK_LANES avx512
#endif

// Everything on the hot path is forced inline (see lanes_avx2.hpp).
#define ACTK_LANE_INLINE inline __attribute__((always_inline))

#include "host/cpu/lanes_x86_stores.hpp"

namespace actk::lanes::ACTK_LANES {

inline constexpr int kLanes = 16;
using V = __m512;        ///< f32 lanes
using Mask = __mmask16;  ///< a comparison's result: one bit per lane
using VI = __m512i;      ///< int32 lanes: bit patterns, table indices
using Exponent = __m512; ///< the integer k of a power of two 2^k, per lane, as a float (vscalefps)

// Arithmetic; fma(a, b, c) = a b + c, fms = a b - c, fnma = c - a b, each rounded once.
ACTK_LANE_INLINE V splat(float v) { return _mm512_set1_ps(v); }
ACTK_LANE_INLINE V zero() { return _mm512_setzero_ps(); }
ACTK_LANE_INLINE V add(V a, V b) { return _mm512_add_ps(a, b); }
ACTK_LANE_INLINE V sub(V a, V b) { return _mm512_sub_ps(a, b); }
ACTK_LANE_INLINE V mul(V a, V b) { return _mm512_mul_ps(a, b); }
ACTK_LANE_INLINE V div(V a, V b) { return _mm512_div_ps(a, b); }
ACTK_LANE_INLINE V sqrt(V a) { return _mm512_sqrt_ps(a); }
ACTK_LANE_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
ACTK_LANE_INLINE V fms(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
ACTK_LANE_INLINE V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
/// min/max of finite values and infinities (NaN lanes are the callers' concern).
ACTK_LANE_INLINE V min(V a, V b) { return _mm512_min_ps(a, b); }
ACTK_LANE_INLINE V max(V a, V b) { return _mm512_max_ps(a, b); }
/// To the nearest integer, ties to even.
ACTK_LANE_INLINE V round_to_integer(V x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
ACTK_LANE_INLINE V bit_and(V a, V b) { return _mm512_and_ps(a, b); }
ACTK_LANE_INLINE V bit_or(V a, V b) { return _mm512_or_ps(a, b); }
ACTK_LANE_INLINE V bit_xor(V a, V b) { return _mm512_xor_ps(a, b); }

// Comparisons: ordered (false where a lane is NaN) except not_equal, not_less_equal and is_nan.
ACTK_LANE_INLINE Mask less(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
ACTK_LANE_INLINE Mask less_equal(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
ACTK_LANE_INLINE Mask greater(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
ACTK_LANE_INLINE Mask greater_equal(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
ACTK_LANE_INLINE Mask equal(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
ACTK_LANE_INLINE Mask not_equal(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
ACTK_LANE_INLINE Mask not_less_equal(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NLE_UQ); }
ACTK_LANE_INLINE Mask is_nan(V x) { return _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q); }
ACTK_LANE_INLINE Mask mask_and(Mask a, Mask b) { return static_cast<Mask>(a & b); }
ACTK_LANE_INLINE Mask mask_or(Mask a, Mask b) { return static_cast<Mask>(a | b); }
/// Whether any lane is set.
ACTK_LANE_INLINE bool any(Mask m) { return m != 0; }
/// m ? a : b, lane by lane.
ACTK_LANE_INLINE V select(Mask m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
ACTK_LANE_INLINE VI select(Mask m, VI a, VI b) { return _mm512_mask_blend_epi32(m, b, a); }
/// m ? a : 0
ACTK_LANE_INLINE V select_or_zero(Mask m, V a) { return _mm512_maskz_mov_ps(m, a); }

// Powers of two: vscalefps computes v 2^floor(k) rounded once, for any k.
/// k of an integral-valued kf.
ACTK_LANE_INLINE Exponent to_exponent(V kf) { return kf; }
/// 2^k for k in [-126, 127].
ACTK_LANE_INLINE V pow2(Exponent k) { return _mm512_scalef_ps(splat(1.0f), k); }
/// v 2^k where 2^k is normal (k in [-126, 127]).
ACTK_LANE_INLINE V ldexp_normal(V v, Exponent k) { return _mm512_scalef_ps(v, k); }
/// v 2^k for k in [-166, 128], rounded once (into the subnormal range, or to infinity).
ACTK_LANE_INLINE V ldexp(V v, Exponent k) { return _mm512_scalef_ps(v, k); }

// Tables of 16 entries, one entry per lane chosen by an index.
/// trunc(x) for x in [0, 16): the index of the entry (vpermps reads its low 4 bits only).
ACTK_LANE_INLINE VI table_index(V x) { return _mm512_cvttps_epi32(x); }
ACTK_LANE_INLINE V lookup(const float (&table)[16], VI index) {
  return _mm512_permutexvar_ps(index, _mm512_loadu_ps(table));
}

// Bit patterns, for the bf16 conversions.
ACTK_LANE_INLINE VI splat_int(std::int32_t v) { return _mm512_set1_epi32(v); }
ACTK_LANE_INLINE VI bits_of(V x) { return _mm512_castps_si512(x); }
ACTK_LANE_INLINE V from_bits(VI x) { return _mm512_castsi512_ps(x); }
ACTK_LANE_INLINE VI add(VI a, VI b) { return _mm512_add_epi32(a, b); }
ACTK_LANE_INLINE VI bit_and(VI a, VI b) { return _mm512_and_si512(a, b); }
ACTK_LANE_INLINE VI bit_or(VI a, VI b) { return _mm512_or_si512(a, b); }
template <int kBits>
ACTK_LANE_INLINE VI shift_left(VI x) { return _mm512_slli_epi32(x, kBits); }
template <int kBits>
ACTK_LANE_INLINE VI shift_right(VI x) { return _mm512_srli_epi32(x, kBits); }

// Memory. kStream: a non-temporal store (the address aligned to the stored size), which writes
// around the caches and saves the read-for-ownership of the destination line.
ACTK_LANE_INLINE V load(const float* p) { return _mm512_loadu_ps(p); }
/// f16 -> f32, exact.
ACTK_LANE_INLINE V load(const Half* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
/// kLanes 16-bit values, zero-extended.
ACTK_LANE_INLINE VI load_u16(const std::uint16_t* p) {
  return _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

template <bool kStream>
ACTK_LANE_INLINE void store(float* p, V v) {
  if constexpr (kStream) {
    _mm512_stream_ps(p, v);
  } else {
    _mm512_storeu_ps(p, v);
  }
}
/// f32 -> f16, rounded to nearest even; NaN stays NaN.
template <bool kStream>
ACTK_LANE_INLINE void store(Half* p, V v) {
  store_bytes<kStream>(p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
/// The low 16 bits of each lane; lanes must lie in [0, 65535].
template <bool kStream>
ACTK_LANE_INLINE void store_u16(std::uint16_t* p, VI v) {
  store_bytes<kStream>(p, _mm512_cvtepi32_epi16(v));
}
/// store_u16 of a at p and of b at p + kLanes.
template <bool kStream>
ACTK_LANE_INLINE void store_u16_pair(std::uint16_t* p, VI a, VI b) {
  store_u16<kStream>(p, a);
  store_u16<kStream>(p + kLanes, b);
}
#ifdef __AVX512BF16__
#define ACTK_LANES_HAVE_BF16_NARROWING 1
/// f32 -> bf16 with vcvtneps2bf16; returns whether a lane was a subnormal f32, whose value the
/// caller must store again. The instruction rounds to nearest even and quiets a NaN by setting
/// bit 6 of its top half, the bits of kernels_simd.hpp's integer rounding, but reads a subnormal
/// input as zero. The store does not wait for the check: it ends the chain of dependent
/// instructions of a vector sooner (Zen 4 keeps about five vectors of a long activation in flight).
template <bool kStream>
ACTK_LANE_INLINE bool store_bf16_flushing_subnormals(BFloat16* p, V v) {
  constexpr int kSubnormal = 0x20;  // vfpclassps category
  store_bytes<kStream>(p, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
  return _mm512_fpclass_ps_mask(v, kSubnormal) != 0;
}
/// Two vectors a, b at p (a first), narrowed by one instruction and checked by one test. One test
/// for 32 lanes instead of two for 16 each: relu in L2 went from 0.10 to 0.075 ns per element.
template <bool kStream>
ACTK_LANE_INLINE bool store_bf16_pair_flushing_subnormals(BFloat16* p, V a, V b) {
  constexpr int kSubnormal = 0x20;
  store_bytes<kStream>(p, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a)));
  return !_kortestz_mask16_u8(_mm512_fpclass_ps_mask(a, kSubnormal), _mm512_fpclass_ps_mask(b, kSubnormal));
}
#endif
/// Orders the non-temporal stores before later stores (the end of a streamed range).
ACTK_LANE_INLINE void stream_fence() { _mm_sfence(); }
/// p[i] += v[i] in double, for kLanes doubles at p (the per-channel sums of the bias calls).
ACTK_LANE_INLINE void add_to_doubles(double* p, V v) {
  _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), _mm512_cvtps_pd(_mm512_castps512_ps256(v))));
  _mm512_storeu_pd(p + 8, _mm512_add_pd(_mm512_loadu_pd(p + 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1))));
}

}  // namespace actk::lanes::ACTK_LANES
