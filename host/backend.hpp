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

void reference_elementwise(const ElementwiseCall& call);
void cpu_elementwise(const ElementwiseCall& call);

}  // namespace actk::detail
