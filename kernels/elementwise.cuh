// The generic elementwise launcher: one kernel template for every activation, storage type and
// pass (internal; nvcc only). Each activation's instantiations live in a file of their own,
// generated from kernels/activation.cu.in.
//
// The kernel is memory bound, so what matters is how it moves bytes: every buffer is read and
// written in 16-byte vectors (4 f32, 2 f64, 8 f16 or bf16 per load) in a grid-stride loop with
// 64-bit indices, after a scalar head that brings misaligned buffers to a 16-byte boundary, and
// with a scalar tail for the last odd elements. f16 and bf16 compute in f32, f64 in f64; each
// result is rounded once to the storage type. Launches are stream-ordered: nothing here
// synchronizes, allocates or copies.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "host/backend.hpp"
#include "host/dtype_visit.hpp"
#include "kernels/activation_math.hpp"
#include "kernels/launch.hpp"
#include "kernels/vector_split.hpp"

namespace actk::cuda::detail {

// The library's 16-bit types are bit patterns with CUDA's layout; kernels use CUDA's types.
static_assert(sizeof(Half) == sizeof(__half) && alignof(Half) == alignof(__half), "Half must match __half");
static_assert(sizeof(BFloat16) == sizeof(__nv_bfloat16) && alignof(BFloat16) == alignof(__nv_bfloat16),
              "BFloat16 must match __nv_bfloat16");

// The device type of a storage type.
template <class Storage>
struct DeviceType {
  using type = Storage;  // float, double
};
template <>
struct DeviceType<Half> {
  using type = __half;
};
template <>
struct DeviceType<BFloat16> {
  using type = __nv_bfloat16;
};

// The compute type of a device type: f64 computes in f64, everything else in f32.
template <class S>
using ComputeType = std::conditional_t<std::is_same_v<S, double>, double, float>;

// Between a storage type and its compute type: 16-bit values widen exactly, and narrow with one
// rounding to nearest even (f32 -> f16/bf16 directly, never through another type).
template <class To, class From>
__device__ __forceinline__ To convert(From value) {
  if constexpr (std::is_same_v<From, __half>) {
    return __half2float(value);
  } else if constexpr (std::is_same_v<From, __nv_bfloat16>) {
    return __bfloat162float(value);
  } else if constexpr (std::is_same_v<To, __half>) {
    return __float2half_rn(value);
  } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
    return __float2bfloat16_rn(value);
  } else {
    return value;
  }
}

// kLanes consecutive elements, aligned to their whole size: with 16 bytes of lanes, one load or
// store moves them all (ld.global.v4.f32, .v2.f64, .v4.b32 for eight 16-bit values).
template <class S, int kLanes>
struct alignas(sizeof(S) * kLanes) Chunk {
  S lane[kLanes];
};

// The buffers of a call; those the pass does not use are null.
template <class S>
struct Buffers {
  const S* x;
  const S* dy;
  S* y;
  S* dx;
};

// Where the vectors are: see VectorSplit.
struct Layout {
  std::int64_t count;
  std::int64_t head;
  std::int64_t vectors;
};

// One chunk of kLanes elements at index i. Every input of the chunk is loaded before any output
// is stored, and no other thread touches these elements, so exact in-place aliasing (y == x,
// dx == dy, dx == x, y == dy) is safe. Plain coherent loads: the read-only cache (ld.global.nc)
// is not allowed for memory the kernel writes.
template <Pass kPass, bool kAccumulate, int kLanes, class Op, class S>
__device__ __forceinline__ void process_chunk(const Op& op, const Buffers<S>& buffers, std::int64_t i) {
  using C = ComputeType<S>;
  using Vector = Chunk<S, kLanes>;
  constexpr bool kWritesY = kPass == Pass::forward || kPass == Pass::forward_backward;
  constexpr bool kWritesDx = kPass != Pass::forward;

  const Vector x = *reinterpret_cast<const Vector*>(buffers.x + i);
  Vector dy{};
  Vector dx{};
  if constexpr (kWritesDx) dy = *reinterpret_cast<const Vector*>(buffers.dy + i);
  if constexpr (kAccumulate) dx = *reinterpret_cast<const Vector*>(buffers.dx + i);
  Vector y{};
#pragma unroll
  for (int k = 0; k < kLanes; ++k) {
    const math::ElementResult<C> r = math::apply_pass<kPass>(op, convert<C>(x.lane[k]), convert<C>(dy.lane[k]),
                                                             convert<C>(dx.lane[k]), kAccumulate);
    if constexpr (kWritesY) y.lane[k] = convert<S>(r.y);
    if constexpr (kWritesDx) dx.lane[k] = convert<S>(r.dx);
  }
  if constexpr (kWritesY) *reinterpret_cast<Vector*>(buffers.y + i) = y;
  if constexpr (kWritesDx) *reinterpret_cast<Vector*>(buffers.dx + i) = dx;
}

// Blocks per multiprocessor the kernels promise ptxas. Left unset (0) for f32, f16 and bf16,
// where ptxas's own choice keeps 32 to 40 registers and a high occupancy. In f64, division and
// the slow paths of erfc and exp are subroutine calls in SASS, and at ptxas's default register
// target the values live across them were spilled (gelu, celu, hardswish); promising three
// blocks lets ptxas use up to 85 registers, and nothing spills.
template <class S>
inline constexpr int kMinBlocksPerMultiprocessor = std::is_same_v<S, double> ? 3 : 0;

// Accumulation is a template parameter rather than a flag: with a flag the loop is unswitched
// into two bodies anyway, and one body per kernel needs fewer registers.
template <Pass kPass, bool kAccumulate, class Op, class S>
__global__ void __launch_bounds__(kThreadsPerBlock, kMinBlocksPerMultiprocessor<S>)
    elementwise_kernel(Op op, Buffers<S> buffers, Layout layout) {
  constexpr int kWidth = static_cast<int>(kVectorBytes / sizeof(S));
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;

  // The main loop: one 16-byte vector of each buffer per iteration. Neither loop is unrolled: an
  // unrolled grid-stride loop needs its trip count, a 64-bit division that ptxas compiles to a
  // subroutine call (and spills around it); at full occupancy, one vector per thread already keeps
  // enough bytes in flight.
#pragma unroll 1
  for (std::int64_t v = first; v < layout.vectors; v += stride) {
    process_chunk<kPass, kAccumulate, kWidth>(op, buffers, layout.head + v * kWidth);
  }
  // The scalar head and tail; every element when the buffers cannot share an alignment.
  const std::int64_t tail = layout.head + layout.vectors * kWidth;
  const std::int64_t scalars = layout.head + (layout.count - tail);
#pragma unroll 1
  for (std::int64_t s = first; s < scalars; s += stride) {
    process_chunk<kPass, kAccumulate, 1>(op, buffers, s < layout.head ? s : tail + (s - layout.head));
  }
}

template <Pass kPass, class Op, class S>
cudaError_t launch_pass(const Op& op, const actk::detail::ElementwiseCall& call) {
  const Buffers<S> buffers{static_cast<const S*>(call.x), static_cast<const S*>(call.dy), static_cast<S*>(call.y),
                           static_cast<S*>(call.dx)};
  const std::uintptr_t addresses[] = {
      reinterpret_cast<std::uintptr_t>(buffers.x), reinterpret_cast<std::uintptr_t>(buffers.dy),
      reinterpret_cast<std::uintptr_t>(buffers.y), reinterpret_cast<std::uintptr_t>(buffers.dx)};
  const VectorSplit split = split_for_vectors(addresses, 4, call.count, sizeof(S));
  const std::int64_t width = kVectorBytes / sizeof(S);
  const std::int64_t scalars = call.count - split.vectors * width;

  unsigned blocks = 0;
  const cudaError_t status = grid_size(std::max(split.vectors, scalars), &blocks);
  if (status != cudaSuccess) return status;
  const Layout layout{call.count, split.head, split.vectors};
  const auto stream = static_cast<cudaStream_t>(call.stream);
  if constexpr (kPass != Pass::forward) {  // forward outputs are always overwritten
    if (call.accumulate) {
      elementwise_kernel<kPass, true><<<blocks, kThreadsPerBlock, 0, stream>>>(op, buffers, layout);
      return cudaSuccess;
    }
  }
  elementwise_kernel<kPass, false><<<blocks, kThreadsPerBlock, 0, stream>>>(op, buffers, layout);
  return cudaSuccess;
}

template <template <class> class Functor>
cudaError_t launch_elementwise_op(const actk::detail::ElementwiseCall& call) {
  return actk::detail::visit_dtype(call.dtype, [&](auto tag) {
    using Storage = typename decltype(tag)::type;
    using S = typename DeviceType<Storage>::type;
    using Op = Functor<ComputeType<S>>;
    const Op op(call.params);
    switch (call.pass) {
      case Pass::forward: return launch_pass<Pass::forward, Op, S>(op, call);
      case Pass::backward: return launch_pass<Pass::backward, Op, S>(op, call);
      case Pass::forward_backward: return launch_pass<Pass::forward_backward, Op, S>(op, call);
      case Pass::backward_from_output:
        if constexpr (math::HasDerivativeFromOutput<Op>::value) {
          return launch_pass<Pass::backward_from_output, Op, S>(op, call);
        }
        break;  // the dispatcher never asks (the catalogue forbids it)
    }
    return cudaErrorNotSupported;
  });
}

}  // namespace actk::cuda::detail

/// Explicit instantiation of one activation's launcher (the generated activations/<name>.cu).
#define ACTK_INSTANTIATE_ELEMENTWISE(Functor)                                  \
  template cudaError_t actk::cuda::detail::launch_elementwise_op<actk::math::Functor>( \
      const actk::detail::ElementwiseCall&);
