// PReLU's kernels: the per-channel launcher of structured.cuh with PReLU's element math. One
// weight is a single channel spanning the whole row.
#include "kernels/structured.cuh"

namespace actk::cuda::detail {

cudaError_t launch_prelu_op(const actk::detail::PreluCall& call) {
  return actk::detail::visit_dtype(call.dtype, [&](auto tag) {
    using S = typename DeviceType<typename decltype(tag)::type>::type;
    const ChannelBuffers<S> buffers{static_cast<const S*>(call.x), static_cast<const S*>(call.weight),
                                    static_cast<const S*>(call.dy), static_cast<S*>(call.y), static_cast<S*>(call.dx)};
    const std::int64_t width = call.channels * call.inner;
    const ChannelShape shape = call.per_channel ? ChannelShape{call.rows, width, call.inner, call.channels}
                                                : ChannelShape{call.rows, width, width, 1};
    return launch_channel(PreluElement{}, buffers, shape, call.dweight, call.dtype, call.accumulate,
                          static_cast<cudaStream_t>(call.stream));
  });
}

}  // namespace actk::cuda::detail
