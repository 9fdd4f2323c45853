// The structured activations' streaming kernels (internal; nvcc only): bias fusion and PReLU
// share one per-channel launcher whose backward pass reduces deterministically in two stages (no
// atomics); the gated family has a kernel of its own. Bias fusion and gating are instantiated per
// activation in the generated activations/<name>.cu, next to that activation's elementwise
// kernels; PReLU in prelu.cu; Maxout and the reductions' second stage in reductions.cu.
//
// As in elementwise.cuh, a thread moves 16 bytes of each buffer per step (ld/st.global.v4 when
// every pointer and row allows it, else the same lanes one by one), computes in f32 (f64 for
// f64 data) and rounds once to the storage type; all of a step's inputs are loaded before any
// output is stored, so exact in-place aliasing is safe.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/channel_tiling.hpp"
#include "kernels/elementwise.cuh"

namespace actk::cuda::detail {

/// Whether an elementwise activation is the gate of a gated catalogue entry.
constexpr bool is_gate(Activation activation) {
#define ACTK_GATE_TEST(id, kind, gate, params) \
  if (ActivationKind::kind == ActivationKind::gated && activation == Activation::gate) return true;
  ACTK_STRUCTURED_ACTIVATIONS(ACTK_GATE_TEST)
#undef ACTK_GATE_TEST
  return false;
}

/// Whether every non-null pointer is 16-byte aligned (the vector loads' requirement).
template <class... Pointers>
bool all_vector_aligned(Pointers... pointers) {
  return ((reinterpret_cast<std::uintptr_t>(pointers) % kVectorBytes == 0) && ...);
}

// kLanes consecutive elements into compute-type lanes: one 16-byte load when kVector (every lane
// valid, p aligned), else the `valid` first lanes one by one and zeros after them. The 16 bytes
// move as a uint4, CUDA's vector type, and are stored with the __stwb intrinsic (st.global.wb,
// the default policy): a plain store of them was split into four by nvcc in the gated forward
// kernel, whose lanes' math ends in separate branches.
template <bool kVector, int kLanes, class S, class C>
__device__ __forceinline__ void load_lanes(const S* p, int valid, C (&out)[kLanes]) {
  if constexpr (kVector) {
    Chunk<S, kLanes> chunk;
    const uint4 bits = *reinterpret_cast<const uint4*>(p);
    memcpy(&chunk, &bits, sizeof chunk);
#pragma unroll
    for (int k = 0; k < kLanes; ++k) out[k] = convert<C>(chunk.lane[k]);
  } else {
#pragma unroll
    for (int k = 0; k < kLanes; ++k) out[k] = k < valid ? convert<C>(p[k]) : C(0);
  }
}

template <bool kVector, int kLanes, class S, class C>
__device__ __forceinline__ void store_lanes(S* p, int valid, const C (&in)[kLanes]) {
  if constexpr (kVector) {
    Chunk<S, kLanes> chunk;
#pragma unroll
    for (int k = 0; k < kLanes; ++k) chunk.lane[k] = convert<S>(in[k]);
    uint4 bits;
    memcpy(&bits, &chunk, sizeof bits);
    __stwb(reinterpret_cast<uint4*>(p), bits);
  } else {
#pragma unroll
    for (int k = 0; k < kLanes; ++k) {
      if (k < valid) p[k] = convert<S>(in[k]);
    }
  }
}

// Blocks per multiprocessor promised to ptxas (see kMinBlocksPerMultiprocessor). The structured
// kernels keep more values live than the elementwise ones (per-lane parameters, sums in double,
// a second input); left to its default, ptxas held the longest (mish over eight 16-bit lanes) to
// 48 registers and spilled, and in f64 three blocks' worth spilled. One block (up to 255
// registers; about 84 used, three blocks resident) and two in f64 (128) spill nothing.
template <class S>
inline constexpr int kStructuredMinBlocks = std::is_same_v<S, double> ? 2 : 1;

// ---- per-channel maps: bias fusion and PReLU -------------------------------------------------

/// The buffers of a per-channel call: forward x -> y, backward x, dy -> dx (y null). `parameter`
/// holds one value per channel (the bias, PReLU's weights).
template <class S>
struct ChannelBuffers {
  const S* x;
  const S* parameter;
  const S* dy;
  S* y;
  S* dx;
};

/// One element's gradient and its term of the channel's sum (in double, scaled by
/// math::kSumTermScale, as the CPU backend sums).
template <class C>
struct ChannelGradient {
  C dx;
  double term;
};

/// y = f(x + b); dx = dy * f'(x + b), or old + dy * f'(x + b) rounded once when accumulating;
/// the bias gradient's term is dy * f'(x + b) alone.
template <class Op>
struct BiasElement {
  Op op;
  template <class C>
  __device__ __forceinline__ C forward(C x, C bias) const {
    return math::apply_pass<Pass::forward>(op, x + bias, C(0), C(0), false).y;
  }
  template <bool kAccumulate, class C>
  __device__ __forceinline__ ChannelGradient<C> backward(C x, C bias, C dy, C old) const {
    const C derivative = math::apply_pass<Pass::backward>(op, x + bias, C(1), C(0), false).dx;
    const C gradient = dy * derivative;
    return {kAccumulate ? fma(dy, derivative, old) : gradient, static_cast<double>(gradient) * math::kSumTermScale<C>};
  }
};

/// y = x > 0 ? x : w x; dx = dy or dy w (plus old, rounded once, when accumulating), the weight
/// gradient's term dy x where x <= 0. NaN x gives NaN in y, dx and the sum.
struct PreluElement {
  template <class C>
  __device__ __forceinline__ C forward(C x, C weight) const {
    return x > C(0) || x != x ? x : weight * x;
  }
  template <bool kAccumulate, class C>
  __device__ __forceinline__ ChannelGradient<C> backward(C x, C weight, C dy, C old) const {
    const bool positive = x > C(0);
    const C factor = positive ? C(1) : x != x ? x : weight;
    return {kAccumulate ? fma(dy, factor, old) : dy * factor,
            positive ? 0.0 : static_cast<double>(dy) * x * math::kSumTermScale<C>};
  }
};

/// Stage 1. Forward: y for every element of the tiles. Backward: dx, and each tile's column sums
/// of the gradient terms into partials[row_tile * width + column], each column's rows added in
/// the fixed order of the tiling.
template <bool kBackward, bool kAccumulate, class Element, class S>
__global__ void __launch_bounds__(kThreadsPerBlock, kStructuredMinBlocks<S>)
    channel_kernel(Element element, ChannelBuffers<S> buffers, ChannelTiling tiling, bool vectorized, double* partials) {
  using C = ComputeType<S>;
  constexpr int kLanes = static_cast<int>(kVectorBytes / sizeof(S));
  __shared__ double slot_sums[kBackward ? kThreadsPerBlock * kLanes : 1];
  const ChannelThread me = tiling.thread(static_cast<int>(threadIdx.x));
  const bool working = me.slot < tiling.row_slots;
  const std::int64_t width = tiling.shape.width;

  for (std::int64_t tile = blockIdx.x; tile < tiling.tiles(); tile += gridDim.x) {
    const std::int64_t column = tiling.first_column(tile, me);
    const int valid = working ? tiling.valid_lanes(column) : 0;
    C parameter[kLanes];
    double sum[kLanes];
#pragma unroll
    for (int k = 0; k < kLanes; ++k) {
      parameter[k] = k < valid ? convert<C>(buffers.parameter[(column + k) / tiling.shape.inner]) : C(0);
      sum[k] = 0.0;
    }
    const std::int64_t end = tiling.row_end(tile);
    // Not unrolled: a stride of row_slots rows is a runtime value, and one step already moves
    // 16 bytes of every buffer.
    auto sweep = [&](auto vector) {
      constexpr bool kVector = decltype(vector)::value;
#pragma unroll 1
      for (std::int64_t row = tiling.first_row(tile, me); row < end; row += tiling.row_slots) {
        const std::int64_t at = row * width + column;
        C x[kLanes], out[kLanes];
        load_lanes<kVector>(buffers.x + at, valid, x);
        if constexpr (!kBackward) {
#pragma unroll
          for (int k = 0; k < kLanes; ++k) out[k] = element.forward(x[k], parameter[k]);
          store_lanes<kVector>(buffers.y + at, valid, out);
        } else {
          C dy[kLanes], old[kLanes] = {};  // old: read only when accumulating
          load_lanes<kVector>(buffers.dy + at, valid, dy);
          if constexpr (kAccumulate) load_lanes<kVector>(buffers.dx + at, valid, old);
#pragma unroll
          for (int k = 0; k < kLanes; ++k) {
            const ChannelGradient<C> g = element.template backward<kAccumulate>(x[k], parameter[k], dy[k], old[k]);
            out[k] = g.dx;
            sum[k] += g.term;
          }
          store_lanes<kVector>(buffers.dx + at, valid, out);
        }
      }
    };
    if (valid > 0) {
      if (vectorized) {
        sweep(std::true_type{});
      } else {
        sweep(std::false_type{});
      }
    }
    if constexpr (kBackward) {
      // The row slots of a column group added by a fixed tree: the slots past the largest power
      // of two fold onto the first ones, then halves fold onto halves, down to slot 0.
      if (working) {
#pragma unroll
        for (int k = 0; k < kLanes; ++k) slot_sums[threadIdx.x * kLanes + k] = sum[k];
      }
      __syncthreads();
      for (int fold = tiling.slot_fold; fold >= 1; fold /= 2) {
        if (me.slot < fold && me.slot + fold < tiling.row_slots) {
          const int from = (threadIdx.x + fold * tiling.column_threads) * kLanes;
#pragma unroll
          for (int k = 0; k < kLanes; ++k) slot_sums[threadIdx.x * kLanes + k] += slot_sums[from + k];
        }
        __syncthreads();
      }
      if (me.slot == 0) {
        for (int k = 0; k < valid; ++k) partials[tiling.row_tile(tile) * width + column + k] = slot_sums[threadIdx.x * kLanes + k];
      }
      __syncthreads();  // slot_sums is reused by the next tile
    }
  }
}

/// Stage 2 (reductions.cu): sums[c] = (or +=) the sum of channel c's terms in a fixed order,
/// rounded to `dtype`; a channel of more than kSegmentTerms terms in segments first, whose sums go
/// to `segment_sums` (channels x segments_per_channel(terms) doubles). Returns the launch's error.
cudaError_t launch_channel_sums(const double* partials, const ChannelTerms& terms, double* segment_sums, void* sums,
                                DType dtype, bool accumulate, cudaStream_t stream);

/// Forward when buffers.dx is null, else backward with the sums into `sums`.
template <bool kAccumulate, class Element, class S>
cudaError_t launch_channel_pass(const Element& element, const ChannelBuffers<S>& buffers, const ChannelTiling& tiling,
                                bool vectorized, double* partials, unsigned blocks, cudaStream_t stream) {
  if (tiling.tiles() == 0) return cudaSuccess;
  if (buffers.dx) {
    channel_kernel<true, kAccumulate><<<blocks, kThreadsPerBlock, 0, stream>>>(element, buffers, tiling, vectorized,
                                                                             partials);
  } else {
    channel_kernel<false, false><<<blocks, kThreadsPerBlock, 0, stream>>>(element, buffers, tiling, vectorized, partials);
  }
  return cudaGetLastError();
}

template <class Element, class S>
cudaError_t launch_channel(const Element& element, const ChannelBuffers<S>& buffers, const ChannelShape& shape,
                           void* sums, DType dtype, bool accumulate, cudaStream_t stream) {
  const bool backward = buffers.dx != nullptr;
  const ChannelTiling tiling = channel_tiling(shape, sizeof(S), kThreadsPerBlock,
                                              backward ? kMinRowsPerThread : kMinRowsPerThreadForward);
  const bool vectorized = shape.width % tiling.lanes == 0 &&
                          all_vector_aligned(buffers.x, buffers.dy, buffers.y, buffers.dx);
  unsigned blocks = 0;
  cudaError_t status = grid_size(tiling.tiles() * kThreadsPerBlock, &blocks);
  if (status != cudaSuccess) return status;
  if (!backward) return launch_channel_pass<false>(element, buffers, tiling, vectorized, nullptr, blocks, stream);

  // One workspace: stage 1's partials, then stage 2's segment sums.
  const ChannelTerms terms{tiling.row_tiles, shape.width, shape.inner, shape.channels};
  const std::int64_t segments = segments_per_channel(terms);
  const std::int64_t partial_count = tiling.row_tiles * shape.width;
  const std::int64_t segment_count = segments > 1 ? shape.channels * segments : 0;
  double* workspace = nullptr;
  const auto bytes = static_cast<std::size_t>(partial_count + segment_count) * sizeof(double);
  if (bytes > 0) {
    status = workspace_allocate(reinterpret_cast<void**>(&workspace), bytes, stream);
    if (status != cudaSuccess) return status;
  }
  status = accumulate ? launch_channel_pass<true>(element, buffers, tiling, vectorized, workspace, blocks, stream)
                      : launch_channel_pass<false>(element, buffers, tiling, vectorized, workspace, blocks, stream);
  if (status == cudaSuccess) {
    status = launch_channel_sums(workspace, terms, segment_count > 0 ? workspace + partial_count : nullptr, sums, dtype,
                                 accumulate, stream);
  }
  if (workspace) {
    const cudaError_t freed = cudaFreeAsync(workspace, stream);
    if (status == cudaSuccess) status = freed;
  }
  return status;
}

template <template <class> class Functor>
cudaError_t launch_bias_op(const actk::detail::BiasCall& call) {
  return actk::detail::visit_dtype(call.dtype, [&](auto tag) {
    using S = typename DeviceType<typename decltype(tag)::type>::type;
    using Op = Functor<ComputeType<S>>;
    const ChannelBuffers<S> buffers{static_cast<const S*>(call.x), static_cast<const S*>(call.bias),
                                    static_cast<const S*>(call.dy), static_cast<S*>(call.y), static_cast<S*>(call.dx)};
    const ChannelShape shape{call.rows, call.channels, 1, call.channels};
    return launch_channel(BiasElement<Op>{Op(call.params)}, buffers, shape, call.dbias, call.dtype, call.accumulate,
                          static_cast<cudaStream_t>(call.stream));
  });
}

// ---- the gated family ------------------------------------------------------------------------

template <class S>
struct GatedBuffers {
  const S* gate;
  const S* up;
  const S* dy;
  S* y;
  S* dgate;
  S* dup;
  std::int64_t gate_stride, up_stride, dy_stride, y_stride, dgate_stride, dup_stride;
};

/// Forward y = act(gate) * up; backward dgate = dy * up * act'(gate), dup = dy * act(gate) from
/// one evaluation of the activation, gate and up clamped first where `clamp` is on. A block's threads
/// cover `row_threads` 16-byte column groups of each of 256 / row_threads rows, so that narrow
/// rows still keep every thread busy.
template <bool kBackward, bool kAccumulate, class Op, class WideOp, class S>
__global__ void __launch_bounds__(kThreadsPerBlock, kStructuredMinBlocks<S>)
    gated_kernel(Op op, WideOp wide, math::GateClamp<ComputeType<S>> clamp, GatedBuffers<S> b, std::int64_t rows,
                 std::int64_t cols, int row_threads, bool vectorized) {
  using C = ComputeType<S>;
  constexpr int kLanes = static_cast<int>(kVectorBytes / sizeof(S));
  const int row_slots = kThreadsPerBlock / row_threads;
  const int slot = static_cast<int>(threadIdx.x) / row_threads;
  if (slot >= row_slots) return;  // no barrier in this kernel
  const std::int64_t groups = (cols + kLanes - 1) / kLanes;
  const std::int64_t first_group = static_cast<std::int64_t>(blockIdx.x) * row_threads + threadIdx.x % row_threads;
  const std::int64_t group_stride = static_cast<std::int64_t>(gridDim.x) * row_threads;
  const std::int64_t row_stride = static_cast<std::int64_t>(gridDim.y) * row_slots;
  auto sweep = [&](auto vector) {
    constexpr bool kVector = decltype(vector)::value;
#pragma unroll 1
    for (std::int64_t row = static_cast<std::int64_t>(blockIdx.y) * row_slots + slot; row < rows; row += row_stride) {
#pragma unroll 1
      for (std::int64_t group = first_group; group < groups; group += group_stride) {
        const std::int64_t column = group * kLanes;
        const int valid = cols - column >= kLanes ? kLanes : static_cast<int>(cols - column);
        C gate[kLanes], up[kLanes];
        load_lanes<kVector>(b.gate + row * b.gate_stride + column, valid, gate);
        load_lanes<kVector>(b.up + row * b.up_stride + column, valid, up);
        if constexpr (!kBackward) {
          C y[kLanes];
#pragma unroll
          for (int k = 0; k < kLanes; ++k) y[k] = math::gated_forward(op, wide, clamp.gate(gate[k]), clamp.up(up[k]));
          store_lanes<kVector>(b.y + row * b.y_stride + column, valid, y);
        } else {
          C dy[kLanes], dgate[kLanes], dup[kLanes];
          load_lanes<kVector>(b.dy + row * b.dy_stride + column, valid, dy);
          if constexpr (kAccumulate) {
            load_lanes<kVector>(b.dgate + row * b.dgate_stride + column, valid, dgate);
            load_lanes<kVector>(b.dup + row * b.dup_stride + column, valid, dup);
          }
#pragma unroll
          for (int k = 0; k < kLanes; ++k) {
            // act(gate) and act'(gate) (dy = 1) from one evaluation; accumulating rounds once,
            // as everywhere (no overflow of a product where the sum is finite).
            const math::ElementResult<C> r =
                math::apply_pass<Pass::forward_backward>(op, clamp.gate(gate[k]), C(1), C(0), false);
            const C derivative = clamp.gate_gradient(gate[k], r.dx);
            const C activated = clamp.up_gradient(up[k], r.y);
            dgate[k] = math::gated_gate_gradient<kAccumulate>(dy[k], clamp.up(up[k]), derivative, dgate[k]);
            dup[k] = kAccumulate ? fma(dy[k], activated, dup[k]) : dy[k] * activated;
          }
          store_lanes<kVector>(b.dgate + row * b.dgate_stride + column, valid, dgate);
          store_lanes<kVector>(b.dup + row * b.dup_stride + column, valid, dup);
        }
      }
    }
  };
  if (vectorized) {
    sweep(std::true_type{});
  } else {
    sweep(std::false_type{});
  }
}

template <Activation kGate, template <class> class Functor>
cudaError_t launch_gated_op(const actk::detail::GatedCall& call) {
  if constexpr (!is_gate(kGate)) {
    return cudaErrorNotSupported;  // the dispatcher only passes the catalogue's gates
  } else {
    return actk::detail::visit_dtype(call.dtype, [&](auto tag) {
      using S = typename DeviceType<typename decltype(tag)::type>::type;
      constexpr std::int64_t kLanes = kVectorBytes / sizeof(S);
      const GatedBuffers<S> b{static_cast<const S*>(call.gate.data), static_cast<const S*>(call.up.data),
                              static_cast<const S*>(call.dy.data), static_cast<S*>(call.y.data),
                              static_cast<S*>(call.dgate.data), static_cast<S*>(call.dup.data),
                              call.gate.stride, call.up.stride, call.dy.stride, call.y.stride, call.dgate.stride,
                              call.dup.stride};
      const bool backward = b.dgate != nullptr;
      const std::int64_t strides[] = {b.gate_stride, b.up_stride, b.dy_stride, b.y_stride, b.dgate_stride, b.dup_stride};
      bool vectorized = call.cols % kLanes == 0 && all_vector_aligned(b.gate, b.up, b.dy, b.y, b.dgate, b.dup);
      for (std::int64_t s : strides) vectorized = vectorized && s % kLanes == 0;

      // About one wave of blocks: a row's column groups first, the rest of the wave over rows.
      const std::int64_t groups = (call.cols + kLanes - 1) / kLanes;
      const int row_threads = static_cast<int>(std::min<std::int64_t>(groups, kThreadsPerBlock));
      const std::int64_t row_slots = kThreadsPerBlock / row_threads;
      unsigned wave = 0;
      const cudaError_t status = grid_size(call.rows * groups, &wave);
      if (status != cudaSuccess) return status;
      const std::int64_t across = std::min<std::int64_t>((groups + row_threads - 1) / row_threads, wave);
      const std::int64_t down = std::clamp<std::int64_t>(wave / across, 1, std::min<std::int64_t>((call.rows + row_slots - 1) / row_slots, 65535));
      const dim3 grid(static_cast<unsigned>(across), static_cast<unsigned>(down));
      using Op = Functor<ComputeType<S>>;
      const Op op(call.params);
      const Functor<double> wide(call.params);  // gated_forward's slow path
      const math::GateClamp<ComputeType<S>> clamp{call.clamped, static_cast<ComputeType<S>>(call.params.limit)};
      const auto stream = static_cast<cudaStream_t>(call.stream);
      if (!backward) {
        gated_kernel<false, false><<<grid, kThreadsPerBlock, 0, stream>>>(op, wide, clamp, b, call.rows, call.cols, row_threads, vectorized);
      } else if (call.accumulate) {
        gated_kernel<true, true><<<grid, kThreadsPerBlock, 0, stream>>>(op, wide, clamp, b, call.rows, call.cols, row_threads, vectorized);
      } else {
        gated_kernel<true, false><<<grid, kThreadsPerBlock, 0, stream>>>(op, wide, clamp, b, call.rows, call.cols, row_threads, vectorized);
      }
      return cudaSuccess;
    });
  }
}

}  // namespace actk::cuda::detail

/// Explicit instantiation of one elementwise activation's structured launchers: bias fusion, and
/// the gated kernels when the activation is a gate (the generated activations/<name>.cu).
#define ACTK_INSTANTIATE_STRUCTURED(id, Functor)                                                        \
  template cudaError_t actk::cuda::detail::launch_bias_op<actk::math::Functor>(const actk::detail::BiasCall&); \
  template cudaError_t actk::cuda::detail::launch_gated_op<actk::Activation::id, actk::math::Functor>(          \
      const actk::detail::GatedCall&);
