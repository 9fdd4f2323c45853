// The 16-bit storage types: conversions with one round-to-nearest-even step.
#include <cstring>

#include "actk/types.hpp"
#include "host/cpu/convert.hpp"

namespace actk {
namespace {

// Rounds a double to a binary format with kExpBits exponent bits and kMantBits fraction bits
// (IEEE layout, sign on top), directly from the double's bits so there is exactly one rounding.
template <int kExpBits, int kMantBits>
std::uint16_t narrow_from_double(double value) {
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 63) << (kExpBits + kMantBits));
  const int exponent = static_cast<int>((bits >> 52) & 0x7ff);
  const std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);
  constexpr int kBias = (1 << (kExpBits - 1)) - 1;
  constexpr std::uint16_t kInf = static_cast<std::uint16_t>(((1u << kExpBits) - 1) << kMantBits);

  if (exponent == 0x7ff) {  // inf stays inf; NaN becomes a quiet NaN with the same sign
    return sign | kInf | (fraction ? std::uint16_t(1u << (kMantBits - 1)) : std::uint16_t(0));
  }
  if (exponent == 0) return sign;  // double subnormals are far below the narrow type's range

  const int target_exponent = exponent - 1023 + kBias;  // biased, in the narrow format
  if (target_exponent >= (1 << kExpBits) - 1) return sign | kInf;

  // Significand with its implicit bit; drop `shift` bits, more when the result is subnormal.
  const std::uint64_t significand = fraction | (std::uint64_t{1} << 52);
  const int shift = (52 - kMantBits) + (target_exponent >= 1 ? 0 : 1 - target_exponent);
  if (shift > 53) return sign;  // below half the smallest subnormal
  std::uint64_t kept = significand >> shift;
  const std::uint64_t dropped = significand & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t half = std::uint64_t{1} << (shift - 1);
  if (dropped > half || (dropped == half && (kept & 1))) ++kept;

  // For normals, (exponent - 1) << kMantBits plus the significand (implicit bit included) adds
  // the implicit bit back into the exponent field; a carry from rounding moves up naturally,
  // up to infinity. For subnormals the kept bits are the whole encoding.
  const std::uint64_t magnitude =
      target_exponent >= 1 ? (std::uint64_t(target_exponent - 1) << kMantBits) + kept : kept;
  return magnitude >= kInf ? std::uint16_t(sign | kInf) : std::uint16_t(sign | magnitude);
}

}  // namespace

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
  }
  return "?";
}

Half half_from_double(double value) noexcept { return Half{narrow_from_double<5, 10>(value)}; }

BFloat16 bfloat16_from_double(double value) noexcept {
  return BFloat16{narrow_from_double<8, 7>(value)};
}

// Widening is exact: the cpu backend's inline conversions (host/cpu/convert.hpp) are the one
// source of it.
float to_float(Half value) noexcept { return cpu::widen_half(value); }

float to_float(BFloat16 value) noexcept { return cpu::widen_bfloat16(value); }

}  // namespace actk
