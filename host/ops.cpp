// The public passes: validate every argument, choose the backend, hand the call over.
// Validation finishes before any backend runs, so bad input never writes anything.
#include <cmath>
#include <string>

#include "actk/error.hpp"
#include "actk/ops.hpp"
#include "host/backend.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk {
namespace {

// Which field of the ElementwiseCall a view fills.
enum class Slot { input, dy, y, dx };

struct Arg {
  const char* name;
  const void* data;
  DType dtype;
  std::int64_t count;
  Slot slot;

  bool is_output() const { return slot == Slot::y || slot == Slot::dx; }
};

class CallChecker {
 public:
  CallChecker(const char* call, Activation activation) : call_(call), activation_(activation) {}

  [[noreturn]] void fail(const std::string& argument, const std::string& reason) const {
    throw Error(call_, activation_name(activation_), argument, reason);
  }

  void check_activation() const {
    if (static_cast<int>(activation_) < 0 || static_cast<int>(activation_) >= kElementwiseActivationCount) {
      throw Error(call_, "activation " + std::to_string(static_cast<int>(activation_)), "activation",
                  "not an elementwise activation of the catalogue");
    }
  }

  void check_views(const Arg* args, int n) const {
    const Arg& first = args[0];
    for (int i = 0; i < n; ++i) {
      const Arg& a = args[i];
      if (a.count < 0) fail(a.name, "count " + std::to_string(a.count) + " is negative");
      if (static_cast<unsigned>(a.dtype) > static_cast<unsigned>(DType::bf16)) {
        fail(a.name, "unknown dtype " + std::to_string(static_cast<int>(a.dtype)));
      }
      if (a.count != first.count) {
        fail(a.name, "count " + std::to_string(a.count) + " does not match " + first.name + "'s count " +
                         std::to_string(first.count));
      }
      if (a.dtype != first.dtype) {
        fail(a.name, std::string("dtype ") + dtype_name(a.dtype) + " does not match " + first.name + "'s dtype " +
                         dtype_name(first.dtype));
      }
      if (a.count > 0 && a.data == nullptr) fail(a.name, "null pointer with a non-zero count");
    }
    if (first.count == 0) return;
    // An output may be exactly an input (in place); any other overlap is an error.
    for (int i = 0; i < n; ++i) {
      if (!args[i].is_output()) continue;
      for (int j = 0; j < n; ++j) {
        if (i == j) continue;
        const bool both_outputs = args[j].is_output();
        if (!both_outputs && args[i].data == args[j].data) continue;
        if (both_outputs && j < i) continue;  // each pair of outputs once
        if (overlaps(args[i], args[j])) {
          fail(args[i].name, std::string(both_outputs ? "overlaps the other output " : "partially overlaps ") +
                                 args[j].name + (both_outputs ? "" : " (only exact in-place aliasing is allowed)"));
        }
      }
    }
  }

  void check_params(const ActivationParams& params) const {
    const ActivationInfo& entry = info(activation_);
    for (unsigned bit = 0; bit < 8; ++bit) {
      const Param param = static_cast<Param>(bit);
      if (!entry.uses(param)) continue;
      const float v = param_value(params, param);
      const bool may_be_infinite = param == Param::threshold;
      if (std::isnan(v) || (!may_be_infinite && std::isinf(v))) {
        fail(param_name(param), "must be finite, got " + std::to_string(v));
      }
    }
    if (entry.uses(Param::beta) && params.beta == 0.0f) fail("beta", "must be non-zero");
    if (activation_ == Activation::celu && params.alpha == 0.0f) fail("alpha", "must be non-zero for celu");
    if (entry.uses(Param::min_val) && params.min_val > params.max_val) {
      fail("min_val", "min_val " + std::to_string(params.min_val) + " is greater than max_val " +
                          std::to_string(params.max_val));
    }
  }

  void check_from_output(const ActivationParams& params) const {
    if (supports_backward_from_output(activation_, params)) return;
    const ActivationInfo& entry = info(activation_);
    if (entry.from_output == FromOutput::never) {
      fail("y", "the output does not determine the derivative of this activation; use backward from x");
    }
    fail("y", "the output determines the derivative only when the activation's parameter is > 0");
  }

  // The backend that will run the call, after checking that every pointer suits it.
  Backend choose_backend(const Options& options, const Arg* args, int n) const {
    Backend backend = options.backend;
    if (static_cast<unsigned>(backend) > static_cast<unsigned>(Backend::cuda)) fail("options.backend", "unknown backend");
#ifdef ACTK_WITH_CUDA
    if (args[0].count == 0) return backend == Backend::automatic ? Backend::cpu : backend;
    if (backend == Backend::cuda) {
      std::string why;
      if (!cuda::device_available(&why)) fail("options.backend", "the cuda backend is unavailable: " + why);
    }
    for (int i = 0; i < n; ++i) {
      const bool on_device = cuda::memory_space(args[i].data) == cuda::MemorySpace::device;
      const Backend wanted = on_device ? Backend::cuda : Backend::cpu;
      if (backend == Backend::automatic && i == 0) backend = wanted;
      const bool cpu_side = backend != Backend::cuda;
      if (on_device == cpu_side) {
        fail(args[i].name, std::string(on_device ? "device" : "host") + " pointer given to the " +
                               backend_name(backend) + " backend" +
                               (options.backend == Backend::automatic ? " (chosen from " + std::string(args[0].name) + ")"
                                                                      : std::string()));
      }
    }
    return backend;
#else
    (void)args;
    (void)n;
    if (backend == Backend::cuda) {
      fail("options.backend", "the cuda backend is unavailable: actk was built without CUDA");
    }
    return backend == Backend::automatic ? Backend::cpu : backend;
#endif
  }

  Backend run(const detail::ElementwiseCall& call, Backend backend) const {
    if (call.count == 0) return backend;
    switch (backend) {
      case Backend::reference: detail::reference_elementwise(call); break;
      case Backend::cpu:
      case Backend::automatic: detail::cpu_elementwise(call); break;
      case Backend::cuda: {
#ifdef ACTK_WITH_CUDA
        const std::string error = cuda::launch_elementwise(call);
        if (!error.empty()) fail("launch", "CUDA error: " + error);
#endif
        break;
      }
    }
    return backend;
  }

 private:
  static bool overlaps(const Arg& a, const Arg& b) {
    const auto begin_a = reinterpret_cast<std::uintptr_t>(a.data);
    const auto begin_b = reinterpret_cast<std::uintptr_t>(b.data);
    const auto end_a = begin_a + static_cast<std::uintptr_t>(a.count) * dtype_size(a.dtype);
    const auto end_b = begin_b + static_cast<std::uintptr_t>(b.count) * dtype_size(b.dtype);
    return begin_a < end_b && begin_b < end_a;
  }

  const char* call_;
  Activation activation_;
};

Backend dispatch(const char* call_name, Activation activation, Pass pass, const Arg* args, int n,
                 const Options& options) {
  const CallChecker check(call_name, activation);
  check.check_activation();
  check.check_views(args, n);
  check.check_params(options.params);
  if (pass == Pass::backward_from_output) check.check_from_output(options.params);
  const Backend backend = check.choose_backend(options, args, n);

  detail::ElementwiseCall call{};
  call.activation = activation;
  call.pass = pass;
  call.dtype = args[0].dtype;
  call.params = options.params;
  call.count = args[0].count;
  call.accumulate = options.accumulate && pass != Pass::forward;
  call.stream = options.stream;
  for (int i = 0; i < n; ++i) {
    void* data = const_cast<void*>(args[i].data);  // outputs came in as TensorView
    switch (args[i].slot) {
      case Slot::input: call.x = data; break;
      case Slot::dy: call.dy = data; break;
      case Slot::y: call.y = data; break;
      case Slot::dx: call.dx = data; break;
    }
  }
  return check.run(call, backend);
}

}  // namespace

const char* backend_name(Backend backend) noexcept {
  switch (backend) {
    case Backend::automatic: return "auto";
    case Backend::reference: return "reference";
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
  }
  return "?";
}

const char* pass_name(Pass pass) noexcept {
  switch (pass) {
    case Pass::forward: return "forward";
    case Pass::backward: return "backward";
    case Pass::backward_from_output: return "backward_from_output";
    case Pass::forward_backward: return "forward_backward";
  }
  return "?";
}

bool backend_available(Backend backend, std::string* why) {
  if (backend != Backend::cuda) return true;
#ifdef ACTK_WITH_CUDA
  return cuda::device_available(why);
#else
  if (why) *why = "actk was built without CUDA";
  return false;
#endif
}

Backend forward(Activation activation, ConstTensorView x, TensorView y, const Options& options) {
  const Arg args[] = {{"x", x.data, x.dtype, x.count, Slot::input}, {"y", y.data, y.dtype, y.count, Slot::y}};
  return dispatch("forward", activation, Pass::forward, args, 2, options);
}

Backend backward(Activation activation, ConstTensorView x, ConstTensorView dy, TensorView dx,
                 const Options& options) {
  const Arg args[] = {{"x", x.data, x.dtype, x.count, Slot::input},
                      {"dy", dy.data, dy.dtype, dy.count, Slot::dy},
                      {"dx", dx.data, dx.dtype, dx.count, Slot::dx}};
  return dispatch("backward", activation, Pass::backward, args, 3, options);
}

Backend backward_from_output(Activation activation, ConstTensorView y, ConstTensorView dy, TensorView dx,
                             const Options& options) {
  const Arg args[] = {{"y", y.data, y.dtype, y.count, Slot::input},
                      {"dy", dy.data, dy.dtype, dy.count, Slot::dy},
                      {"dx", dx.data, dx.dtype, dx.count, Slot::dx}};
  return dispatch("backward_from_output", activation, Pass::backward_from_output, args, 3, options);
}

Backend forward_backward(Activation activation, ConstTensorView x, ConstTensorView dy, TensorView y,
                         TensorView dx, const Options& options) {
  const Arg args[] = {{"x", x.data, x.dtype, x.count, Slot::input},
                      {"dy", dy.data, dy.dtype, dy.count, Slot::dy},
                      {"y", y.data, y.dtype, y.count, Slot::y},
                      {"dx", dx.data, dx.dtype, dx.count, Slot::dx}};
  return dispatch("forward_backward", activation, Pass::forward_backward, args, 4, options);
}

}  // namespace actk
