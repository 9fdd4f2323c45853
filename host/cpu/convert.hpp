// Storage type <-> compute type for the scalar CPU loops (internal): f32 computes f32, f16 and
// bf16 compute in f32, f64 in f64. Narrowing rounds to nearest even once, with the results of
// types.cpp's half_from_double / bfloat16_from_double (NaN: a quiet NaN of the same sign); the
// conversions are inline integer code, which the structured calls' per-element loops need (an
// out-of-line call per element made their f16/bf16 chunks several times slower than f32).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "actk/types.hpp"

namespace actk::cpu {

template <class T>
using Compute = std::conditional_t<std::is_same_v<T, double>, double, float>;

inline std::uint32_t float_bits(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

inline float float_from_bits(std::uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

/// f16 -> f32, exact (NaN payloads kept).
inline float widen_half(Half h) {
  const std::uint32_t sign = std::uint32_t(h.bits & 0x8000u) << 16;
  const std::uint32_t magnitude = h.bits & 0x7fffu;
  if (magnitude >= 0x7c00u) return float_from_bits(sign | 0x7f800000u | ((magnitude & 0x3ffu) << 13));
  if (magnitude >= 0x0400u) return float_from_bits(sign | ((magnitude << 13) + (std::uint32_t(127 - 15) << 23)));
  // A subnormal (or zero): magnitude * 2^-24, exact in f32.
  return float_from_bits(sign | float_bits(static_cast<float>(magnitude) * 0x1p-24f));
}

/// f32 -> f16, rounded to nearest even once.
inline Half narrow_half(float v) {
  const std::uint32_t bits = float_bits(v);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xffu);
  const std::uint32_t fraction = bits & 0x7fffffu;
  if (exponent == 0xff) return Half{static_cast<std::uint16_t>(sign | 0x7c00u | (fraction ? 0x200u : 0u))};
  if (exponent == 0) return Half{sign};  // f32 subnormals are far below half of f16's smallest
  const int target = exponent - 127 + 15;  // the biased f16 exponent
  if (target >= 31) return Half{static_cast<std::uint16_t>(sign | 0x7c00u)};
  const std::uint32_t significand = fraction | 0x800000u;
  const int shift = 13 + (target >= 1 ? 0 : 1 - target);
  if (shift > 24) return Half{sign};  // below half the smallest subnormal
  std::uint32_t kept = significand >> shift;
  const std::uint32_t dropped = significand & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  kept += (dropped > half) | ((dropped == half) & (kept & 1u));
  // As types.cpp: the implicit bit carries into the exponent field, and a rounding carry with it.
  const std::uint32_t magnitude = target >= 1 ? (std::uint32_t(target - 1) << 10) + kept : kept;
  return Half{static_cast<std::uint16_t>(sign | (magnitude >= 0x7c00u ? 0x7c00u : magnitude))};
}

/// bf16 -> f32, exact: the top half of an f32.
inline float widen_bfloat16(BFloat16 h) { return float_from_bits(std::uint32_t(h.bits) << 16); }

/// f32 -> bf16, rounded to nearest even once: bf16 has f32's exponent range, so rounding the
/// low half of the bits away is the whole conversion, subnormals and overflow to inf included.
inline BFloat16 narrow_bfloat16(float v) {
  const std::uint32_t bits = float_bits(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<std::uint16_t>((bits >> 16 & 0x8000u) | 0x7fc0u)};
  return BFloat16{static_cast<std::uint16_t>((bits + 0x7fffu + (bits >> 16 & 1u)) >> 16)};
}

template <class T>
Compute<T> widen(T v) {
  if constexpr (std::is_same_v<T, Half>) {
    return widen_half(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return widen_bfloat16(v);
  } else {
    return v;
  }
}

template <class T>
T narrow(Compute<T> v) {
  if constexpr (std::is_same_v<T, Half>) {
    return narrow_half(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return narrow_bfloat16(v);
  } else {
    return v;
  }
}

}  // namespace actk::cpu
