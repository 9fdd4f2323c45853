// The CUDA backend's internal entry points: one explicitly instantiated launcher per activation
// (kernels/elementwise.cuh, instantiated in the generated activations/<name>.cu), called by the
// dispatch switch of kernels/runtime.cpp, plus the launch geometry they share. Plain C++ against
// the CUDA runtime API, so runtime.cpp needs no nvcc.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "actk/catalogue.hpp"
#include "host/backend.hpp"

namespace actk::math {
#define ACTK_DECLARE_FUNCTOR(id, Functor, params, from_output) \
  template <class T>                                           \
  struct Functor;
ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_DECLARE_FUNCTOR)
#undef ACTK_DECLARE_FUNCTOR
}  // namespace actk::math

namespace actk::cuda::detail {

/// Threads per block of the elementwise kernels.
inline constexpr int kThreadsPerBlock = 256;

/// Enqueues `call` (already validated, count > 0) for the activation whose math is Functor.
/// Returns an error only for a failure before the launch; launch errors are left for
/// cudaGetLastError. Defined in kernels/elementwise.cuh, instantiated once per activation.
template <template <class> class Functor>
cudaError_t launch_elementwise_op(const actk::detail::ElementwiseCall& call);

/// The structured activations' launchers, same contract as launch_elementwise_op: bias fusion
/// and the gated kernels are instantiated per elementwise activation (kernels/structured.cuh;
/// launch_gated_op for a gate activation only), PReLU in prelu.cu, Maxout in reductions.cu.
template <template <class> class Functor>
cudaError_t launch_bias_op(const actk::detail::BiasCall& call);
template <Activation kGate, template <class> class Functor>
cudaError_t launch_gated_op(const actk::detail::GatedCall& call);
cudaError_t launch_prelu_op(const actk::detail::PreluCall& call);
cudaError_t launch_maxout_op(const actk::detail::MaxoutCall& call);

/// Stream-ordered workspace (freed with cudaFreeAsync) from actk's own memory pool on the current
/// device: the pool keeps what it has (no release threshold), so that after the first calls a
/// backward pass maps no memory; in a captured stream the allocation becomes a graph node.
cudaError_t workspace_allocate(void** pointer, std::size_t bytes, cudaStream_t stream);

/// Blocks for a grid-stride kernel over `work` items on the current device: enough to cover the
/// work, at most one full wave (kThreadsPerBlock threads per block, 2048 per multiprocessor), and
/// at most the limit set with set_block_limit (kernels/cuda_backend.hpp).
cudaError_t grid_size(std::int64_t work, unsigned* blocks);

}  // namespace actk::cuda::detail
