#include "host/checks.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "actk/error.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk::detail {
namespace {

// A parameter's value as an error message shows it: the shortest form that reads back exactly.
std::string number(double value) {
  char text[32];
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value || std::isnan(value)) break;
  }
  return text;
}

// The calls that take activations of a kind, for the error that names the right ones.
const char* calls_of(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::elementwise:
      return "forward, backward, backward_from_output, forward_backward, forward_bias, backward_bias";
    case ActivationKind::prelu: return "prelu_forward, prelu_backward";
    case ActivationKind::maxout: return "maxout_forward, maxout_backward";
    case ActivationKind::gated: return "gated_forward, gated_backward";
  }
  return "?";
}

// Whether two views share a byte. Views with the same row stride can interleave without
// touching (the [gate | up] halves of one projection): then only their column windows matter.
bool overlaps(const Arg& a, const Arg& b) {
  const auto begin_a = reinterpret_cast<std::uintptr_t>(a.data);
  const auto begin_b = reinterpret_cast<std::uintptr_t>(b.data);
  const auto end_a = begin_a + static_cast<std::uintptr_t>(a.span()) * a.element_size;
  const auto end_b = begin_b + static_cast<std::uintptr_t>(b.span()) * b.element_size;
  if (!(begin_a < end_b && begin_b < end_a)) return false;
  const std::uintptr_t stride = static_cast<std::uintptr_t>(a.row_stride) * a.element_size;
  const bool same_stride = a.rows > 1 && b.rows > 1 && stride == static_cast<std::uintptr_t>(b.row_stride) * b.element_size;
  if (!same_stride) return true;
  // b's window starts `offset` bytes after a's in every row (mod the stride): disjoint when it
  // starts after a's window ends and ends before a's next window begins.
  const auto signed_stride = static_cast<std::intptr_t>(stride);
  const auto difference = static_cast<std::intptr_t>(begin_b - begin_a);
  const auto offset = static_cast<std::uintptr_t>((difference % signed_stride + signed_stride) % signed_stride);
  const std::uintptr_t width_a = static_cast<std::uintptr_t>(a.cols) * a.element_size;
  const std::uintptr_t width_b = static_cast<std::uintptr_t>(b.cols) * b.element_size;
  return !(offset >= width_a && offset + width_b <= stride);
}

}  // namespace

void CallChecker::fail(const std::string& argument, const std::string& reason) const {
  const std::string activation = is_known(activation_) ? activation_name(activation_)
                                                       : "activation " + std::to_string(static_cast<int>(activation_));
  throw Error(call_, activation, argument, reason);
}

void CallChecker::check_activation(ActivationKind kind) const {
  if (!is_known(activation_)) fail("activation", "not an entry of the catalogue");
  const ActivationInfo& entry = info(activation_);
  if (entry.kind != kind) {
    fail("activation", std::string("this call does not take ") + entry.name + "; use " + calls_of(entry.kind));
  }
}

void CallChecker::check_dtype(const char* name, DType dtype, const char* reference_name, DType reference) const {
  if (static_cast<unsigned>(dtype) > static_cast<unsigned>(DType::bf16)) {
    fail(name, "unknown dtype " + std::to_string(static_cast<int>(dtype)));
  }
  if (dtype != reference) {
    fail(name, std::string("dtype ") + dtype_name(dtype) + " does not match " + reference_name + "'s dtype " +
                   dtype_name(reference));
  }
}

void CallChecker::check_pointer(const Arg& arg) const {
  if (arg.count < 0) fail(arg.name, "count " + std::to_string(arg.count) + " is negative");
  if (arg.count > 0 && arg.data == nullptr) fail(arg.name, "null pointer with a non-zero count");
  // Element alignment is what C++ and CUDA need to load a value at all; the fast paths handle
  // any alignment beyond that.
  if (arg.count > 0 && reinterpret_cast<std::uintptr_t>(arg.data) % arg.element_size != 0) {
    fail(arg.name, "address is not a multiple of " + std::to_string(arg.element_size) +
                       " bytes, the size of one element");
  }
}

void CallChecker::check_count(const Arg& arg, std::int64_t expected, const std::string& what) const {
  if (arg.count != expected) {
    fail(arg.name, "count " + std::to_string(arg.count) + " does not match " + what + " " + std::to_string(expected));
  }
}

void CallChecker::check_overlaps(const Arg* args, int n) const {
  for (int i = 0; i < n; ++i) {
    if (!args[i].output || args[i].span() == 0) continue;
    for (int j = 0; j < n; ++j) {
      if (i == j || args[j].span() == 0) continue;
      const bool both_outputs = args[j].output;
      const bool exact = args[i].data == args[j].data && args[i].rows == args[j].rows && args[i].cols == args[j].cols &&
                         args[i].row_stride == args[j].row_stride && args[i].element_size == args[j].element_size;
      if (!both_outputs && exact) continue;
      if (both_outputs && j < i) continue;  // each pair of outputs once
      if (overlaps(args[i], args[j])) {
        fail(args[i].name, std::string(both_outputs ? "overlaps the other output " : "partially overlaps ") +
                               args[j].name + (both_outputs ? "" : " (only exact in-place aliasing is allowed)"));
      }
    }
  }
}

ActivationParams CallChecker::check_params(const ActivationParams& given, DType dtype) const {
  const ActivationInfo& entry = info(activation_);
  const ActivationParams params = params_for_compute(given, dtype);
  // "0.01" or, where rounding to the compute type changed it, "1e-50 (0 in f32)".
  auto shown = [&](Param param) {
    const double value = param_value(params, param), original = param_value(given, param);
    std::string text = number(original);
    if (value != original && !(std::isnan(value) && std::isnan(original))) {
      text += " (" + number(value) + " in " + dtype_name(DType::f32) + ")";
    }
    return text;
  };
  for (const Param param : kAllParams) {
    if (!entry.uses(param)) continue;
    const double v = param_value(params, param);
    const bool may_be_infinite = param == Param::threshold;
    if (std::isnan(v) || (!may_be_infinite && std::isinf(v))) fail(param_name(param), "must be finite, got " + shown(param));
  }
  if (entry.uses(Param::beta) && params.beta == 0.0) fail("beta", "must be non-zero, got " + shown(Param::beta));
  // CELU is defined for alpha > 0 (Barron, 2017): x / alpha then never grows e^(x/alpha) past
  // the range of the compute type.
  if (activation_ == Activation::celu && !(params.alpha > 0.0)) {
    fail("alpha", "must be > 0 for celu, got " + shown(Param::alpha));
  }
  // Below 2^-8 the f32 functor's tail clamp would leave a visible x e^-115 for huge |x|
  // (kernels/math/logistic.hpp, QuickGelu).
  if (entry.uses(Param::sigmoid_scale) && !(params.sigmoid_scale >= 0x1p-8)) {
    fail("sigmoid_scale", "must be >= 2^-8 (0.00390625), got " + shown(Param::sigmoid_scale));
  }
  if (entry.uses(Param::limit) && !(params.limit > 0.0)) fail("limit", "must be > 0, got " + shown(Param::limit));
  if (entry.uses(Param::min_val) && params.min_val > params.max_val) {
    fail("min_val", "min_val " + shown(Param::min_val) + " is greater than max_val " + shown(Param::max_val));
  }
  return params;
}

void CallChecker::check_from_output(const ActivationParams& params, DType dtype) const {
  if (supports_backward_from_output(activation_, params)) return;
  if (info(activation_).from_output == FromOutput::never) {
    fail("y", "the output does not determine the derivative of this activation; use backward from x");
  }
  fail("y", std::string("the output determines the derivative only when the activation's parameter is > 0") +
                (dtype == DType::f64 ? "" : " in f32, the compute type"));
}

Backend CallChecker::choose_backend(const Options& options, const Arg* args, int n) const {
  Backend backend = options.backend;
  if (static_cast<unsigned>(backend) > static_cast<unsigned>(Backend::cuda)) fail("options.backend", "unknown backend");
#ifdef ACTK_WITH_CUDA
  if (backend == Backend::cuda) {
    std::string why;
    if (!cuda::device_available(&why)) fail("options.backend", "the cuda backend is unavailable: " + why);
  }
  const char* chosen_from = nullptr;
  for (int i = 0; i < n; ++i) {
    if (args[i].count == 0 || !args[i].data) continue;
    const bool on_device = cuda::memory_space(args[i].data) == cuda::MemorySpace::device;
    if (backend == Backend::automatic) {
      backend = on_device ? Backend::cuda : Backend::cpu;
      chosen_from = args[i].name;
    }
    if (on_device != (backend == Backend::cuda)) {
      fail(args[i].name, std::string(on_device ? "device" : "host") + " pointer given to the " +
                             backend_name(backend) + " backend" +
                             (chosen_from ? " (chosen from " + std::string(chosen_from) + ")" : std::string()));
    }
  }
  return backend == Backend::automatic ? Backend::cpu : backend;
#else
  (void)args;
  (void)n;
  if (backend == Backend::cuda) fail("options.backend", "the cuda backend is unavailable: actk was built without CUDA");
  return backend == Backend::automatic ? Backend::cpu : backend;
#endif
}

void CallChecker::check_launch(const std::string& cuda_error) const {
  if (!cuda_error.empty()) fail("launch", "CUDA error: " + cuda_error);
}

}  // namespace actk::detail
