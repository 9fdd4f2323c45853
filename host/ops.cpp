// The public passes: validate every argument, choose the backend, hand the call over.
// Validation finishes before any backend runs, so bad input never writes anything.
#include <string>

#include "actk/ops.hpp"
#include "host/backend.hpp"
#include "host/checks.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk {
namespace {

using detail::Arg;

// The four views of an elementwise call; the absent ones are empty.
struct Views {
  ConstTensorView input;  // x, or y for backward_from_output
  ConstTensorView dy;
  TensorView y;
  TensorView dx;
};

Backend dispatch(const char* call_name, Activation activation, Pass pass, const Views& v, const Options& options) {
  const detail::CallChecker check(call_name, activation);
  check.check_activation(ActivationKind::elementwise);
  const char* input_name = pass == Pass::backward_from_output ? "y" : "x";
  const bool has_dy = pass != Pass::forward;
  const bool has_y = pass == Pass::forward || pass == Pass::forward_backward;
  const bool has_dx = pass != Pass::forward;

  struct Checked {
    Arg arg;
    DType dtype;
  };
  Checked views[4];
  int n = 0;
  views[n++] = {Arg::of(input_name, v.input, false), v.input.dtype};
  if (has_dy) views[n++] = {Arg::of("dy", v.dy, false), v.dy.dtype};
  if (has_y) views[n++] = {Arg::of("y", v.y, true), v.y.dtype};
  if (has_dx) views[n++] = {Arg::of("dx", v.dx, true), v.dx.dtype};
  Arg args[4];
  for (int i = 0; i < n; ++i) {
    check.check_pointer(views[i].arg);
    check.check_dtype(views[i].arg.name, views[i].dtype, input_name, v.input.dtype);
    check.check_count(views[i].arg, v.input.count, std::string(input_name) + "'s count");
    args[i] = views[i].arg;
  }
  if (v.input.count > 0) check.check_overlaps(args, n);
  const ActivationParams params = check.check_params(options.params, v.input.dtype);
  if (pass == Pass::backward_from_output) check.check_from_output(params, v.input.dtype);
  const Backend backend = check.choose_backend(options, args, n);
  if (v.input.count == 0) return backend;

  detail::ElementwiseCall call{};
  call.activation = activation;
  call.pass = pass;
  call.dtype = v.input.dtype;
  call.params = params;
  call.count = v.input.count;
  call.accumulate = options.accumulate && pass != Pass::forward;
  call.stream = options.stream;
  call.x = v.input.data;
  call.dy = has_dy ? v.dy.data : nullptr;
  call.y = has_y ? v.y.data : nullptr;
  call.dx = has_dx ? v.dx.data : nullptr;
  switch (backend) {
    case Backend::reference: detail::reference_elementwise(call); break;
    case Backend::cuda:
#ifdef ACTK_WITH_CUDA
      check.check_launch(cuda::launch_elementwise(call));
#endif
      break;
    case Backend::cpu:
    case Backend::automatic: detail::cpu_elementwise(call); break;
  }
  return backend;
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
  return dispatch("forward", activation, Pass::forward, {x, {}, y, {}}, options);
}

Backend backward(Activation activation, ConstTensorView x, ConstTensorView dy, TensorView dx,
                 const Options& options) {
  return dispatch("backward", activation, Pass::backward, {x, dy, {}, dx}, options);
}

Backend backward_from_output(Activation activation, ConstTensorView y, ConstTensorView dy, TensorView dx,
                             const Options& options) {
  return dispatch("backward_from_output", activation, Pass::backward_from_output, {y, dy, {}, dx}, options);
}

Backend forward_backward(Activation activation, ConstTensorView x, ConstTensorView dy, TensorView y,
                         TensorView dx, const Options& options) {
  return dispatch("forward_backward", activation, Pass::forward_backward, {x, dy, y, dx}, options);
}

}  // namespace actk
