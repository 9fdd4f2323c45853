// The reference backend against the independent oracle: tests/data/golden.txt, written by
// tests/data/gen_golden.py with mpmath at 30 digits. f32 and f64 within 1 ulp.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support.hpp"

namespace actk {
namespace {

struct GoldenPoint {
  ActivationParams params;
  std::string params_text;
  double x;
  std::string forward;     // decimal text: rounded by strtod/strtof, once, to each type
  std::string derivative;
};

ActivationParams parse_params(const std::string& text) {
  ActivationParams p;
  if (text == "-") return p;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const float value = std::strtof(item.c_str() + eq + 1, nullptr);
    bool known = false;
    for (unsigned bit = 0; bit < 6; ++bit) {
      const Param param = static_cast<Param>(bit);
      if (key != param_name(param)) continue;
      known = true;
      switch (param) {
        case Param::negative_slope: p.negative_slope = value; break;
        case Param::alpha: p.alpha = value; break;
        case Param::beta: p.beta = value; break;
        case Param::threshold: p.threshold = value; break;
        case Param::min_val: p.min_val = value; break;
        case Param::max_val: p.max_val = value; break;
      }
    }
    if (!known) ADD_FAILURE() << "unknown parameter in golden.txt: " << key;
  }
  return p;
}

const std::map<Activation, std::vector<GoldenPoint>>& golden() {
  static const auto table = [] {
    std::map<Activation, std::vector<GoldenPoint>> t;
    std::ifstream in(std::string(ACTK_SOURCE_DIR) + "/tests/data/golden.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name, params, x;
      GoldenPoint point;
      fields >> name >> params >> x >> point.forward >> point.derivative;
      const auto activation = activation_from_name(name);
      if (!activation) continue;
      point.params = parse_params(params);
      point.params_text = params;
      point.x = std::strtod(x.c_str(), nullptr);
      t[*activation].push_back(point);
    }
    return t;
  }();
  return table;
}

template <class T>
T parse_value(const std::string& text) {
  if constexpr (std::is_same_v<T, float>) {
    return std::strtof(text.c_str(), nullptr);
  } else {
    return std::strtod(text.c_str(), nullptr);
  }
}

struct GoldenCase {
  Activation activation;
  DType dtype;
  bool derivative;
};

class Golden : public ::testing::TestWithParam<GoldenCase> {
 protected:
  template <class T>
  void check() {
    const GoldenCase c = GetParam();
    const auto it = golden().find(c.activation);
    ASSERT_NE(it, golden().end()) << "no golden values for " << activation_name(c.activation);
    ASSERT_GE(it->second.size(), 150u);
    double max_ulp = 0;
    for (const GoldenPoint& point : it->second) {
      Options options;
      options.backend = Backend::reference;
      options.params = point.params;
      const T x = static_cast<T>(point.x);
      ASSERT_EQ(static_cast<double>(x), point.x) << "golden inputs are representable in f32";
      T got{};
      if (c.derivative) {
        const T one = 1;
        backward(c.activation, ConstTensorView(&x, 1), ConstTensorView(&one, 1), TensorView(&got, 1), options);
      } else {
        forward(c.activation, ConstTensorView(&x, 1), TensorView(&got, 1), options);
      }
      const T want = parse_value<T>(c.derivative ? point.derivative : point.forward);
      const double ulp = validation::ulp_distance(dtype_of<T>::value, &got, &want);
      max_ulp = std::fmax(max_ulp, ulp);
      EXPECT_LE(ulp, 1.0) << activation_name(c.activation) << "(" << point.params_text << ") "
                          << (c.derivative ? "derivative" : "forward") << " at x=" << point.x << ": got "
                          << static_cast<double>(got) << " want " << static_cast<double>(want);
    }
    RecordProperty("max_ulp", std::to_string(max_ulp));
    std::printf("[ golden   ] %s %s %s: %zu points, max %.0f ulp\n", activation_name(c.activation),
                dtype_name(c.dtype), c.derivative ? "derivative" : "forward", it->second.size(), max_ulp);
  }
};

TEST_P(Golden, WithinOneUlp) {
  if (GetParam().dtype == DType::f32) {
    check<float>();
  } else {
    check<double>();
  }
}

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (Activation a : testing::all_activations()) {
    for (DType d : {DType::f32, DType::f64}) {
      for (bool derivative : {false, true}) cases.push_back({a, d, derivative});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Reference, Golden, ::testing::ValuesIn(golden_cases()), [](const auto& param) {
  return std::string(activation_name(param.param.activation)) + "_" + dtype_name(param.param.dtype) +
         (param.param.derivative ? "_derivative" : "_forward");
});

}  // namespace
}  // namespace actk
