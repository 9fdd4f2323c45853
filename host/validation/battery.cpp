#include "host/validation/battery.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "host/validation/compare.hpp"

namespace actk::validation {
namespace {

struct Format {
  int min_exponent;  // exponent of the smallest subnormal, as a power of two
  int max_exponent;  // exponent of the largest power of two
  int digits;        // significand bits, implicit bit included
};

Format format_of(DType dtype) {
  switch (dtype) {
    case DType::f64: return {-1074, 1023, 53};
    case DType::f16: return {-24, 15, 11};
    case DType::bf16: return {-133, 127, 8};
    case DType::f32: break;
  }
  return {-149, 127, 24};
}

double largest_finite(const Format& f) { return std::ldexp(2.0 - std::ldexp(1.0, 1 - f.digits), f.max_exponent); }

// The representable neighbour of `value` in direction `steps` (positive: up), by ulp steps.
double neighbour(DType dtype, double value, int steps) {
  HostBuffer one(dtype, std::vector<double>{value});
  std::uint64_t bits = 0;
  std::memcpy(&bits, one.data(), dtype_size(dtype));
  const int width = static_cast<int>(dtype_size(dtype)) * 8;
  const std::uint64_t sign_bit = std::uint64_t{1} << (width - 1);
  const bool negative = bits & sign_bit;
  std::int64_t magnitude = static_cast<std::int64_t>(bits & (sign_bit - 1));
  std::int64_t ordered = negative ? -magnitude : magnitude;
  ordered += steps;
  bits = ordered < 0 ? (static_cast<std::uint64_t>(-ordered) | sign_bit) : static_cast<std::uint64_t>(ordered);
  HostBuffer moved(dtype, 1);
  std::memcpy(moved.data(), &bits, dtype_size(dtype));
  return moved.at(0);
}

}  // namespace

HostBuffer::HostBuffer(DType dtype, const std::vector<double>& values)
    : HostBuffer(dtype, static_cast<std::int64_t>(values.size())) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned char* out = bytes_.data() + i * dtype_size(dtype);
    switch (dtype) {
      case DType::f64: std::memcpy(out, &values[i], 8); break;
      case DType::f32: {
        const float v = static_cast<float>(values[i]);
        std::memcpy(out, &v, 4);
        break;
      }
      case DType::f16: {
        const Half v = half_from_double(values[i]);
        std::memcpy(out, &v, 2);
        break;
      }
      case DType::bf16: {
        const BFloat16 v = bfloat16_from_double(values[i]);
        std::memcpy(out, &v, 2);
        break;
      }
    }
  }
}

double HostBuffer::at(std::int64_t index) const { return element_as_double(dtype_, data(), index); }

void HostBuffer::fill_bytes(unsigned char byte) { std::memset(bytes_.data(), byte, bytes_.size()); }

std::vector<double> special_values(DType dtype) {
  const Format f = format_of(dtype);
  const double inf = std::numeric_limits<double>::infinity();
  const double max = largest_finite(f);
  const double min_normal = std::ldexp(1.0, f.min_exponent + f.digits - 1);
  const double min_subnormal = std::ldexp(1.0, f.min_exponent);
  const double max_subnormal = min_normal - min_subnormal;
  const double one_up = 1.0 + std::ldexp(1.0, 1 - f.digits);
  const double one_down = 1.0 - std::ldexp(1.0, -f.digits);
  std::vector<double> values = {0.0, -0.0, inf, -inf, std::numeric_limits<double>::quiet_NaN(),
                                -std::numeric_limits<double>::quiet_NaN()};
  for (double v : {max, min_normal, min_subnormal, max_subnormal, 1.0, one_up, one_down}) {
    values.push_back(v);
    values.push_back(-v);
  }
  for (int e = f.min_exponent; e <= f.max_exponent; ++e) {
    values.push_back(std::ldexp(1.0, e));
    values.push_back(-std::ldexp(1.0, e));
  }
  return values;
}

std::vector<double> kink_values(Activation activation, const ActivationParams& params, DType dtype) {
  std::vector<double> kinks = {0.0};
  switch (activation) {
    case Activation::hardtanh: kinks.insert(kinks.end(), {params.min_val, params.max_val}); break;
    case Activation::relu6: kinks.push_back(6.0); break;
    case Activation::hardsigmoid:
    case Activation::hardswish: kinks.insert(kinks.end(), {-3.0, 3.0}); break;
    case Activation::softplus:
      kinks.push_back(static_cast<double>(params.threshold) / static_cast<double>(params.beta));
      break;
    default: break;
  }
  std::vector<double> values;
  for (double kink : kinks) {
    for (int step = -2; step <= 2; ++step) values.push_back(neighbour(dtype, kink, step));
  }
  return values;
}

HostBuffer battery(Activation activation, const ActivationParams& params, DType dtype, std::int64_t random_count,
                   bool exhaustive, std::uint64_t seed) {
  if (exhaustive && (dtype == DType::f16 || dtype == DType::bf16)) {
    HostBuffer all(dtype, 65536);
    auto* bits = static_cast<std::uint16_t*>(all.data());
    for (std::uint32_t i = 0; i < 65536; ++i) bits[i] = static_cast<std::uint16_t>(i);
    return all;
  }
  std::vector<double> values = special_values(dtype);
  const std::vector<double> kinks = kink_values(activation, params, dtype);
  values.insert(values.end(), kinks.begin(), kinks.end());

  constexpr int kSweepCount = 4001;
  constexpr double kSweepLimit = 20.0;
  for (int i = 0; i < kSweepCount; ++i) values.push_back(-kSweepLimit + 2 * kSweepLimit * i / (kSweepCount - 1));

  const Format f = format_of(dtype);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-12.0, 12.0);
  std::uniform_real_distribution<double> exponent(f.min_exponent, f.max_exponent + 1);
  for (std::int64_t i = 0; i < random_count; ++i) {
    if (i % 2 == 0) {
      values.push_back(uniform(rng));
    } else {
      const double magnitude = std::exp2(exponent(rng));
      values.push_back((rng() & 1) ? -magnitude : magnitude);
    }
  }
  return HostBuffer(dtype, values);
}

HostBuffer uniform(DType dtype, std::int64_t count, double limit, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> values_in(-limit, limit);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (double& v : values) v = values_in(rng);
  return HostBuffer(dtype, values);
}

HostBuffer gradients(DType dtype, std::int64_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-2.0, 2.0);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    values[i] = i % 17 == 0 ? 1.0 : i % 29 == 0 ? 0.0 : uniform(rng);
  }
  return HostBuffer(dtype, values);
}

}  // namespace actk::validation
