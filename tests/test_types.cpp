// The 16-bit storage types: conversions checked against a brute-force nearest-value search; the
// validation engine's bit-for-bit comparison.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "actk/actk.hpp"
#include "host/cpu/convert.hpp"
#include "host/validation/compare.hpp"

namespace actk {
namespace {

template <class T>
T from_bits(std::uint16_t bits) {
  T v;
  v.bits = bits;
  return v;
}

template <class T>
T narrow(double v) {
  if constexpr (std::is_same_v<T, Half>) {
    return half_from_double(v);
  } else {
    return bfloat16_from_double(v);
  }
}

// Nearest finite value among all bit patterns, ties to the even pattern; +-inf beyond the
// rounding boundary above the largest finite value.
template <class T>
std::uint16_t brute_force_nearest(double v, const std::vector<std::pair<double, std::uint16_t>>& finite) {
  const auto above = std::lower_bound(finite.begin(), finite.end(), std::make_pair(v, std::uint16_t{0}),
                                      [](const auto& a, const auto& b) { return a.first < b.first; });
  const double max = finite.back().first;
  const double step = max - std::prev(finite.end(), 2)->first;  // ulp at the top of the range
  if (v >= max + step / 2) return from_bits<T>(0).bits | (std::is_same_v<T, Half> ? 0x7c00 : 0x7f80);
  if (v <= -(max + step / 2)) return std::is_same_v<T, Half> ? 0xfc00 : 0xff80;
  if (above == finite.begin()) return above->second;
  if (above == finite.end()) return std::prev(above)->second;
  const auto below = std::prev(above);
  const double d_above = above->first - v, d_below = v - below->first;
  if (d_above < d_below) return above->second;
  if (d_below < d_above) return below->second;
  return (above->second & 1) ? below->second : above->second;
}

template <class T>
class SixteenBit : public ::testing::Test {};
using SixteenBitTypes = ::testing::Types<Half, BFloat16>;
TYPED_TEST_SUITE(SixteenBit, SixteenBitTypes);

TYPED_TEST(SixteenBit, EveryPatternRoundTrips) {
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const TypeParam v = from_bits<TypeParam>(static_cast<std::uint16_t>(bits));
    const float f = to_float(v);
    const TypeParam back = narrow<TypeParam>(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(to_float(back))) << bits;
      EXPECT_EQ(back.bits & 0x8000, bits & 0x8000) << "NaN keeps its sign";
    } else {
      EXPECT_EQ(back.bits, bits) << "pattern " << bits << " value " << f;
    }
  }
}

TYPED_TEST(SixteenBit, RoundsToNearestEvenOnce) {
  std::vector<std::pair<double, std::uint16_t>> finite;
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const double v = to_float(from_bits<TypeParam>(static_cast<std::uint16_t>(bits)));
    if (std::isfinite(v) && !(v == 0 && (bits & 0x8000))) finite.emplace_back(v, static_cast<std::uint16_t>(bits));
  }
  std::sort(finite.begin(), finite.end());

  std::vector<double> probes;
  for (std::size_t i = 0; i + 1 < finite.size(); ++i) {
    const double lo = finite[i].first, hi = finite[i + 1].first;
    const double mid = (lo + hi) / 2;  // exact in double: the tie
    probes.insert(probes.end(), {mid, std::nextafter(mid, lo), std::nextafter(mid, hi)});
  }
  // A double just above a tie: rounding through float first would land on the tie and then
  // round to even, which is wrong; one rounding gets it right.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-30, 20);
  for (int i = 0; i < 100000; ++i) probes.push_back((rng() & 1 ? -1 : 1) * std::exp2(exponent(rng)));
  const double max = finite.back().first;
  probes.insert(probes.end(), {max * 1.0001, max * 2, 1e300, -1e300});

  for (double v : probes) {
    if (v == 0) continue;
    const std::uint16_t want = brute_force_nearest<TypeParam>(v, finite);
    const std::uint16_t got = narrow<TypeParam>(v).bits;
    // The brute-force table has +0 only; a negative value rounding to zero gives -0.
    const std::uint16_t want_signed = (v < 0 && want == 0) ? 0x8000 : want;
    ASSERT_EQ(got, want_signed) << "value " << v;
  }
}

// Widening against the format's definition, field by field: (-1)^s * 2^(e - bias) * 1.f for
// normals, 2^(1 - bias) * 0.f for subnormals.
TYPED_TEST(SixteenBit, WideningGivesTheValueTheFieldsDefine) {
  constexpr bool kHalf = std::is_same_v<TypeParam, Half>;
  constexpr int kMantBits = kHalf ? 10 : 7, kExpBits = kHalf ? 5 : 8, kBias = (1 << (kExpBits - 1)) - 1;
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const int exponent = static_cast<int>(bits >> kMantBits) & ((1 << kExpBits) - 1);
    const double fraction = static_cast<double>(bits & ((1u << kMantBits) - 1));
    const double sign = bits & 0x8000 ? -1.0 : 1.0;
    const float got = to_float(from_bits<TypeParam>(static_cast<std::uint16_t>(bits)));
    if (exponent == (1 << kExpBits) - 1) {
      EXPECT_EQ(std::isnan(got), fraction != 0) << bits;
      if (fraction == 0) EXPECT_EQ(got, sign * std::numeric_limits<double>::infinity()) << bits;
      continue;
    }
    const double want = exponent == 0 ? sign * std::ldexp(fraction, 1 - kBias - kMantBits)
                                      : sign * std::ldexp(fraction + std::ldexp(1.0, kMantBits), exponent - kBias - kMantBits);
    ASSERT_EQ(got, want) << "pattern " << bits;
    ASSERT_EQ(std::signbit(got), sign < 0) << "pattern " << bits;
  }
}

// The cpu backend's inline narrowing (host/cpu/convert.hpp, the structured calls' loops) gives
// half_from_double's and bfloat16_from_double's bits for f32 bit patterns: one in 61 (an odd
// stride, so every pattern of the low bits, which decide the rounding, comes up with many
// exponents; every pattern, a stride of 1, takes 20 s and passed when they were written).
TYPED_TEST(SixteenBit, TheCpuLoopsNarrowFloatsAsFromDouble) {
  constexpr std::uint64_t kStride = 61;
  std::uint64_t differing = 0;
  std::uint32_t first = 0;
  for (std::uint64_t pattern = 0; pattern < (std::uint64_t{1} << 32); pattern += kStride) {
    const float v = cpu::float_from_bits(static_cast<std::uint32_t>(pattern));
    const std::uint16_t got = cpu::narrow<TypeParam>(v).bits, want = narrow<TypeParam>(v).bits;
    if (got != want && differing++ == 0) first = static_cast<std::uint32_t>(pattern);
  }
  EXPECT_EQ(differing, 0u) << "first at f32 pattern 0x" << std::hex << first;
}

TYPED_TEST(SixteenBit, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(std::isinf(to_float(narrow<TypeParam>(inf))));
  EXPECT_LT(to_float(narrow<TypeParam>(-inf)), 0);
  EXPECT_TRUE(std::isnan(to_float(narrow<TypeParam>(std::numeric_limits<double>::quiet_NaN()))));
  EXPECT_EQ(narrow<TypeParam>(-0.0).bits, 0x8000);
  EXPECT_EQ(narrow<TypeParam>(std::numeric_limits<double>::denorm_min()).bits, 0);
  EXPECT_EQ(to_float(narrow<TypeParam>(1.0)), 1.0f);
}

TEST(DType, NamesAndSizes) {
  EXPECT_STREQ(dtype_name(DType::bf16), "bf16");
  EXPECT_EQ(dtype_size(DType::f64), 8u);
  EXPECT_EQ(dtype_size(DType::f16), 2u);
  const float values[3] = {};
  ConstTensorView view(values, 3);
  EXPECT_EQ(view.dtype, DType::f32);
  EXPECT_EQ(view.bytes(), 12u);
}

TEST(Validation, CompareBitsCountsEveryDifferenceButNaNPayloads) {
  // The cross-backend check of `actk validate` and the GPU tests: +0 and -0 differ, a NaN
  // matches any NaN, one ulp is a failure.
  const float got[] = {1.0f, -0.0f, std::nanf("1"), std::nextafter(2.0f, 3.0f), INFINITY};
  const float want[] = {1.0f, 0.0f, -std::nanf("2"), 2.0f, INFINITY};
  const validation::Comparison c = validation::compare_bits(DType::f32, got, want, 5);
  EXPECT_EQ(c.checked, 5);
  EXPECT_EQ(c.failures, 2);
  EXPECT_EQ(c.worst_index, 1);
  EXPECT_EQ(c.max_ulp, 1.0);
  EXPECT_TRUE(validation::compare_bits(DType::f32, got, got, 5).passed());
  const Half nan_a{0x7e01}, nan_b{0xfe00};
  EXPECT_TRUE(validation::compare_bits(DType::f16, &nan_a, &nan_b, 1).passed());
}

}  // namespace
}  // namespace actk
