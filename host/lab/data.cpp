#include "host/lab/data.hpp"

#include <cmath>

namespace actk::lab {

const char* data_set_name(DataSet set) noexcept {
  switch (set) {
    case DataSet::spirals: return "spirals";
    case DataSet::xor_: return "xor";
    case DataSet::circles: return "circles";
  }
  return "?";
}

std::uint64_t Random::next() noexcept {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Random::normal() noexcept {
  const double u = 1.0 - uniform();  // (0, 1]: the log is finite
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * uniform());
}

Points make_points(DataSet set, int count, std::uint64_t seed) {
  Random random(seed);
  Points points;
  points.x.reserve(2 * static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const int label = i % 2;
    double x0 = 0, x1 = 0;
    switch (set) {
      case DataSet::spirals: {
        // The radius grows with the angle; the second arm is the first turned by pi. sqrt spreads
        // the points evenly along the arm's length.
        const double turns = 1.5, t = std::sqrt(random.uniform()) * turns * 2 * M_PI;
        const double r = t / (turns * 2 * M_PI), angle = t + label * M_PI;
        x0 = r * std::cos(angle) + 0.02 * random.normal();
        x1 = r * std::sin(angle) + 0.02 * random.normal();
        break;
      }
      case DataSet::xor_: {
        x0 = 2 * random.uniform() - 1;
        x1 = 2 * random.uniform() - 1;
        if ((x0 * x1 > 0) != (label == 1)) x1 = -x1;
        break;
      }
      case DataSet::circles: {
        const double angle = 2 * M_PI * random.uniform(), r = (label ? 1.0 : 0.5) + 0.05 * random.normal();
        x0 = r * std::cos(angle);
        x1 = r * std::sin(angle);
        break;
      }
    }
    points.x.push_back(static_cast<float>(x0));
    points.x.push_back(static_cast<float>(x1));
    points.label.push_back(label);
  }
  return points;
}

}  // namespace actk::lab
