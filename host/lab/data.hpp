// The lab's 2-D, two-class data sets, made in code from a seed: the same seed gives the same
// points on every machine (splitmix64 and Box-Muller, no <random> distribution).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace actk::lab {

enum class DataSet : std::uint8_t {
  spirals,  ///< two interleaved spirals of 1.5 turns: not linearly separable, nor nearly so
  xor_,     ///< the four quadrants of [-1, 1]^2, the class the sign of x0 * x1
  circles,  ///< a disc of radius 0.5 inside a ring at radius 1
};
inline constexpr DataSet kDataSets[] = {DataSet::spirals, DataSet::xor_, DataSet::circles};
const char* data_set_name(DataSet set) noexcept;

struct Points {
  std::vector<float> x;  ///< count x 2, row-major
  std::vector<int> label;
  int count() const noexcept { return static_cast<int>(label.size()); }
};

/// `count` points, half of each class, in about [-1, 1]^2.
Points make_points(DataSet set, int count, std::uint64_t seed);

/// A deterministic generator: uniform doubles in [0, 1) and standard normals.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept;
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() noexcept;

 private:
  std::uint64_t state_;
};

}  // namespace actk::lab
