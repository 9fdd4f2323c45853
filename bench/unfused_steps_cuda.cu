// The unfused sequences' hand-written steps on the GPU (see unfused_steps.hpp): grid-stride
// kernels with 64-bit indices, as a user writes them; the reductions give one thread per column
// (coalesced across a warp) and split the rows over blocks, finishing with a second small kernel,
// so that they run at the memory's speed for the widths measured (4096 columns, 64 channels).
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "bench/unfused_steps.hpp"

namespace actk::bench {
namespace {

constexpr int kThreads = 256;
constexpr unsigned kBlocks = 2048;
// Row blocks of the column sums: enough blocks to fill the GPU at 4096 columns.
constexpr std::int64_t kRowSplits = 64;

__global__ void multiply_kernel(const float* a, const float* b, float* out, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = a[i] * b[i];
  }
}

__global__ void clamp_kernel(const float* in, float lo, float hi, float shift, float* out, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = fminf(fmaxf(in[i], lo), hi) + shift;
  }
}

__global__ void zero_outside_kernel(const float* x, float lo, float hi, float* g, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    if (!(x[i] >= lo && x[i] <= hi)) g[i] = 0.0f;
  }
}

// partial[split][c] = the sum of column c over the split's rows.
__global__ void column_partials(const float* m, float* partial, std::int64_t rows, std::int64_t cols) {
  const std::int64_t c = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (c >= cols) return;
  const std::int64_t split = blockIdx.y, r0 = rows * split / kRowSplits, r1 = rows * (split + 1) / kRowSplits;
  float s = 0;
  for (std::int64_t r = r0; r < r1; ++r) s += m[r * cols + c];
  partial[split * cols + c] = s;
}

__global__ void add_partials(const float* partial, float* sums, std::int64_t cols) {
  const std::int64_t c = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (c >= cols) return;
  float s = 0;
  for (std::int64_t k = 0; k < kRowSplits; ++k) s += partial[k * cols + c];
  sums[c] = s;
}

__global__ void prelu_dx_kernel(const float* x, const float* w, const float* dy, float* dx, std::int64_t n,
                                std::int64_t channels, std::int64_t inner) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    dx[i] = x[i] > 0 ? dy[i] : w[(i / inner) % channels] * dy[i];
  }
}

// One block per (row, channel) segment: the segment's x * dy where x <= 0, into partial[segment].
__global__ void prelu_segment_sums(const float* x, const float* dy, float* partial, std::int64_t inner) {
  __shared__ float shared[kThreads];
  const std::int64_t base = blockIdx.x * inner;
  float s = 0;
  for (std::int64_t i = threadIdx.x; i < inner; i += blockDim.x) s += x[base + i] > 0 ? 0.0f : x[base + i] * dy[base + i];
  shared[threadIdx.x] = s;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

class CudaSteps final : public UnfusedSteps {
 public:
  CudaSteps() {
    cudaEventCreate(&start_);
    cudaEventCreate(&stop_);
  }
  ~CudaSteps() override {
    cudaFree(partial_);
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  void clamp(const float* in, float lo, float hi, float shift, float* out, std::int64_t n) override {
    clamp_kernel<<<kBlocks, kThreads>>>(in, lo, hi, shift, out, n);
  }
  void zero_outside(const float* x, float lo, float hi, float* g, std::int64_t n) override {
    zero_outside_kernel<<<kBlocks, kThreads>>>(x, lo, hi, g, n);
  }
  void multiply(const float* a, const float* b, float* out, std::int64_t n) override {
    multiply_kernel<<<kBlocks, kThreads>>>(a, b, out, n);
  }
  void column_sums(const float* m, float* sums, std::int64_t rows, std::int64_t cols) override {
    float* partial = scratch(kRowSplits * cols);
    const dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads), kRowSplits);
    column_partials<<<grid, kThreads>>>(m, partial, rows, cols);
    add_partials<<<static_cast<unsigned>((cols + kThreads - 1) / kThreads), kThreads>>>(partial, sums, cols);
  }
  void prelu_dx(const float* x, const float* weight, const float* dy, float* dx, std::int64_t rows,
                std::int64_t channels, std::int64_t inner) override {
    prelu_dx_kernel<<<kBlocks, kThreads>>>(x, weight, dy, dx, rows * channels * inner, channels, inner);
  }
  void prelu_dweight(const float* x, const float* dy, float* dweight, std::int64_t rows, std::int64_t channels,
                     std::int64_t inner) override {
    float* partial = scratch(rows * channels);
    prelu_segment_sums<<<static_cast<unsigned>(rows * channels), kThreads>>>(x, dy, partial, inner);
    // The segments of channel c are rows x channels apart: the column sums of a rows x channels matrix.
    column_sums(partial, dweight, rows, channels);
  }
  void* allocate(std::size_t bytes) override {
    void* p = nullptr;
    cudaMalloc(&p, bytes);
    std::vector<float> values(bytes / sizeof(float));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = fill_value(i);
    cudaMemcpy(p, values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice);
    return p;
  }
  void release(void* p) override { cudaFree(p); }
  double seconds(const std::function<void()>& work) override {
    cudaEventRecord(start_);
    work();
    cudaEventRecord(stop_);
    cudaEventSynchronize(stop_);
    float ms = 0;
    cudaEventElapsedTime(&ms, start_, stop_);
    return ms / 1e3;
  }

 private:
  // Device scratch of at least `floats` elements, kept between calls (a caching allocator's worth).
  float* scratch(std::int64_t floats) {
    if (floats > partial_floats_) {
      cudaFree(partial_);
      cudaMalloc(&partial_, static_cast<std::size_t>(floats) * sizeof(float));
      partial_floats_ = floats;
    }
    return partial_;
  }
  float* partial_ = nullptr;
  std::int64_t partial_floats_ = 0;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

}  // namespace

std::unique_ptr<UnfusedSteps> make_cuda_steps() { return std::make_unique<CudaSteps>(); }

}  // namespace actk::bench
