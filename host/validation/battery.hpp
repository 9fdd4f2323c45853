// The validation battery: the inputs every backend is checked on (see README.md, "Validation").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "actk/catalogue.hpp"
#include "actk/types.hpp"

namespace actk::validation {

/// A host array of one storage type.
class HostBuffer {
 public:
  HostBuffer(DType dtype, std::int64_t count) : dtype_(dtype), count_(count), bytes_(count * dtype_size(dtype)) {}
  /// Each value rounded once to `dtype` (round to nearest even).
  HostBuffer(DType dtype, const std::vector<double>& values);

  DType dtype() const { return dtype_; }
  std::int64_t count() const { return count_; }
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  TensorView view() { return {data(), dtype_, count_}; }
  ConstTensorView view() const { return {data(), dtype_, count_}; }
  double at(std::int64_t index) const;
  /// Every byte set to `byte` (a canary that a call must leave untouched).
  void fill_bytes(unsigned char byte);
  bool operator==(const HostBuffer& other) const { return dtype_ == other.dtype_ && bytes_ == other.bytes_; }

 private:
  DType dtype_;
  std::int64_t count_;
  std::vector<unsigned char> bytes_;
};

/// Every special value of `dtype`: +-0, +-inf, NaN, the extreme subnormals and normals, the
/// largest finite value, 1 and its neighbours, and every power of two of the type's range with its
/// negation (which sweeps |x| from the smallest subnormal to the largest finite value).
std::vector<double> special_values(DType dtype);

/// The points where this activation changes formula (0, the hardtanh bounds, +-3, 6, the softplus
/// threshold, ...) and the two representable neighbours on either side of each.
std::vector<double> kink_values(Activation activation, const ActivationParams& params, DType dtype);

/// The battery for one activation and dtype: special values, kinks, a dense sweep over
/// [-sweep_limit, sweep_limit] of `sweep_count` points, and `random_count` seeded random values
/// (half uniform on [-12, 12], half with a log-uniform magnitude over the whole range).
/// For f16 and bf16 pass `exhaustive` to get all 65,536 bit patterns instead.
HostBuffer battery(Activation activation, const ActivationParams& params, DType dtype, std::int64_t random_count,
                   bool exhaustive, std::uint64_t seed = 0x5eed);

/// The realistic inputs that actk-bench and actk compare time (the battery's special values take
/// slow paths that training data rarely does): x uniform on [-kRealisticX, kRealisticX], which
/// reaches every branch of every activation, and dy uniform on [-kRealisticDy, kRealisticDy].
inline constexpr float kRealisticX = 8.0f;
inline constexpr float kRealisticDy = 2.0f;

/// `count` seeded values uniform on [-limit, limit], rounded to `dtype`.
HostBuffer uniform(DType dtype, std::int64_t count, double limit, std::uint64_t seed);

/// Upstream gradients for a battery of `count` elements: seeded values in [-2, 2] with a few
/// exact ones and zeros.
HostBuffer gradients(DType dtype, std::int64_t count, std::uint64_t seed = 0x6a7d);

}  // namespace actk::validation
