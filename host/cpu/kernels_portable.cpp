// The portable kernels: a scalar loop over the one functor per activation of
// kernels/activation_math.hpp (the same math the CUDA kernels use), in f32 for f32/f16/bf16 and
// in f64 for f64. Every machine runs it; f64 always does (see cpu_kernels.hpp).
#include <cmath>

#include "host/cpu/convert.hpp"
#include "host/cpu/cpu_kernels.hpp"
#include "kernels/activation_math.hpp"

namespace actk::cpu {
namespace {

template <template <class> class Functor, Pass kPass, class T>
void run_range(const detail::ElementwiseCall& call, std::int64_t begin, std::int64_t end) {
  using C = Compute<T>;
  const Functor<C> op(call.params);
  const T* x = static_cast<const T*>(call.x);
  const T* dy = static_cast<const T*>(call.dy);
  T* y = static_cast<T*>(call.y);
  T* dx = static_cast<T*>(call.dx);
  for (std::int64_t i = begin; i < end; ++i) {
    // All inputs of element i are read before any of its outputs is written (in place).
    const C xi = widen(x[i]);
    const bool nan = std::isnan(xi);
    if constexpr (kPass == Pass::forward) {
      y[i] = narrow<T>(nan ? xi : op.forward(xi));
    } else {
      C d;
      if constexpr (kPass == Pass::backward_from_output) {
        d = op.derivative_from_output(xi);
      } else {
        d = op.derivative(xi);
      }
      // dy * d, or fma(dy, d, dx): one rounding, the same formula as the avx2 and CUDA kernels.
      const C derivative = nan ? xi : d;
      const C g = call.accumulate ? std::fma(widen(dy[i]), derivative, widen(dx[i])) : widen(dy[i]) * derivative;
      if constexpr (kPass == Pass::forward_backward) {
        const C f = nan ? xi : op.forward(xi);
        dx[i] = narrow<T>(g);
        y[i] = narrow<T>(f);
      } else {
        dx[i] = narrow<T>(g);
      }
    }
  }
}

template <template <class> class Functor, class T>
RangeKernel pick_pass(Pass pass) {
  switch (pass) {
    case Pass::forward: return &run_range<Functor, Pass::forward, T>;
    case Pass::backward: return &run_range<Functor, Pass::backward, T>;
    case Pass::forward_backward: return &run_range<Functor, Pass::forward_backward, T>;
    case Pass::backward_from_output:
      if constexpr (math::HasDerivativeFromOutput<Functor<float>>::value) return &run_range<Functor, Pass::backward_from_output, T>;
      break;
  }
  return nullptr;
}

template <template <class> class Functor>
RangeKernel pick_dtype(const detail::ElementwiseCall& call) {
  switch (call.dtype) {
    case DType::f32: return pick_pass<Functor, float>(call.pass);
    case DType::f64: return pick_pass<Functor, double>(call.pass);
    case DType::f16: return pick_pass<Functor, Half>(call.pass);
    case DType::bf16: return pick_pass<Functor, BFloat16>(call.pass);
  }
  return nullptr;
}

}  // namespace

RangeKernel portable_kernel(const detail::ElementwiseCall& call) noexcept {
  switch (call.activation) {
#define ACTK_PORTABLE_CASE(id, Functor, params, from_output) \
  case Activation::id:                                       \
    return pick_dtype<math::Functor>(call);
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_PORTABLE_CASE)
#undef ACTK_PORTABLE_CASE
    default: break;  // the structured entries have kernels of their own
  }
  return nullptr;
}

}  // namespace actk::cpu
