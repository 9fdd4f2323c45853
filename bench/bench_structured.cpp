// Structured rows of actk-bench: each fused structured call against the unfused sequence of
// simpler passes a user would otherwise run, on the same backend, f32:
//   forward_bias/<act>    y = f(x + b)          vs  bias add, then the activation
//   backward_bias/<act>   dx, dbias in one sweep vs  bias add, the activation's backward, column sums
//   forward/<gated>       y = act(gate) * up     vs  the activation, then a multiply
//   backward/<gated>      dgate, dup in one sweep vs  activation, multiply, multiply, backward
//   (swiglu_clamped: the input clamps first, and their backward: zero where a clamp binds)
//   backward/prelu        dx, dweight in one sweep vs the dx pass, then the weight-gradient reduction
// Rows are named <pass>/<op>/f32/<backend>/<n> (backend cpu or cuda), n elements of x (gated: of
// y). Counters: bytes_per_second (the fused call's bytes), vs_unfused (time of the unfused
// sequence / time of the fused call, timed alternately in the same iterations). The unfused steps
// are actk's own passes where actk has one (bias add is forward_bias with identity) and plain
// loops or kernels (UnfusedSteps) for the multiply and the reductions.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "actk/actk.hpp"
#include "bench/registry.hpp"
#include "bench/unfused_steps.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk::bench {
namespace {

// ---- the unfused steps on the CPU: plain OpenMP loops, as a user writes them ----

class CpuSteps final : public UnfusedSteps {
 public:
  void multiply(const float* a, const float* b, float* out, std::int64_t n) override {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
  }
  void clamp(const float* in, float lo, float hi, float shift, float* out, std::int64_t n) override {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) out[i] = std::min(std::max(in[i], lo), hi) + shift;
  }
  void zero_outside(const float* x, float lo, float hi, float* g, std::int64_t n) override {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) g[i] = x[i] >= lo && x[i] <= hi ? g[i] : 0.0f;
  }
  void column_sums(const float* m, float* sums, std::int64_t rows, std::int64_t cols) override {
    // Each thread sums a block of rows into its own row of partials; then the partials are added.
    const int threads = omp_get_max_threads();
    partials_.assign(static_cast<std::size_t>(threads * cols), 0.0f);
#pragma omp parallel num_threads(threads)
    {
      float* mine = partials_.data() + omp_get_thread_num() * cols;
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < rows; ++r) {
#pragma omp simd
        for (std::int64_t c = 0; c < cols; ++c) mine[c] += m[r * cols + c];
      }
    }
    for (std::int64_t c = 0; c < cols; ++c) {
      float s = 0;
      for (int t = 0; t < threads; ++t) s += partials_[t * cols + c];
      sums[c] = s;
    }
  }
  void prelu_dx(const float* x, const float* weight, const float* dy, float* dx, std::int64_t rows,
                std::int64_t channels, std::int64_t inner) override {
#pragma omp parallel for schedule(static)
    for (std::int64_t s = 0; s < rows * channels; ++s) {
      const float w = weight[s % channels];
#pragma omp simd
      for (std::int64_t i = s * inner; i < (s + 1) * inner; ++i) dx[i] = x[i] > 0 ? dy[i] : w * dy[i];
    }
  }
  void prelu_dweight(const float* x, const float* dy, float* dweight, std::int64_t rows, std::int64_t channels,
                     std::int64_t inner) override {
    const int threads = omp_get_max_threads();
    partials_.assign(static_cast<std::size_t>(threads * channels), 0.0f);
#pragma omp parallel num_threads(threads)
    {
      float* mine = partials_.data() + omp_get_thread_num() * channels;
#pragma omp for schedule(static)
      for (std::int64_t s = 0; s < rows * channels; ++s) {
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (std::int64_t i = s * inner; i < (s + 1) * inner; ++i) sum += x[i] > 0 ? 0.0f : x[i] * dy[i];
        mine[s % channels] += sum;
      }
    }
    for (std::int64_t c = 0; c < channels; ++c) {
      float s = 0;
      for (int t = 0; t < threads; ++t) s += partials_[t * channels + c];
      dweight[c] = s;
    }
  }
  void* allocate(std::size_t bytes) override {
    auto* p = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    for (std::size_t i = 0; i < bytes / sizeof(float); ++i) p[i] = fill_value(i);
    return p;
  }
  void release(void* p) override { std::free(p); }
  double seconds(const std::function<void()>& work) override {
    const auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  std::vector<float> partials_;
};

// ---- the rows ----

enum class Op { forward_bias, backward_bias, gated_forward, gated_backward, prelu_backward };

struct RowSpec {
  Op op;
  Activation activation;
  Backend backend;
  std::int64_t n;
};

// Hidden width of the bias and gated rows (a transformer's), channels x inner of the PReLU rows
// (an NCHW feature map of 64 channels).
constexpr std::int64_t kWidth = 4096;
constexpr std::int64_t kPreluChannels = 64;

struct Arrays {
  UnfusedSteps& steps;
  std::vector<void*> owned;
  float* make(std::int64_t n) {
    owned.push_back(steps.allocate(static_cast<std::size_t>(n) * sizeof(float)));
    return static_cast<float*>(owned.back());
  }
  ~Arrays() {
    for (void* p : owned) steps.release(p);
  }
};

void run_row(benchmark::State& state, const RowSpec& spec) {
  std::unique_ptr<UnfusedSteps> steps;
  if (spec.backend == Backend::cuda) {
    std::string why;
    if (!backend_available(Backend::cuda, &why)) {
      state.SkipWithError(why.c_str());
      return;
    }
#ifdef ACTK_WITH_CUDA
    steps = make_cuda_steps();
#endif
  } else {
    steps = std::make_unique<CpuSteps>();
  }
  Options options;
  options.backend = spec.backend;
  const Activation a = spec.activation;
  const std::int64_t n = spec.n, rows = n / kWidth;
  Arrays arrays{*steps, {}};
  float *x = arrays.make(n), *dy = arrays.make(n), *out = arrays.make(n), *tmp = arrays.make(n), *tmp2 = arrays.make(n);
  float* bias = arrays.make(kWidth);
  float* dbias = arrays.make(kWidth);

  std::function<void()> fused, unfused;
  std::int64_t bytes = 0;
  // swiglu_clamped: its unfused sequence clamps first (the default limit, 7).
  const bool clamped = info(a).uses(Param::limit);
  const auto limit = static_cast<float>(options.params.limit);
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  switch (spec.op) {
    case Op::forward_bias:
      bytes = 2 * n * 4;
      fused = [&] { forward_bias(a, {x, n}, {bias, kWidth}, {out, n}, options); };
      unfused = [&] {
        forward_bias(Activation::identity, {x, n}, {bias, kWidth}, {tmp, n}, options);
        forward(a, {tmp, n}, {out, n}, options);
      };
      break;
    case Op::backward_bias:
      bytes = 3 * n * 4;
      fused = [&] { backward_bias(a, {x, n}, {bias, kWidth}, {dy, n}, {out, n}, {dbias, kWidth}, options); };
      unfused = [&] {
        forward_bias(Activation::identity, {x, n}, {bias, kWidth}, {tmp, n}, options);
        backward(a, {tmp, n}, {dy, n}, {out, n}, options);
        steps->column_sums(out, dbias, rows, kWidth);
      };
      break;
    case Op::gated_forward: {
      bytes = 3 * n * 4;
      const std::int64_t h = kWidth;
      fused = [&, h] { gated_forward(a, {x, rows, h, h}, {dy, rows, h, h}, {out, rows, h, h}, options); };
      if (clamped) {  // min(gate, limit), clamp(up, -limit, limit) + 1, act, multiply
        float *gate_in = arrays.make(n), *up_in = arrays.make(n);
        unfused = [&, gate_in, up_in] {
          steps->clamp(x, -kInfinity, limit, 0.0f, gate_in, n);
          steps->clamp(dy, -limit, limit, 1.0f, up_in, n);
          forward(info(a).gate, {gate_in, n}, {tmp, n}, options);
          steps->multiply(tmp, up_in, out, n);
        };
        break;
      }
      unfused = [&] {
        forward(info(a).gate, {x, n}, {tmp, n}, options);
        steps->multiply(tmp, dy, out, n);
      };
      break;
    }
    case Op::gated_backward: {
      // gate = x, up = tmp2 (kept intact), dy; outputs dgate = out, dup = tmp.
      bytes = 5 * n * 4;
      const std::int64_t h = kWidth;
      fused = [&, h] {
        gated_backward(a, {x, rows, h, h}, {tmp2, rows, h, h}, {dy, rows, h, h}, {out, rows, h, h}, {tmp, rows, h, h},
                       options);
      };
      float* scratch = arrays.make(n);
      if (clamped) {  // as below on the clamped inputs, then the clamps' backward on dup and dgate
        float *gate_in = arrays.make(n), *up_in = arrays.make(n);
        unfused = [&, scratch, gate_in, up_in] {
          steps->clamp(x, -kInfinity, limit, 0.0f, gate_in, n);
          steps->clamp(tmp2, -limit, limit, 1.0f, up_in, n);
          forward(info(a).gate, {gate_in, n}, {scratch, n}, options);
          steps->multiply(dy, scratch, tmp, n);
          steps->zero_outside(tmp2, -limit, limit, tmp, n);
          steps->multiply(dy, up_in, scratch, n);
          backward(info(a).gate, {gate_in, n}, {scratch, n}, {out, n}, options);
          steps->zero_outside(x, -kInfinity, limit, out, n);
        };
        break;
      }
      unfused = [&, scratch] {
        forward(info(a).gate, {x, n}, {scratch, n}, options);  // act(gate)
        steps->multiply(dy, scratch, tmp, n);                  // dup = dy * act(gate)
        steps->multiply(dy, tmp2, scratch, n);                 // dy * up
        backward(info(a).gate, {x, n}, {scratch, n}, {out, n}, options);  // dgate
      };
      break;
    }
    case Op::prelu_backward: {
      bytes = 3 * n * 4;
      const PreluShape shape{n / (kPreluChannels * 1024), kPreluChannels, 1024};
      fused = [&, shape] { prelu_backward({x, n}, {bias, kPreluChannels}, {dy, n}, {out, n}, {dbias, kPreluChannels}, shape, options); };
      unfused = [&, shape] {
        steps->prelu_dx(x, bias, dy, out, shape.rows, shape.channels, shape.inner);
        steps->prelu_dweight(x, dy, dbias, shape.rows, shape.channels, shape.inner);
      };
      break;
    }
  }
  fused();  // warm-up: page faults, workspace pools, lazy module loading
  unfused();
  double fused_seconds = 0, unfused_seconds = 0;
  for (auto _ : state) {
    const double t = steps->seconds(fused);
    state.SetIterationTime(t);
    fused_seconds += t;
    unfused_seconds += steps->seconds(unfused);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["vs_unfused"] = unfused_seconds / fused_seconds;
}

const char* op_pass(Op op) {
  switch (op) {
    case Op::forward_bias: return "forward_bias";
    case Op::backward_bias: return "backward_bias";
    case Op::gated_forward: return "forward";
    case Op::gated_backward:
    case Op::prelu_backward: return "backward";
  }
  return "?";
}

}  // namespace

void register_structured_benchmarks() {
  std::vector<Backend> backends = {Backend::cpu};
#ifdef ACTK_WITH_CUDA
  backends.push_back(Backend::cuda);
#endif
  std::vector<std::pair<Op, Activation>> ops;
  for (Activation a : {Activation::relu, Activation::gelu, Activation::silu}) {
    ops.push_back({Op::forward_bias, a});
    ops.push_back({Op::backward_bias, a});
  }
  for (const ActivationInfo& entry : catalogue(ActivationKind::gated)) {
    ops.push_back({Op::gated_forward, entry.activation});
    ops.push_back({Op::gated_backward, entry.activation});
  }
  ops.push_back({Op::prelu_backward, Activation::prelu});
  for (Backend backend : backends) {
    for (const auto& [op, activation] : ops) {
      for (int log2 = 20; log2 <= 26; log2 += 2) {  // 2^26: past the L3, which holds 2^24 arrays here
        const std::int64_t n = std::int64_t{1} << log2;
        const std::string name = std::string(op_pass(op)) + "/" + activation_name(activation) + "/f32/" +
                                 backend_name(backend) + "/" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), [spec = RowSpec{op, activation, backend, n}](benchmark::State& s) {
          run_row(s, spec);
        })->UseManualTime()->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

}  // namespace actk::bench
