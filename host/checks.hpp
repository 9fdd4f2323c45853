// Argument validation shared by every public call (internal). Each check throws actk::Error
// naming the call, the activation, the argument and the reason; none writes anything.
#pragma once

#include <cstdint>
#include <string>

#include "actk/catalogue.hpp"
#include "actk/ops.hpp"
#include "actk/types.hpp"

namespace actk::detail {

/// One array argument as the checks see it: `rows` rows of `cols` elements, `row_stride`
/// elements apart (a 1-D view is one row).
struct Arg {
  const char* name;
  const void* data;
  std::int64_t count;         ///< elements the view describes
  std::size_t element_size;   ///< bytes per element
  std::int64_t rows, cols, row_stride;
  bool output;

  static Arg of(const char* name, ConstTensorView v, bool output) {
    return {name, v.data, v.count, dtype_size(v.dtype), 1, v.count, v.count, output};
  }
  /// Elements from data to one past the last one touched.
  std::int64_t span() const { return rows > 0 && cols > 0 ? (rows - 1) * row_stride + cols : 0; }
};

class CallChecker {
 public:
  /// `activation` is the catalogue entry the call names (checked by check_activation).
  CallChecker(const char* call, Activation activation) : call_(call), activation_(activation) {}

  [[noreturn]] void fail(const std::string& argument, const std::string& reason) const;

  /// The activation is an entry of the catalogue of the `kind` the call needs.
  void check_activation(ActivationKind kind) const;

  /// dtype is a known one, and the same as `reference`'s (named `reference_name`).
  void check_dtype(const char* name, DType dtype, const char* reference_name, DType reference) const;

  /// count is not negative, and the pointer is neither null nor misaligned for its element type
  /// when count > 0.
  void check_pointer(const Arg& arg) const;

  /// arg.count == expected; `what` describes where `expected` comes from ("x's count").
  void check_count(const Arg& arg, std::int64_t expected, const std::string& what) const;

  /// An output may be exactly an input (in place); any other overlap of an output with another
  /// argument is an error. Empty arguments are ignored.
  void check_overlaps(const Arg* args, int n) const;

  /// The activation's parameters, as a call on `dtype` data computes with them
  /// (params_for_compute: rounded to f32 unless f64), are in range (finite, beta != 0,
  /// min_val <= max_val, ...); returns those parameters, which the backends receive.
  ActivationParams check_params(const ActivationParams& params, DType dtype) const;

  /// Backward from the output is defined for this activation and these (compute) parameters.
  void check_from_output(const ActivationParams& params, DType dtype) const;

  /// The backend that runs the call, after checking that every non-empty pointer suits it:
  /// device memory for `cuda`, host memory for the others; `automatic` follows the first.
  Backend choose_backend(const Options& options, const Arg* args, int n) const;

  /// Turns a CUDA launch error string into the library's error (no-op when empty).
  void check_launch(const std::string& cuda_error) const;

 private:
  const char* call_;
  Activation activation_;
};

}  // namespace actk::detail
