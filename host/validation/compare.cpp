#include "host/validation/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace actk::validation {
namespace {

// Maps a sign-magnitude bit pattern to an integer that orders like the values, with +0 == -0.
std::int64_t ordered(std::uint64_t bits, int width) {
  const std::uint64_t sign_bit = std::uint64_t{1} << (width - 1);
  const auto magnitude = static_cast<std::int64_t>(bits & (sign_bit - 1));
  return (bits & sign_bit) ? -magnitude : magnitude;
}

std::uint64_t load_bits(DType dtype, const void* data, std::int64_t index) {
  const std::size_t size = dtype_size(dtype);
  std::uint64_t bits = 0;
  std::memcpy(&bits, static_cast<const unsigned char*>(data) + index * static_cast<std::int64_t>(size), size);
  return bits;
}

}  // namespace

double element_as_double(DType dtype, const void* data, std::int64_t index) {
  const std::uint64_t bits = load_bits(dtype, data, index);
  switch (dtype) {
    case DType::f64: {
      double v;
      std::memcpy(&v, &bits, sizeof v);
      return v;
    }
    case DType::f32: {
      const auto narrow = static_cast<std::uint32_t>(bits);
      float v;
      std::memcpy(&v, &narrow, sizeof v);
      return v;
    }
    case DType::f16: return to_float(Half{static_cast<std::uint16_t>(bits)});
    case DType::bf16: return to_float(BFloat16{static_cast<std::uint16_t>(bits)});
  }
  return 0;
}

double ulp_size(DType dtype, double value) {
  int digits = 24, min_exponent = -149;  // significand bits; exponent of the smallest subnormal
  switch (dtype) {
    case DType::f64: digits = 53, min_exponent = -1074; break;
    case DType::f16: digits = 11, min_exponent = -24; break;
    case DType::bf16: digits = 8, min_exponent = -133; break;
    case DType::f32: break;
  }
  if (value == 0 || !std::isfinite(value)) return std::ldexp(1.0, min_exponent);
  return std::ldexp(1.0, std::max(std::ilogb(value) - digits + 1, min_exponent));
}

double ulp_distance(DType dtype, const void* a, const void* b) {
  const double va = element_as_double(dtype, a, 0);
  const double vb = element_as_double(dtype, b, 0);
  if (std::isnan(va) || std::isnan(vb)) {
    return std::isnan(va) && std::isnan(vb) ? 0.0 : std::numeric_limits<double>::infinity();
  }
  const int width = static_cast<int>(dtype_size(dtype)) * 8;
  const std::int64_t oa = ordered(load_bits(dtype, a, 0), width);
  const std::int64_t ob = ordered(load_bits(dtype, b, 0), width);
  return static_cast<double>(oa > ob ? static_cast<std::uint64_t>(oa - ob) : static_cast<std::uint64_t>(ob - oa));
}

Tolerance tolerance(Activation activation, DType dtype, Pass pass, Backend backend) {
  if (backend == Backend::reference) return {0.0, 0.0};
  const bool backward = pass != Pass::forward;
  // A gated op multiplies once more in the compute type: act(gate) * up forward, and
  // dy * up * act'(gate) backward; each product may add a rounding, and so may the clamped
  // entries' up + 1.
  const bool gated = is_known(activation) && info(activation).kind == ActivationKind::gated;
  const double extra = gated ? (backward ? 2.0 : 1.0) + (info(activation).uses(Param::limit) ? 1.0 : 0.0) : 0.0;
  switch (dtype) {
    case DType::f16:
    case DType::bf16:
      // Computed in f32 and rounded once: at most one ulp off a correctly rounded result.
      return {1.0, backward ? 0x1p-22 : 0.0};
    case DType::f32:
      return {(backward ? 6.0 : 4.0) + extra, backward ? 0x1p-22 : 0x1p-126};
    case DType::f64:
      return {(backward ? 6.0 : 4.0) + extra, backward ? 0x1p-50 : 0x1p-1022};
  }
  return {0.0, 0.0};
}

Comparison compare(DType dtype, const void* got, const void* want, const void* dy, std::int64_t count,
                   Tolerance tol) {
  Comparison result;
  result.checked = count;
  const std::size_t size = dtype_size(dtype);
  const auto* got_bytes = static_cast<const unsigned char*>(got);
  const auto* want_bytes = static_cast<const unsigned char*>(want);
  for (std::int64_t i = 0; i < count; ++i) {
    const double g = element_as_double(dtype, got, i);
    const double w = element_as_double(dtype, want, i);
    bool ok;
    const bool one_infinite = std::isinf(g) != std::isinf(w) && !std::isnan(g) && !std::isnan(w);
    const bool at_overflow = one_infinite && ulp_distance(dtype, got_bytes + i * size, want_bytes + i * size) <= tol.max_ulp;
    if ((!std::isfinite(g) || !std::isfinite(w)) && !at_overflow) {
      // The largest finite value and infinity are one ulp apart: a result that rounds past the
      // top of the range is judged as any other rounding (above); everything else must match.
      ok = (std::isnan(g) && std::isnan(w)) || g == w;
      if (!ok) ++result.nonfinite_mismatches;
    } else if (at_overflow) {
      ok = true;
      result.max_ulp = std::fmax(result.max_ulp, 1.0);
    } else {
      const double ulp = ulp_distance(dtype, got_bytes + i * size, want_bytes + i * size);
      const double abs_error = std::fabs(g - w);
      const double scale = dy ? std::fmax(1.0, std::fabs(element_as_double(dtype, dy, i))) : 1.0;
      ok = ulp <= tol.max_ulp || abs_error <= tol.abs_floor * scale;
      if (ulp > result.max_ulp) {
        result.max_ulp = ulp;
        if (result.failures == 0) result.worst_index = i;
      }
      result.max_abs = std::fmax(result.max_abs, abs_error);
    }
    if (!ok) {
      if (result.failures == 0) result.worst_index = i;
      ++result.failures;
    }
  }
  return result;
}

Comparison compare_bits(DType dtype, const void* got, const void* want, std::int64_t count) {
  Comparison result;
  result.checked = count;
  const std::size_t size = dtype_size(dtype);
  const auto* got_bytes = static_cast<const unsigned char*>(got);
  const auto* want_bytes = static_cast<const unsigned char*>(want);
  for (std::int64_t i = 0; i < count; ++i) {
    if (std::memcmp(got_bytes + i * size, want_bytes + i * size, size) == 0) continue;
    const double g = element_as_double(dtype, got, i), w = element_as_double(dtype, want, i);
    if (std::isnan(g) && std::isnan(w)) continue;
    if (std::isnan(g) != std::isnan(w) || std::isinf(g) || std::isinf(w)) ++result.nonfinite_mismatches;
    result.max_ulp = std::fmax(result.max_ulp, ulp_distance(dtype, got_bytes + i * size, want_bytes + i * size));
    if (!std::isnan(g) && !std::isnan(w)) result.max_abs = std::fmax(result.max_abs, std::fabs(g - w));
    if (result.failures++ == 0) result.worst_index = i;
  }
  return result;
}

namespace {

// compare_sums with the absolute floor of sum i given by floor_of(i).
template <class Floor>
Comparison compare_sums_with(DType dtype, const void* got, const void* want, const std::vector<double>& sum_abs,
                             std::int64_t count, Floor floor_of) {
  const double eps = dtype == DType::f64 ? 0x1p-52 : 0x1p-23;
  const std::size_t size = dtype_size(dtype);
  Comparison result;
  result.checked = count;
  for (std::int64_t i = 0; i < count; ++i) {
    const double g = element_as_double(dtype, got, i), w = element_as_double(dtype, want, i);
    if (!std::isfinite(g) || !std::isfinite(w)) {
      // As in compare(): the largest finite value and infinity are one ulp apart, so a sum that
      // rounds past the top of the range is within the 4 ulp as any other rounding would be.
      const bool one_infinite = std::isinf(g) != std::isinf(w) && !std::isnan(g) && !std::isnan(w);
      const bool at_overflow =
          one_infinite && ulp_distance(dtype, static_cast<const unsigned char*>(got) + i * size,
                                       static_cast<const unsigned char*>(want) + i * size) <= 4;
      if (!at_overflow && !((std::isnan(g) && std::isnan(w)) || g == w)) {
        ++result.nonfinite_mismatches;
        if (result.failures++ == 0) result.worst_index = i;
      }
      continue;
    }
    const double error = std::fabs(g - w);
    const double ulp = error / ulp_size(dtype, w);
    result.max_abs = std::fmax(result.max_abs, error);
    result.max_ulp = std::fmax(result.max_ulp, ulp);
    if (error > 4 * ulp_size(dtype, w) + 8 * eps * sum_abs[static_cast<std::size_t>(i)] + floor_of(i)) {
      if (result.failures++ == 0) result.worst_index = i;
    }
  }
  return result;
}

// The backward passes' absolute floor for one term with |dy| <= 1 (see tolerance()).
double term_floor(DType dtype) { return dtype == DType::f64 ? 0x1p-50 : 0x1p-22; }

}  // namespace

Comparison compare_sums(DType dtype, const void* got, const void* want, const std::vector<double>& sum_abs,
                        std::int64_t count, std::int64_t terms) {
  const double floor = static_cast<double>(terms) * term_floor(dtype);
  return compare_sums_with(dtype, got, want, sum_abs, count, [&](std::int64_t) { return floor; });
}

Comparison compare_sums(DType dtype, const void* got, const void* want, const std::vector<double>& sum_abs,
                        std::int64_t count, const std::vector<double>& floor_terms) {
  return compare_sums_with(dtype, got, want, sum_abs, count,
                           [&](std::int64_t i) { return floor_terms[static_cast<std::size_t>(i)] * term_floor(dtype); });
}

void merge(Comparison& into, const Comparison& part) {
  if (into.failures == 0 && (part.failures > 0 || part.max_ulp > into.max_ulp)) {
    into.worst_index = part.worst_index;
  }
  into.checked += part.checked;
  into.failures += part.failures;
  into.nonfinite_mismatches += part.nonfinite_mismatches;
  into.max_ulp = std::fmax(into.max_ulp, part.max_ulp);
  into.max_abs = std::fmax(into.max_abs, part.max_abs);
}

std::string describe_element(DType dtype, const void* x, const void* got, const void* want, std::int64_t index) {
  const std::size_t size = dtype_size(dtype);
  const auto* got_bytes = static_cast<const unsigned char*>(got) + index * static_cast<std::int64_t>(size);
  const auto* want_bytes = static_cast<const unsigned char*>(want) + index * static_cast<std::int64_t>(size);
  char text[256];
  std::snprintf(text, sizeof text, "x=%.9g (%a) got=%.17g want=%.17g (%g ulp)", element_as_double(dtype, x, index),
                element_as_double(dtype, x, index), element_as_double(dtype, got, index),
                element_as_double(dtype, want, index), ulp_distance(dtype, got_bytes, want_bytes));
  return text;
}

}  // namespace actk::validation
