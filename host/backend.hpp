// The interface between the dispatcher and the backends (internal).
#pragma once

#include <cstdint>

#include "actk/catalogue.hpp"
#include "actk/ops.hpp"
#include "actk/types.hpp"

namespace actk::detail {

/// One validated elementwise call, as every backend receives it. Pointers are those of the
/// views; which ones are set depends on the pass:
///   forward:              x -> y
///   backward:             x, dy -> dx
///   backward_from_output: x holds y; x, dy -> dx
///   forward_backward:     x, dy -> y, dx
/// Exact aliasing (y == x, dx == dy, dx == x) is allowed and must be handled in place.
struct ElementwiseCall {
  Activation activation;
  Pass pass;
  DType dtype;
  ActivationParams params;
  const void* x;
  const void* dy;
  void* y;
  void* dx;
  std::int64_t count;
  bool accumulate;
  void* stream;
};

/// A strided row-major matrix as a backend sees it: element (r, c) at data + r * stride + c.
struct Strided {
  const void* data;
  std::int64_t stride;
};
struct MutableStrided {
  void* data;
  std::int64_t stride;
};

/// PReLU over rows x channels x inner. Forward: x, weight -> y. Backward (dx set): x, weight,
/// dy -> dx, dweight (a per-channel, or total, reduction of dy * x over x <= 0).
struct PreluCall {
  DType dtype;
  const void* x;
  const void* weight;
  const void* dy;
  void* y;
  void* dx;
  void* dweight;
  std::int64_t rows, channels, inner;
  bool per_channel;  ///< weight has `channels` values, else one
  bool accumulate;
  void* stream;
};

/// Maxout over `groups` groups of k consecutive elements. Forward (dx null): x -> y and, when
/// set, indices_out. Backward: indices_in (or, when null, x) and dy -> dx.
struct MaxoutCall {
  DType dtype;
  const void* x;
  const std::int32_t* indices_in;
  const void* dy;
  void* y;
  std::int32_t* indices_out;
  void* dx;
  std::int64_t groups, k;
  bool accumulate;
  void* stream;
};

/// A gated op, y = act(gate) * up, `activation` being the gate's elementwise activation; with
/// `clamped`, the inputs are clamped by params.limit first (math::GateClamp).
/// Forward (dgate null): gate, up -> y. Backward: gate, up, dy -> dgate, dup.
struct GatedCall {
  Activation activation;
  bool clamped;
  ActivationParams params;
  DType dtype;
  std::int64_t rows, cols;
  Strided gate, up, dy;
  MutableStrided y, dgate, dup;
  bool accumulate;
  void* stream;
};

/// Bias fusion over rows x channels. Forward (dy null): y = f(x + b). Backward:
/// dx = dy * f'(x + b) and dbias = column sums of dx.
struct BiasCall {
  Activation activation;
  ActivationParams params;
  DType dtype;
  const void* x;
  const void* bias;
  const void* dy;
  void* y;
  void* dx;
  void* dbias;
  std::int64_t rows, channels;
  bool accumulate;
  void* stream;
};

void reference_elementwise(const ElementwiseCall& call);
void reference_prelu(const PreluCall& call);
void reference_maxout(const MaxoutCall& call);
void reference_gated(const GatedCall& call);
void reference_bias(const BiasCall& call);

void cpu_elementwise(const ElementwiseCall& call);
void cpu_prelu(const PreluCall& call);
void cpu_maxout(const MaxoutCall& call);
void cpu_gated(const GatedCall& call);
void cpu_bias(const BiasCall& call);

}  // namespace actk::detail
