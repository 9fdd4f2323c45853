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

/// Whether a point applies to calls on `dtype` data: those compute with the parameters rounded
/// to their compute type (params_for_compute), so a point serves them only where its parameters
/// are values of that type; only the parameters the activation reads count (leaky_relu's default
/// 0.01 serves f64 only; f32 has float32-rounded sets).
bool serves(const GoldenPoint& point, DType dtype);

/// A decimal golden value rounded once to float or double.
float golden_as_float(const std::string& text);
double golden_as_double(const std::string& text);

}  // namespace actk::validation
