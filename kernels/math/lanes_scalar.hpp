// The scalar lane: the primitives of the shared math (kernels/math/) for one f32 value, with the
// same names and the same results as the SIMD lanes of host/cpu/lanes_avx2.hpp and
// lanes_avx512.hpp. nvcc compiles it for the CUDA kernels and the host compiler for the cpu
// backend's portable path, so that one functor source gives the same bits on every backend.
//
// What makes the bits the same: every operation is one IEEE operation rounded to nearest even
// (the CUDA build keeps --fmad=false and IEEE division; the host build -ffp-contract=off), or an
// exact one (bit operations, powers of two built from their bits), and where an instruction set
// differs from IEEE semantics (minps/maxps with NaN), this lane copies the instruction.
#pragma once

#ifdef ACTK_LANES
#error "one lane type per translation unit"
#endif

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/math/host_device.hpp"

#if defined(__CUDACC__)
#define ACTK_LANE_INLINE __host__ __device__ __forceinline__
#else
#define ACTK_LANE_INLINE inline __attribute__((always_inline))
#endif

namespace actk::lanes::scalar {

inline constexpr int kLanes = 1;
using V = float;
using Mask = bool;
using VI = std::uint32_t;  ///< bit patterns and table indices
using Exponent = int;      ///< the integer k of a power of two 2^k

ACTK_LANE_INLINE VI bits_of(V x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  VI bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
#endif
}
ACTK_LANE_INLINE V from_bits(VI bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  V x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
#endif
}

ACTK_LANE_INLINE VI splat_int(std::int32_t v) { return static_cast<VI>(v); }

// Arithmetic; fma(a, b, c) = a b + c, fms = a b - c, fnma = c - a b, each rounded once.
ACTK_LANE_INLINE V splat(float v) { return v; }
ACTK_LANE_INLINE V zero() { return 0.0f; }
ACTK_LANE_INLINE V add(V a, V b) { return a + b; }
ACTK_LANE_INLINE V sub(V a, V b) { return a - b; }
ACTK_LANE_INLINE V mul(V a, V b) { return a * b; }
ACTK_LANE_INLINE V div(V a, V b) { return a / b; }
ACTK_LANE_INLINE V sqrt(V a) { return std::sqrt(a); }  // IEEE, correctly rounded (sqrt.rn on the device)
ACTK_LANE_INLINE V fma(V a, V b, V c) { return std::fma(a, b, c); }
ACTK_LANE_INLINE V fms(V a, V b, V c) { return std::fma(a, b, -c); }
ACTK_LANE_INLINE V fnma(V a, V b, V c) { return std::fma(-a, b, c); }
/// minps/maxps: the second operand unless the first is strictly smaller (larger), so a NaN in
/// either gives the second.
ACTK_LANE_INLINE V min(V a, V b) { return a < b ? a : b; }
ACTK_LANE_INLINE V max(V a, V b) { return a > b ? a : b; }
ACTK_LANE_INLINE V bit_and(V a, V b) { return from_bits(bits_of(a) & bits_of(b)); }
ACTK_LANE_INLINE V bit_or(V a, V b) { return from_bits(bits_of(a) | bits_of(b)); }
ACTK_LANE_INLINE V bit_xor(V a, V b) { return from_bits(bits_of(a) ^ bits_of(b)); }
/// To the nearest integer, ties to even: below 2^23, adding and subtracting 2^23 rounds the
/// fraction away (exact otherwise), and the sign is put back so that -0.3 gives -0 as roundps
/// does; from 2^23 on every float is an integer. No libm call (rintf is one without SSE4.1).
ACTK_LANE_INLINE V round_to_integer(V x) {
  const V magnitude = bit_and(x, from_bits(0x7fffffffu));
  const V rounded = sub(add(magnitude, 0x1p23f), 0x1p23f);
  return magnitude < 0x1p23f ? bit_or(rounded, bit_and(x, from_bits(0x80000000u))) : x;
}

// Comparisons: ordered (false where a value is NaN) except not_equal, not_less_equal and is_nan.
ACTK_LANE_INLINE Mask less(V a, V b) { return a < b; }
ACTK_LANE_INLINE Mask less_equal(V a, V b) { return a <= b; }
ACTK_LANE_INLINE Mask greater(V a, V b) { return a > b; }
ACTK_LANE_INLINE Mask greater_equal(V a, V b) { return a >= b; }
ACTK_LANE_INLINE Mask equal(V a, V b) { return a == b; }
ACTK_LANE_INLINE Mask not_equal(V a, V b) { return a != b; }
ACTK_LANE_INLINE Mask not_less_equal(V a, V b) { return !(a <= b); }
ACTK_LANE_INLINE Mask is_nan(V x) { return x != x; }
ACTK_LANE_INLINE Mask mask_and(Mask a, Mask b) { return a && b; }
ACTK_LANE_INLINE Mask mask_or(Mask a, Mask b) { return a || b; }
ACTK_LANE_INLINE bool any(Mask m) { return m; }
ACTK_LANE_INLINE V select(Mask m, V a, V b) { return m ? a : b; }
ACTK_LANE_INLINE VI select(Mask m, VI a, VI b) { return m ? a : b; }
ACTK_LANE_INLINE V select_or_zero(Mask m, V a) { return m ? a : 0.0f; }

// Powers of two, as AVX2 builds them.
/// k of an integral-valued kf (|kf| < 2^31).
ACTK_LANE_INLINE Exponent to_exponent(V kf) { return static_cast<int>(kf); }
/// 2^k for k in [-126, 127].
ACTK_LANE_INLINE V pow2(Exponent k) { return from_bits(static_cast<VI>(k + 127) << 23); }
/// v 2^k where 2^k is normal (k in [-126, 127]).
ACTK_LANE_INLINE V ldexp_normal(V v, Exponent k) { return v * pow2(k); }
/// v 2^k for k in [-166, 128], rounded once wherever v 2^(k/2) is normal: two normal powers of
/// two, the first product exact, the second rounding once (into the subnormals, or to infinity).
ACTK_LANE_INLINE V ldexp(V v, Exponent k) {
  const Exponent k1 = k >> 1;  // floor(k / 2), as vpsrad
  return v * pow2(k1) * pow2(k - k1);
}

// Tables: one entry chosen by an index.
/// trunc(x) for x in [0, 16).
ACTK_LANE_INLINE VI table_index(V x) { return static_cast<VI>(x); }
template <int kEntries>
ACTK_LANE_INLINE V lookup(const float (&table)[kEntries], VI index) { return table[index]; }

}  // namespace actk::lanes::scalar

/// The lane type the shared math (kernels/math/) is compiled for in this translation unit.
#define ACTK_LANES scalar
