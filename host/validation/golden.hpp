// The golden values of the independent oracle (tests/data/golden.txt, written by
// tests/data/gen_golden.py with mpmath at 30 significant digits), compiled into the library's
// validation engine so that `actk validate` checks the reference backend against them anywhere.
#pragma once

#include <string>
#include <vector>

#include "actk/catalogue.hpp"

namespace actk::validation {

struct GoldenPoint {
  Activation activation;
  ActivationParams params;
  std::string params_text;  ///< "-" for the defaults, else "alpha=0x1p-1,..."
  double x;                 ///< exactly representable in f32
  std::string forward;      ///< the true f(x), decimal: each type rounds it once when parsing
  std::string derivative;   ///< the true f'(x)
};

/// Every point of the table, in file order.
const std::vector<GoldenPoint>& golden_points();

/// A decimal golden value rounded once to float or double.
float golden_as_float(const std::string& text);
double golden_as_double(const std::string& text);

}  // namespace actk::validation
