// The portable kernels: a scalar loop over the functors of kernels/activation_math.hpp, in f32 for
// f32/f16/bf16 (the shared math of kernels/math/ on the scalar lane: the bits of the vector paths
// and of the CUDA kernels) and in f64 for f64. Every machine runs it; f64 always does (see
// cpu_kernels.hpp).
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
    // All inputs of element i are read before any of its outputs is written (in place). One
    // element is math::apply_pass, the function the CUDA kernels run on each lane.
    const C dy_i = kPass == Pass::forward ? C(0) : widen(dy[i]);
    const bool accumulate = kPass != Pass::forward && call.accumulate;
    const C dx_old = accumulate ? widen(dx[i]) : C(0);
    const math::ElementResult<C> r = math::apply_pass<kPass>(op, widen(x[i]), dy_i, dx_old, accumulate);
    if constexpr (kPass != Pass::forward) dx[i] = narrow<T>(r.dx);
    if constexpr (kPass == Pass::forward || kPass == Pass::forward_backward) y[i] = narrow<T>(r.y);
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

template <class T>
void widen_range(const void* in, float* out, std::int64_t n) {
  const T* values = static_cast<const T*>(in);
  for (std::int64_t i = 0; i < n; ++i) out[i] = widen(values[i]);
}

template <class T>
void narrow_range(const float* in, void* out, std::int64_t n, bool /*stream: plain stores here*/) {
  T* values = static_cast<T*>(out);
  for (std::int64_t i = 0; i < n; ++i) values[i] = narrow<T>(in[i]);
}

}  // namespace

Conversion portable_conversion(DType dtype) noexcept {
  if (dtype == DType::f16) return {&widen_range<Half>, &narrow_range<Half>};
  return {&widen_range<BFloat16>, &narrow_range<BFloat16>};
}

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
