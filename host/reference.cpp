// Backend `reference`: scalar loops, computing in double (long double for f64 data) and rounding
// once to the storage type; reductions sum sequentially in that precision. It is the oracle the
// other backends are tested against.
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

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

// f and f' at x in R, with NaN in giving NaN out.
template <class Op, class R>
R forward_at(R x, const ActivationParams& p) {
  return std::isnan(x) ? x : Op::forward(x, p);
}
template <class Op, class R>
R derivative_at(R x, const ActivationParams& p) {
  return std::isnan(x) ? std::numeric_limits<R>::quiet_NaN() : Op::derivative(x, p);
}

// Calls f(TypeTag<reference::Functor>{}) for an elementwise activation.
template <class F>
void visit_reference_op(Activation activation, F&& f) {
  switch (activation) {
#define ACTK_REFERENCE_CASE(id, Functor, params, from_output) \
  case Activation::id:                                        \
    return f(TypeTag<reference::Functor>{});
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_REFERENCE_CASE)
#undef ACTK_REFERENCE_CASE
    default: break;  // structured entries never reach an elementwise loop (checked by the caller)
  }
}

// Calls f(TypeTag<T>{}, TypeTag<Op>{}) for the call's storage type and activation.
template <class F>
void visit_type_and_op(DType dtype, Activation activation, F&& f) {
  visit_dtype(dtype, [&](auto type) { visit_reference_op(activation, [&](auto op) { f(type, op); }); });
}

template <class Op, class T>
void run_elementwise(const ElementwiseCall& call) {
  using R = ComputeType<T>;
  const T* x = static_cast<const T*>(call.x);
  const T* dy = static_cast<const T*>(call.dy);
  T* y = static_cast<T*>(call.y);
  T* dx = static_cast<T*>(call.dx);
  const ActivationParams& p = call.params;

  for (std::int64_t i = 0; i < call.count; ++i) {
    // Every input of element i is read before any output of element i is written (in place).
    const R xi = load<R>(x[i]);
    const R dyi = dy ? load<R>(dy[i]) : R(0);
    const R dx_old = call.accumulate && dx ? load<R>(dx[i]) : R(0);

    R derivative = 0;
    switch (call.pass) {
      case Pass::forward:
        y[i] = store<T>(forward_at<Op>(xi, p));
        continue;
      case Pass::forward_backward:
        y[i] = store<T>(forward_at<Op>(xi, p));
        derivative = derivative_at<Op>(xi, p);
        break;
      case Pass::backward:
        derivative = derivative_at<Op>(xi, p);
        break;
      case Pass::backward_from_output:
        if constexpr (HasDerivativeFromOutput<Op>::value) {
          derivative = std::isnan(xi) ? xi : Op::derivative_from_output(xi, p);
        }
        break;
    }
    const R grad = dyi * derivative;
    dx[i] = store<T>(call.accumulate ? dx_old + grad : grad);
  }
}

template <class T>
void run_prelu(const PreluCall& call) {
  using R = ComputeType<T>;
  const T* x = static_cast<const T*>(call.x);
  const T* weight = static_cast<const T*>(call.weight);
  const T* dy = static_cast<const T*>(call.dy);
  T* y = static_cast<T*>(call.y);
  T* dx = static_cast<T*>(call.dx);
  T* dweight = static_cast<T*>(call.dweight);
  const std::int64_t weights = call.per_channel ? call.channels : 1;
  std::vector<R> weight_sum(static_cast<std::size_t>(weights), R(0));

  for (std::int64_t r = 0; r < call.rows; ++r) {
    for (std::int64_t c = 0; c < call.channels; ++c) {
      const std::int64_t w = call.per_channel ? c : 0;
      const R wc = load<R>(weight[w]);
      for (std::int64_t i = 0; i < call.inner; ++i) {
        const std::int64_t at = (r * call.channels + c) * call.inner + i;
        const R xi = load<R>(x[at]);
        if (!dx) {
          y[at] = store<T>(xi > 0 || std::isnan(xi) ? xi : wc * xi);
          continue;
        }
        const R dyi = load<R>(dy[at]);
        const R derivative = std::isnan(xi) ? xi : xi > 0 ? R(1) : wc;
        if (!(xi > 0)) weight_sum[static_cast<std::size_t>(w)] += dyi * xi;  // NaN x propagates
        const R grad = dyi * derivative;
        dx[at] = store<T>(call.accumulate ? load<R>(dx[at]) + grad : grad);
      }
    }
  }
  if (!dx) return;
  for (std::int64_t w = 0; w < weights; ++w) {
    const R sum = weight_sum[static_cast<std::size_t>(w)];
    dweight[w] = store<T>(call.accumulate ? load<R>(dweight[w]) + sum : sum);
  }
}

// The arg-max of one group: the first maximum, a NaN winning as soon as it appears.
template <class T>
std::int64_t argmax(const T* group, std::int64_t k) {
  std::int64_t best = 0;
  double best_value = load<double>(group[0]);
  for (std::int64_t j = 1; j < k && !std::isnan(best_value); ++j) {
    const double v = load<double>(group[j]);
    if (v > best_value || std::isnan(v)) best = j, best_value = v;
  }
  return best;
}

template <class T>
void run_maxout(const MaxoutCall& call) {
  const T* x = static_cast<const T*>(call.x);
  const T* dy = static_cast<const T*>(call.dy);
  T* dx = static_cast<T*>(call.dx);
  for (std::int64_t g = 0; g < call.groups; ++g) {
    const std::int64_t base = g * call.k;
    if (!dx) {
      const std::int64_t best = argmax(x + base, call.k);
      static_cast<T*>(call.y)[g] = x[base + best];
      if (call.indices_out) call.indices_out[g] = static_cast<std::int32_t>(best);
      continue;
    }
    const std::int64_t best = call.indices_in ? call.indices_in[g] : argmax(x + base, call.k);
    for (std::int64_t j = 0; j < call.k; ++j) {
      using R = ComputeType<T>;
      const R grad = j == best ? load<R>(dy[g]) : R(0);
      dx[base + j] = store<T>(call.accumulate ? load<R>(dx[base + j]) + grad : grad);
    }
  }
}

template <class Op, class T>
void run_gated(const GatedCall& call) {
  using R = ComputeType<T>;
  auto at = [](auto strided, std::int64_t r, std::int64_t c) {
    using Pointer = std::conditional_t<std::is_const_v<std::remove_pointer_t<decltype(strided.data)>>, const T*, T*>;
    return static_cast<Pointer>(strided.data) + r * strided.stride + c;
  };
  // swiglu_clamped (GPT-OSS): gate' = min(gate, limit), up' = clamp(up, -limit, limit) + 1, and the
  // gradients pass where the clamps did not bind (the bounds included, as torch.clamp's backward).
  const R limit = static_cast<R>(call.params.limit);
  for (std::int64_t r = 0; r < call.rows; ++r) {
    for (std::int64_t c = 0; c < call.cols; ++c) {
      const R gate_in = load<R>(*at(call.gate, r, c));
      const R up_in = load<R>(*at(call.up, r, c));
      const bool gate_clamped = call.clamped && gate_in > limit;
      const bool up_clamped = call.clamped && (up_in > limit || up_in < -limit);
      const R gate = gate_clamped ? limit : gate_in;
      const R up = !call.clamped ? up_in : (up_in > limit ? limit : up_in < -limit ? -limit : up_in) + 1;
      const R activated = forward_at<Op>(gate, call.params);
      if (!call.dgate.data) {
        *at(call.y, r, c) = store<T>(activated * up);
        continue;
      }
      const R dy = load<R>(*at(call.dy, r, c));
      const R dgate = gate_clamped ? R(0) : dy * (up * derivative_at<Op>(gate, call.params));
      const R dup = up_clamped ? R(0) : dy * activated;
      T* dgate_out = at(call.dgate, r, c);
      T* dup_out = at(call.dup, r, c);
      *dgate_out = store<T>(call.accumulate ? load<R>(*dgate_out) + dgate : dgate);
      *dup_out = store<T>(call.accumulate ? load<R>(*dup_out) + dup : dup);
    }
  }
}

template <class Op, class T>
void run_bias(const BiasCall& call) {
  using R = ComputeType<T>;
  const T* x = static_cast<const T*>(call.x);
  const T* bias = static_cast<const T*>(call.bias);
  const T* dy = static_cast<const T*>(call.dy);
  std::vector<R> column_sum(static_cast<std::size_t>(call.channels), R(0));
  for (std::int64_t r = 0; r < call.rows; ++r) {
    for (std::int64_t c = 0; c < call.channels; ++c) {
      const std::int64_t i = r * call.channels + c;
      // x + b is formed in the kernels' compute type (f32, or f64 for f64 data), as PyTorch's
      // x + b would be; f(z) is then evaluated in R and rounded once to storage.
      using Sum = std::conditional_t<std::is_same_v<T, double>, double, float>;
      const R z = static_cast<R>(load<Sum>(x[i]) + load<Sum>(bias[c]));
      if (!dy) {
        static_cast<T*>(call.y)[i] = store<T>(forward_at<Op>(z, call.params));
        continue;
      }
      const R grad = load<R>(dy[i]) * derivative_at<Op>(z, call.params);
      column_sum[static_cast<std::size_t>(c)] += grad;
      T* dx = static_cast<T*>(call.dx) + i;
      *dx = store<T>(call.accumulate ? load<R>(*dx) + grad : grad);
    }
  }
  if (!dy) return;
  T* dbias = static_cast<T*>(call.dbias);
  for (std::int64_t c = 0; c < call.channels; ++c) {
    const R sum = column_sum[static_cast<std::size_t>(c)];
    dbias[c] = store<T>(call.accumulate ? load<R>(dbias[c]) + sum : sum);
  }
}

}  // namespace

void reference_elementwise(const ElementwiseCall& call) {
  visit_type_and_op(call.dtype, call.activation, [&](auto type, auto op) {
    run_elementwise<typename decltype(op)::type, typename decltype(type)::type>(call);
  });
}

void reference_prelu(const PreluCall& call) {
  visit_dtype(call.dtype, [&](auto type) { run_prelu<typename decltype(type)::type>(call); });
}

void reference_maxout(const MaxoutCall& call) {
  visit_dtype(call.dtype, [&](auto type) { run_maxout<typename decltype(type)::type>(call); });
}

void reference_gated(const GatedCall& call) {
  visit_type_and_op(call.dtype, call.activation, [&](auto type, auto op) {
    run_gated<typename decltype(op)::type, typename decltype(type)::type>(call);
  });
}

void reference_bias(const BiasCall& call) {
  visit_type_and_op(call.dtype, call.activation, [&](auto type, auto op) {
    run_bias<typename decltype(op)::type, typename decltype(type)::type>(call);
  });
}

}  // namespace actk::detail
