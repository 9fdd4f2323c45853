#include "host/validation/golden.hpp"

#include <cstdlib>
#include <sstream>
#include <string_view>

namespace actk::validation {

std::string_view golden_text();  // generated from tests/data/golden.txt (golden_data.cpp.in)

namespace {

ActivationParams parse_params(const std::string& text) {
  ActivationParams p;
  if (text == "-") return p;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const double value = std::strtod(item.c_str() + eq + 1, nullptr);
    for (const Param param : kAllParams) {
      if (key == param_name(param)) set_param_value(p, param, value);
    }
  }
  return p;
}

}  // namespace

const std::vector<GoldenPoint>& golden_points() {
  static const std::vector<GoldenPoint> points = [] {
    std::vector<GoldenPoint> list;
    std::istringstream in{std::string(golden_text())};
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name, x;
      GoldenPoint point{};
      fields >> name >> point.params_text >> x >> point.forward >> point.derivative;
      const auto activation = activation_from_name(name);
      if (!activation) continue;
      point.activation = *activation;
      point.params = parse_params(point.params_text);
      point.x = std::strtod(x.c_str(), nullptr);
      list.push_back(std::move(point));
    }
    return list;
  }();
  return points;
}

bool serves(const GoldenPoint& point, DType dtype) {
  const ActivationParams rounded = params_for_compute(point.params, dtype);
  const ActivationInfo& entry = info(point.activation);
  for (const Param param : kAllParams) {
    if (entry.uses(param) && param_value(rounded, param) != param_value(point.params, param)) {
      return false;
    }
  }
  return true;
}

// strtof/strtod round correctly (once) and give a signed zero or infinity out of range.
float golden_as_float(const std::string& text) { return std::strtof(text.c_str(), nullptr); }
double golden_as_double(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

}  // namespace actk::validation
