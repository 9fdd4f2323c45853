// The structured kernels that gather rather than stream: Maxout (a max over each group of k
// elements, one thread per group) and the second stage of the per-channel sums. Neither has a
// run of contiguous 16-byte vectors to move, so tests/static holds them to the spill check only.
#include <cub/block/block_reduce.cuh>

#include "kernels/structured.cuh"

namespace actk::cuda::detail {
namespace {

// ---- the per-channel sums' second stage ------------------------------------------------------

// Writes (or adds to) sums[c] in the storage type of `dtype`, as the CPU backend does: the double
// sum of scaled terms plus the old value in double (math::sum_plus_old), rounded to the compute
// type, then once to storage. Rounding the sum to the compute type before adding would overflow
// where the total does not.
__device__ void put_sum(void* sums, DType dtype, std::int64_t c, double scaled_total, bool accumulate) {
  auto put = [&](auto* out) {
    using S = std::remove_pointer_t<decltype(out)>;
    using C = ComputeType<S>;
    const double old = accumulate ? static_cast<double>(convert<C>(out[c])) : 0.0;
    out[c] = convert<S>(static_cast<C>(math::sum_plus_old<C>(scaled_total, old, accumulate)));
  };
  switch (dtype) {
    case DType::f32: put(static_cast<float*>(sums)); break;
    case DType::f64: put(static_cast<double*>(sums)); break;
    case DType::f16: put(static_cast<__half*>(sums)); break;
    case DType::bf16: put(static_cast<__nv_bfloat16*>(sums)); break;
  }
}

// Block b of the grid-stride loop sums segment s = b % segments of channel c = b / segments:
// terms [s kSegmentTerms, (s + 1) kSegmentTerms) of the channel's (all of them when segments is
// 1), thread t adding every blockDim.x-th from the segment's t-th, then cub's block reduction (a
// fixed tree for a fixed block size) adding the threads' sums. With one segment the channel's sum
// goes to the output, else to segment_sums[b]. Same terms, same order, on every run and grid.
__global__ void __launch_bounds__(kThreadsPerBlock)
    channel_sums_kernel(const double* terms_in, ChannelTerms terms, std::int64_t segments, double* segment_sums,
                        void* sums, DType dtype, bool accumulate) {
  using Reduce = cub::BlockReduce<double, kThreadsPerBlock>;
  __shared__ typename Reduce::TempStorage storage;
  const std::int64_t count = terms.terms();
  for (std::int64_t b = blockIdx.x; b < terms.channels * segments; b += gridDim.x) {
    const std::int64_t channel = b / segments, segment = b % segments;
    const std::int64_t first = segment * kSegmentTerms + threadIdx.x;
    const std::int64_t segment_end = (segment + 1) * kSegmentTerms;
    const std::int64_t end = segments == 1 || segment_end > count ? count : segment_end;
    double sum = 0.0;
    if (first < end) {
      TermCursor cursor(terms, channel, first, blockDim.x);
      for (std::int64_t k = first; k < end; k += blockDim.x, cursor.advance()) sum += terms_in[cursor.offset()];
    }
    const double total = Reduce(storage).Sum(sum);
    if (threadIdx.x == 0) {
      if (segments == 1) {
        put_sum(sums, dtype, channel, total, accumulate);
      } else {
        segment_sums[b] = total;
      }
    }
    __syncthreads();  // storage is reused by the next block's worth
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

cudaError_t launch_channel_sums(const double* partials, const ChannelTerms& terms, double* segment_sums, void* sums,
                                DType dtype, bool accumulate, cudaStream_t stream) {
  if (terms.channels == 0) return cudaSuccess;
  const std::int64_t segments = segments_per_channel(terms);
  unsigned blocks = 0;
  cudaError_t status = grid_size(terms.channels * segments * kThreadsPerBlock, &blocks);
  if (status != cudaSuccess) return status;
  if (segments == 1) {
    channel_sums_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(partials, terms, 1, nullptr, sums, dtype, accumulate);
    return cudaGetLastError();
  }
  channel_sums_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(partials, terms, segments, segment_sums, nullptr, dtype,
                                                               false);
  status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  // The segments' sums: one row of `segments` terms per channel, added in segment order.
  const ChannelTerms second{1, terms.channels * segments, segments, terms.channels};
  status = grid_size(terms.channels * kThreadsPerBlock, &blocks);
  if (status != cudaSuccess) return status;
  channel_sums_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(segment_sums, second, 1, nullptr, sums, dtype, accumulate);
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
