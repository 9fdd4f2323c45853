// Backend `reference`: one scalar loop, computing in double (long double for f64 data) and
// rounding once to the storage type. It is the oracle the other backends are tested against.
#include <cmath>
#include <type_traits>

#include "host/backend.hpp"
#include "host/dtype_visit.hpp"
#include "host/reference_math.hpp"

namespace actk::detail {
namespace {

// Wide enough that the result, rounded once to T, is within the accuracy contract.
template <class T>
using ComputeType = std::conditional_t<std::is_same_v<T, double>, long double, double>;

template <class R, class T>
R load(const T& v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return static_cast<R>(to_float(v));
  } else {
    return static_cast<R>(v);
  }
}

template <class T, class R>
T store(R v) {
  if constexpr (std::is_same_v<T, Half>) {
    return half_from_double(static_cast<double>(v));  // exact: R is double for 16-bit data
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return bfloat16_from_double(static_cast<double>(v));
  } else {
    return static_cast<T>(v);
  }
}

template <class Op, class = void>
struct HasDerivativeFromOutput : std::false_type {};
template <class Op>
struct HasDerivativeFromOutput<Op, std::void_t<decltype(Op::derivative_from_output(0.0, ActivationParams{}))>>
    : std::true_type {};

template <class Op, class T>
void run(const ElementwiseCall& call) {
  using R = ComputeType<T>;
  const T* x = static_cast<const T*>(call.x);
  const T* dy = static_cast<const T*>(call.dy);
  T* y = static_cast<T*>(call.y);
  T* dx = static_cast<T*>(call.dx);
  const ActivationParams& p = call.params;
  const R nan = std::numeric_limits<R>::quiet_NaN();

  for (std::int64_t i = 0; i < call.count; ++i) {
    // Every input of element i is read before any output of element i is written (in place).
    const R xi = load<R>(x[i]);
    const R dyi = dy ? load<R>(dy[i]) : R(0);
    const R dx_old = call.accumulate && dx ? load<R>(dx[i]) : R(0);
    const bool is_nan = std::isnan(xi);

    R derivative = 0;
    switch (call.pass) {
      case Pass::forward:
        y[i] = store<T>(is_nan ? xi : Op::forward(xi, p));
        continue;
      case Pass::forward_backward:
        y[i] = store<T>(is_nan ? xi : Op::forward(xi, p));
        derivative = is_nan ? nan : Op::derivative(xi, p);
        break;
      case Pass::backward:
        derivative = is_nan ? nan : Op::derivative(xi, p);
        break;
      case Pass::backward_from_output:
        if constexpr (HasDerivativeFromOutput<Op>::value) {
          derivative = is_nan ? nan : Op::derivative_from_output(xi, p);
        }
        break;
    }
    const R grad = dyi * derivative;
    dx[i] = store<T>(call.accumulate ? dx_old + grad : grad);
  }
}

}  // namespace

void reference_elementwise(const ElementwiseCall& call) {
  visit_dtype(call.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (call.activation) {
#define ACTK_REFERENCE_CASE(id, Functor, params, from_output) \
  case Activation::id:                                        \
    return run<reference::Functor, T>(call);
      ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_REFERENCE_CASE)
#undef ACTK_REFERENCE_CASE
    }
  });
}

}  // namespace actk::detail
