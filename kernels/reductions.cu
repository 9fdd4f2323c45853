// The structured kernels that gather rather than stream: Maxout (a max over each group of k
// elements, one thread per group) and the second stage of the per-channel sums. Neither has a
// run of contiguous 16-byte vectors to move, so tests/static holds them to the spill check only.
#include <cub/block/block_reduce.cuh>

#include "kernels/structured.cuh"

namespace actk::cuda::detail {
namespace {

// ---- the per-channel sums' second stage ------------------------------------------------------

// Writes (or adds to) sums[c] in the storage type of `dtype`: the double sum rounded to the
// compute type, then once to storage, as the CPU backend does.
__device__ void put_sum(void* sums, DType dtype, std::int64_t c, double total, bool accumulate) {
  auto put = [&](auto* out) {
    using S = std::remove_pointer_t<decltype(out)>;
    using C = ComputeType<S>;
    const C value = static_cast<C>(total);
    out[c] = convert<S>(accumulate ? convert<C>(out[c]) + value : value);
  };
  switch (dtype) {
    case DType::f32: put(static_cast<float*>(sums)); break;
    case DType::f64: put(static_cast<double*>(sums)); break;
    case DType::f16: put(static_cast<__half*>(sums)); break;
    case DType::bf16: put(static_cast<__nv_bfloat16*>(sums)); break;
  }
}

// One block per channel: thread t adds the channel's terms t, t + blockDim.x, ... (tile-major,
// then the channel's columns), then cub's block reduction (a fixed tree for a fixed block size)
// adds the threads' sums. Same terms, same order, on every run and every grid.
__global__ void __launch_bounds__(kThreadsPerBlock)
    channel_sums_kernel(const double* partials, ChannelTiling tiling, void* sums, DType dtype, bool accumulate) {
  using Reduce = cub::BlockReduce<double, kThreadsPerBlock>;
  __shared__ typename Reduce::TempStorage storage;
  const ChannelShape& shape = tiling.shape;
  const std::int64_t terms = tiling.row_tiles * shape.inner;
  for (std::int64_t c = blockIdx.x; c < shape.channels; c += gridDim.x) {
    double sum = 0.0;
    for (std::int64_t k = threadIdx.x; k < terms; k += blockDim.x) {
      const std::int64_t row_tile = k / shape.inner;
      sum += partials[row_tile * shape.width + c * shape.inner + (k - row_tile * shape.inner)];
    }
    const double total = Reduce(storage).Sum(sum);
    if (threadIdx.x == 0) put_sum(sums, dtype, c, total, accumulate);
    __syncthreads();  // storage is reused by the next channel
  }
}

// ---- Maxout ----------------------------------------------------------------------------------

template <class S>
struct MaxoutBuffers {
  const S* x;
  const std::int32_t* indices_in;
  const S* dy;
  S* y;
  std::int32_t* indices_out;
  S* dx;
};

// The first maximum of a group; a NaN wins as soon as it appears (torch.max propagates NaN).
template <class S>
__device__ std::int32_t first_argmax(const S* group, std::int64_t k) {
  using C = ComputeType<S>;
  std::int32_t best = 0;
  C best_value = convert<C>(group[0]);
  for (std::int64_t j = 1; j < k && best_value == best_value; ++j) {
    const C v = convert<C>(group[j]);
    if (v > best_value || v != v) best = static_cast<std::int32_t>(j), best_value = v;
  }
  return best;
}

// Forward: y and, when wanted, the arg-max of each group. Backward: dy routed to the arg-max
// (from the indices, else recomputed from x); an index outside [0, k) routes it nowhere.
template <bool kBackward, bool kAccumulate, class S>
__global__ void __launch_bounds__(kThreadsPerBlock)
    maxout_kernel(MaxoutBuffers<S> b, std::int64_t groups, std::int64_t k) {
  using C = ComputeType<S>;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += stride) {
    if constexpr (!kBackward) {
      const std::int32_t best = first_argmax(b.x + g * k, k);
      b.y[g] = b.x[g * k + best];
      if (b.indices_out) b.indices_out[g] = best;
    } else {
      const std::int64_t best = b.indices_in ? b.indices_in[g] : first_argmax(b.x + g * k, k);
      const C grad = convert<C>(b.dy[g]);
      S* dx = b.dx + g * k;
      for (std::int64_t j = 0; j < k; ++j) {
        const C value = j == best ? grad : C(0);
        dx[j] = convert<S>(kAccumulate ? convert<C>(dx[j]) + value : value);
      }
    }
  }
}

}  // namespace

cudaError_t launch_channel_sums(const double* partials, const ChannelTiling& tiling, void* sums, DType dtype,
                                bool accumulate, cudaStream_t stream) {
  if (tiling.shape.channels == 0) return cudaSuccess;
  unsigned blocks = 0;
  const cudaError_t status = grid_size(tiling.shape.channels * kThreadsPerBlock, &blocks);
  if (status != cudaSuccess) return status;
  channel_sums_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(partials, tiling, sums, dtype, accumulate);
  return cudaGetLastError();
}

cudaError_t launch_maxout_op(const actk::detail::MaxoutCall& call) {
  return actk::detail::visit_dtype(call.dtype, [&](auto tag) {
    using S = typename DeviceType<typename decltype(tag)::type>::type;
    const MaxoutBuffers<S> b{static_cast<const S*>(call.x), call.indices_in, static_cast<const S*>(call.dy),
                             static_cast<S*>(call.y), call.indices_out, static_cast<S*>(call.dx)};
    unsigned blocks = 0;
    const cudaError_t status = grid_size(call.groups, &blocks);
    if (status != cudaSuccess) return status;
    const auto stream = static_cast<cudaStream_t>(call.stream);
    if (!call.dx) {
      maxout_kernel<false, false><<<blocks, kThreadsPerBlock, 0, stream>>>(b, call.groups, call.k);
    } else if (call.accumulate) {
      maxout_kernel<true, true><<<blocks, kThreadsPerBlock, 0, stream>>>(b, call.groups, call.k);
    } else {
      maxout_kernel<true, false><<<blocks, kThreadsPerBlock, 0, stream>>>(b, call.groups, call.k);
    }
    return cudaSuccess;
  });
}

}  // namespace actk::cuda::detail
