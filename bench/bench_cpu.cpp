// CPU rows of actk-bench, registered from the catalogue: for every activation and pass, at
// n = 4^5 .. 4^13 (2^10 .. 2^26), the backends
//   cpu          actk's fast path (vectorized, multithreaded); f32, bf16 and f16
//   reference    actk's oracle (scalar, double precision); f32
//   onednn       oneDNN's eltwise primitive (forward_backward: its forward then its backward), in
//                the row's dtype where oneDNN runs it on this machine
//   copy         the pass's memory traffic with no arithmetic, same threads: the roofline
//   textbook     naive scalar formulas as lecture notes write them, one thread; f32
//   cpu_battery  the cpu path on the validation battery's x (special values, huge and subnormal
//                inputs, kinks; repeated to n) instead of the realistic inputs; f32
// Realistic inputs (every other row, and actk compare): x uniform on [-8, 8], which reaches every
// branch of every activation, dy uniform on [-2, 2] (validation::kRealisticX, kRealisticDy).
// Counters: bytes_per_second (bytes the pass reads and writes), vs_copy (time of copy / time of
// the row, same bytes, same run), vs_onednn (time of oneDNN / time of the row, same run) and, on
// cpu_battery rows, vs_realistic (time of the cpu row on realistic inputs / time on the battery,
// same run: >= 1 / 1.5 is the target of data-independent speed).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "actk/actk.hpp"
#include "bench/registry.hpp"
#include "host/cpu/cpu_kernels.hpp"
#include "host/validation/battery.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#ifdef ACTK_BENCH_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace actk::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Inputs { realistic, battery };

// The arrays of one (dtype, n, inputs), 64-byte aligned and first touched by the threads that will
// use them. x and dy hold the inputs, y and dx start zeroed.
struct Buffers {
  DType dtype;
  std::int64_t n;
  void* x;
  void* dy;
  void* y;
  void* dx;
  std::int64_t bytes() const { return n * static_cast<std::int64_t>(dtype_size(dtype)); }
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

void store(DType dtype, void* array, std::int64_t i, float value) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(array)[i] = value; break;
    case DType::f16: static_cast<Half*>(array)[i] = half_from_float(value); break;
    case DType::bf16: static_cast<BFloat16*>(array)[i] = bfloat16_from_float(value); break;
    case DType::f64: static_cast<double*>(array)[i] = value; break;
  }
}

// `activation` matters for the battery only (its kinks); the battery's arrays of one activation at
// a time are kept, as they are only needed while its rows run.
Buffers& buffers(DType dtype, std::int64_t n, Inputs inputs = Inputs::realistic,
                 Activation activation = Activation::identity) {
  using Key = std::tuple<DType, std::int64_t, Inputs, Activation>;
  static std::map<Key, std::tuple<Buffers, std::unique_ptr<void, FreeDeleter>[4]>> cache;
  if (inputs == Inputs::realistic) activation = Activation::identity;
  const Key key{dtype, n, inputs, activation};
  auto it = cache.find(key);
  if (it != cache.end()) return std::get<0>(it->second);
  for (auto old = cache.begin(); inputs == Inputs::battery && old != cache.end();) {
    old = std::get<2>(old->first) == Inputs::battery ? cache.erase(old) : std::next(old);
  }
  it = cache.emplace(std::piecewise_construct, std::forward_as_tuple(key), std::forward_as_tuple()).first;
  auto& [view, owners] = it->second;
  const std::size_t bytes = (static_cast<std::size_t>(n) * dtype_size(dtype) + 63) / 64 * 64;
  void* arrays[4];
  for (int a = 0; a < 4; ++a) {
    arrays[a] = std::aligned_alloc(64, bytes);
    owners[a].reset(arrays[a]);
  }
  view = {dtype, n, arrays[0], arrays[1], arrays[2], arrays[3]};
  const validation::HostBuffer battery =
      inputs == Inputs::battery ? validation::battery(activation, {}, dtype, 0, false) : validation::HostBuffer(dtype, 0);
#pragma omp parallel
  {
    std::mt19937 rng(1234u + static_cast<unsigned>(omp_get_thread_num()));
    std::uniform_real_distribution<float> ux(-validation::kRealisticX, validation::kRealisticX);
    std::uniform_real_distribution<float> ud(-validation::kRealisticDy, validation::kRealisticDy);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const float x = inputs == Inputs::battery ? static_cast<float>(battery.at(i % battery.count())) : ux(rng);
      store(dtype, view.x, i, x);
      store(dtype, view.dy, i, ud(rng));
      store(dtype, view.y, i, 0.0f);
      store(dtype, view.dx, i, 0.0f);
    }
  }
  return view;
}

// Bytes a pass moves: arrays read and written, n elements each.
std::int64_t pass_bytes(Pass pass, const Buffers& b) {
  const int arrays = pass == Pass::forward ? 2 : pass == Pass::forward_backward ? 4 : 3;
  return arrays * b.bytes();
}

// The roofline: the pass's reads and writes without arithmetic, in 32-bit words whatever the
// dtype, split over the threads as the cpu backend splits (one contiguous, line-aligned block
// each), with the best stores for data that leaves the caches: 32-byte non-temporal ones (AVX,
// checked at run time), which skip reading the destination lines; the cpu backend uses them for
// large calls too. backward reads x and dy and writes their bitwise or, so that both reads are
// needed.
struct Words {
  const float* x;
  const float* dy;
  float* y;
  float* dx;
};

#if defined(__x86_64__)
__attribute__((target("avx"))) void copy_range_avx(Pass pass, const Words& b, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; i += 8) {
    const __m256 xv = _mm256_load_ps(b.x + i);
    switch (pass) {
      case Pass::forward: _mm256_stream_ps(b.y + i, xv); break;
      case Pass::forward_backward:
        _mm256_stream_ps(b.y + i, xv);
        _mm256_stream_ps(b.dx + i, _mm256_load_ps(b.dy + i));
        break;
      case Pass::backward:
      case Pass::backward_from_output: _mm256_stream_ps(b.dx + i, _mm256_or_ps(xv, _mm256_load_ps(b.dy + i))); break;
    }
  }
  _mm_sfence();
}
#endif

void copy_range_scalar(Pass pass, const Words& b, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) {
    switch (pass) {
      case Pass::forward: b.y[i] = b.x[i]; break;
      case Pass::forward_backward:
        b.y[i] = b.x[i];
        b.dx[i] = b.dy[i];
        break;
      case Pass::backward:
      case Pass::backward_from_output: {
        std::uint32_t u, v;
        std::memcpy(&u, b.x + i, 4);
        std::memcpy(&v, b.dy + i, 4);
        u |= v;
        std::memcpy(b.dx + i, &u, 4);
        break;
      }
    }
  }
}

void copy_like(Pass pass, const Buffers& b) {
  const std::int64_t n = (b.bytes() + 3) / 4;  // the allocation is whole lines, so whole words
  const Words words{static_cast<const float*>(b.x), static_cast<const float*>(b.dy), static_cast<float*>(b.y),
                    static_cast<float*>(b.dx)};
#if defined(__x86_64__)
  static const bool avx = __builtin_cpu_supports("avx");
#endif
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t begin = std::min(n, (n * t / threads + 15) / 16 * 16);
    const std::int64_t end = t == threads - 1 ? n : std::min(n, (n * (t + 1) / threads + 15) / 16 * 16);
    std::int64_t vector_end = begin;
#if defined(__x86_64__)
    if (avx) {
      vector_end = begin + (end - begin) / 8 * 8;
      copy_range_avx(pass, words, begin, vector_end);
    }
#endif
    copy_range_scalar(pass, words, vector_end, end);
  }
}

void run_actk(Activation activation, Pass pass, Backend backend, const Buffers& b) {
  Options options;
  options.backend = backend;
  const ConstTensorView x(b.x, b.dtype, b.n), dy(b.dy, b.dtype, b.n);
  const TensorView y(b.y, b.dtype, b.n), dx(b.dx, b.dtype, b.n);
  switch (pass) {
    case Pass::forward: forward(activation, x, y, options); break;
    case Pass::backward: backward(activation, x, dy, dx, options); break;
    case Pass::backward_from_output: backward_from_output(activation, x, dy, dx, options); break;
    case Pass::forward_backward: forward_backward(activation, x, dy, y, dx, options); break;
  }
}

// ---- textbook: the formulas as first written, scalar, one thread ----

struct Textbook {
  float (*forward)(float);
  float (*derivative)(float);
  float (*from_output)(float);  // nullptr where y does not determine f'
};

float sigmoid_tb(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float tanh_tb(float x) { return (std::exp(x) - std::exp(-x)) / (std::exp(x) + std::exp(-x)); }
float gelu_tb(float x) { return 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f))); }
float gelu_tanh_inner(float x) { return std::sqrt(2.0f / 3.14159265f) * (x + 0.044715f * x * x * x); }
float softplus_tb(float x) { return std::log(1.0f + std::exp(x)); }
constexpr float kSeluScale = 1.0507009873554805f, kSeluAlpha = 1.6732632423543772f;

Textbook textbook(Activation activation) {
  switch (activation) {
    case Activation::identity: return {[](float x) { return x; }, [](float) { return 1.0f; }, [](float) { return 1.0f; }};
    case Activation::sigmoid:
      return {sigmoid_tb, [](float x) { return sigmoid_tb(x) * (1 - sigmoid_tb(x)); },
              [](float y) { return y * (1 - y); }};
    case Activation::tanh:
      return {tanh_tb, [](float x) { return 1 - tanh_tb(x) * tanh_tb(x); }, [](float y) { return 1 - y * y; }};
    case Activation::relu:
      return {[](float x) { return std::max(0.0f, x); }, [](float x) { return x > 0 ? 1.0f : 0.0f; },
              [](float y) { return y > 0 ? 1.0f : 0.0f; }};
    case Activation::relu_squared:
      return {[](float x) { return x > 0 ? x * x : 0.0f; }, [](float x) { return x > 0 ? 2 * x : 0.0f; },
              [](float y) { return 2 * std::sqrt(y); }};
    case Activation::leaky_relu:
      return {[](float x) { return x > 0 ? x : 0.01f * x; }, [](float x) { return x > 0 ? 1.0f : 0.01f; },
              [](float y) { return y > 0 ? 1.0f : 0.01f; }};
    case Activation::elu:
      return {[](float x) { return x > 0 ? x : std::exp(x) - 1; }, [](float x) { return x > 0 ? 1.0f : std::exp(x); },
              [](float y) { return y > 0 ? 1.0f : y + 1; }};
    case Activation::selu:
      return {[](float x) { return kSeluScale * (x > 0 ? x : kSeluAlpha * (std::exp(x) - 1)); },
              [](float x) { return x > 0 ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(x); },
              [](float y) { return y > 0 ? kSeluScale : y + kSeluScale * kSeluAlpha; }};
    case Activation::celu:
      return {[](float x) { return std::max(0.0f, x) + std::min(0.0f, std::exp(x) - 1); },
              [](float x) { return x > 0 ? 1.0f : std::exp(x); }, [](float y) { return y > 0 ? 1.0f : y + 1; }};
    case Activation::gelu:
      return {gelu_tb,
              [](float x) {
                return 0.5f * (1.0f + std::erf(x / std::sqrt(2.0f))) + x * std::exp(-x * x / 2) / std::sqrt(2 * 3.14159265f);
              },
              nullptr};
    case Activation::gelu_tanh:
      return {[](float x) { return 0.5f * x * (1 + std::tanh(gelu_tanh_inner(x))); },
              [](float x) {
                const float t = std::tanh(gelu_tanh_inner(x));
                return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * std::sqrt(2.0f / 3.14159265f) * (1 + 3 * 0.044715f * x * x);
              },
              nullptr};
    case Activation::silu:
      return {[](float x) { return x * sigmoid_tb(x); },
              [](float x) { return sigmoid_tb(x) * (1 + x * (1 - sigmoid_tb(x))); }, nullptr};
    case Activation::quick_gelu:
      return {[](float x) { return x * sigmoid_tb(1.702f * x); },
              [](float x) { return sigmoid_tb(1.702f * x) * (1 + 1.702f * x * (1 - sigmoid_tb(1.702f * x))); }, nullptr};
    case Activation::softplus: return {softplus_tb, sigmoid_tb, nullptr};
    case Activation::mish:
      return {[](float x) { return x * std::tanh(softplus_tb(x)); },
              [](float x) {
                const float t = std::tanh(softplus_tb(x));
                return t + x * sigmoid_tb(x) * (1 - t * t);
              },
              nullptr};
    case Activation::hardtanh:
      return {[](float x) { return std::min(1.0f, std::max(-1.0f, x)); },
              [](float x) { return x > -1 && x < 1 ? 1.0f : 0.0f; }, nullptr};
    case Activation::relu6:
      return {[](float x) { return std::min(6.0f, std::max(0.0f, x)); },
              [](float x) { return x > 0 && x < 6 ? 1.0f : 0.0f; }, nullptr};
    case Activation::hardsigmoid:
      return {[](float x) { return std::min(6.0f, std::max(0.0f, x + 3)) / 6; },
              [](float x) { return x > -3 && x < 3 ? 1.0f / 6 : 0.0f; }, nullptr};
    case Activation::hardswish:
      return {[](float x) { return x * std::min(6.0f, std::max(0.0f, x + 3)) / 6; },
              [](float x) { return x < -3 ? 0.0f : x > 3 ? 1.0f : x / 3 + 0.5f; }, nullptr};
    case Activation::softsign:
      return {[](float x) { return x / (1 + std::fabs(x)); },
              [](float x) { return 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x))); }, nullptr};
  }
  return {nullptr, nullptr, nullptr};
}

void run_textbook(const Textbook& tb, Pass pass, const Buffers& buffers) {
  const std::int64_t n = buffers.n;
  const Words b{static_cast<const float*>(buffers.x), static_cast<const float*>(buffers.dy),
                static_cast<float*>(buffers.y), static_cast<float*>(buffers.dx)};
  switch (pass) {
    case Pass::forward:
      for (std::int64_t i = 0; i < n; ++i) b.y[i] = tb.forward(b.x[i]);
      break;
    case Pass::backward:
      for (std::int64_t i = 0; i < n; ++i) b.dx[i] = b.dy[i] * tb.derivative(b.x[i]);
      break;
    case Pass::backward_from_output:
      for (std::int64_t i = 0; i < n; ++i) b.dx[i] = b.dy[i] * tb.from_output(b.x[i]);
      break;
    case Pass::forward_backward:
      for (std::int64_t i = 0; i < n; ++i) {
        b.y[i] = tb.forward(b.x[i]);
        b.dx[i] = b.dy[i] * tb.derivative(b.x[i]);
      }
      break;
  }
}

// ---- oneDNN ----

#ifdef ACTK_BENCH_WITH_ONEDNN
struct OneDnnAlgorithm {
  dnnl::algorithm forward;
  dnnl::algorithm from_output;  // the *_use_dst_for_bwd variant, or undef
  float alpha, beta;
};

// actk's activations (default parameters) in oneDNN 2.6's terms; nothing where it has none.
bool onednn_algorithm(Activation activation, OneDnnAlgorithm* out, std::string* why) {
  using A = dnnl::algorithm;
  switch (activation) {
    case Activation::identity: *out = {A::eltwise_linear, A::undef, 1.0f, 0.0f}; return true;
    case Activation::sigmoid: *out = {A::eltwise_logistic, A::eltwise_logistic_use_dst_for_bwd, 0, 0}; return true;
    case Activation::tanh: *out = {A::eltwise_tanh, A::eltwise_tanh_use_dst_for_bwd, 0, 0}; return true;
    case Activation::relu: *out = {A::eltwise_relu, A::eltwise_relu_use_dst_for_bwd, 0, 0}; return true;
    case Activation::leaky_relu:
      *out = {A::eltwise_relu, A::eltwise_relu_use_dst_for_bwd,
              static_cast<float>(ActivationParams{}.negative_slope), 0};
      return true;
    case Activation::elu: *out = {A::eltwise_elu, A::eltwise_elu_use_dst_for_bwd, 1.0f, 0}; return true;
    case Activation::gelu: *out = {A::eltwise_gelu_erf, A::undef, 0, 0}; return true;
    case Activation::gelu_tanh: *out = {A::eltwise_gelu_tanh, A::undef, 0, 0}; return true;
    case Activation::silu: *out = {A::eltwise_swish, A::undef, 1.0f, 0}; return true;
    // swish(x) = x sigmoid(alpha x): quick_gelu with alpha = sigmoid_scale.
    case Activation::quick_gelu:
      *out = {A::eltwise_swish, A::undef, static_cast<float>(ActivationParams{}.sigmoid_scale), 0};
      return true;
    // 2.6's soft_relu is log(1 + e^x) with no beta: actk's default beta = 1 (threshold 20 only
    // changes the last ulp).
    case Activation::softplus: *out = {A::eltwise_soft_relu, A::undef, 0, 0}; return true;
    case Activation::mish: *out = {A::eltwise_mish, A::undef, 0, 0}; return true;
    case Activation::hardtanh: *out = {A::eltwise_clip, A::undef, -1.0f, 1.0f}; return true;
    case Activation::relu6: *out = {A::eltwise_clip, A::undef, 0.0f, 6.0f}; return true;
    case Activation::hardswish: *out = {A::eltwise_hardswish, A::undef, 0, 0}; return true;
    case Activation::selu:
    case Activation::celu:
    case Activation::relu_squared:
    case Activation::hardsigmoid:
    case Activation::softsign: break;
  }
  *why = std::string("oneDNN 2.6 has no eltwise algorithm for ") + activation_name(activation);
  return false;
}

class OneDnnRunner {
 public:
  OneDnnRunner(const OneDnnAlgorithm& alg, Pass pass, const Buffers& b)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), pass_(pass) {
    using T = dnnl::memory::data_type;
    const T type = b.dtype == DType::bf16 ? T::bf16 : b.dtype == DType::f16 ? T::f16 : T::f32;
    const dnnl::memory::desc md({b.n}, type, dnnl::memory::format_tag::a);
    x_ = dnnl::memory(md, engine_, b.x);
    dy_ = dnnl::memory(md, engine_, b.dy);
    y_ = dnnl::memory(md, engine_, b.y);
    dx_ = dnnl::memory(md, engine_, b.dx);
    const dnnl::algorithm fwd_alg = pass == Pass::backward_from_output ? alg.from_output : alg.forward;
    const dnnl::eltwise_forward::primitive_desc fwd_pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, fwd_alg, md, alg.alpha, alg.beta), engine_);
    forward_ = dnnl::eltwise_forward(fwd_pd);
    if (pass != Pass::forward) {
      const dnnl::eltwise_backward::primitive_desc bwd_pd(
          dnnl::eltwise_backward::desc(fwd_alg, md, md, alg.alpha, alg.beta), engine_, fwd_pd);
      backward_ = dnnl::eltwise_backward(bwd_pd);
    }
  }

  void run() {
    if (pass_ == Pass::forward || pass_ == Pass::forward_backward) {
      forward_.execute(stream_, {{DNNL_ARG_SRC, x_}, {DNNL_ARG_DST, y_}});
    }
    if (pass_ != Pass::forward) {
      // from_output: the input array holds y, handed over as DNNL_ARG_DST.
      const int input = pass_ == Pass::backward_from_output ? DNNL_ARG_DST : DNNL_ARG_SRC;
      backward_.execute(stream_, {{input, x_}, {DNNL_ARG_DIFF_DST, dy_}, {DNNL_ARG_DIFF_SRC, dx_}});
    }
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  Pass pass_;
  dnnl::memory x_, dy_, y_, dx_;
  dnnl::eltwise_forward forward_;
  dnnl::eltwise_backward backward_;
};
#endif

// A oneDNN runner for (activation, pass, n), or nothing and the reason.
std::function<void()> onednn_work(Activation activation, Pass pass, const Buffers& b, std::string* why) {
#ifdef ACTK_BENCH_WITH_ONEDNN
  OneDnnAlgorithm alg{};
  if (!onednn_algorithm(activation, &alg, why)) return {};
  if (pass == Pass::backward_from_output && alg.from_output == dnnl::algorithm::undef) {
    *why = std::string("oneDNN 2.6 has no use_dst_for_bwd algorithm for ") + activation_name(activation);
    return {};
  }
  try {
    auto runner = std::make_shared<OneDnnRunner>(alg, pass, b);
    return [runner] { runner->run(); };
  } catch (const dnnl::error& e) {  // a dtype it has no kernel for on this machine
    *why = std::string("oneDNN runs no ") + dtype_name(b.dtype) + " " + activation_name(activation) + " here: " + e.what();
    return {};
  }
#else
  (void)activation;
  (void)pass;
  (void)b;
  *why = "actk-bench was built without oneDNN (Debian: libdnnl-dev)";
  return {};
#endif
}

// ---- the rows ----

enum class Row { cpu, reference, onednn, copy, textbook, cpu_battery };
const char* row_name(Row row) {
  switch (row) {
    case Row::cpu: return "cpu";
    case Row::cpu_battery: return "cpu_battery";
    case Row::reference: return "reference";
    case Row::onednn: return "onednn";
    case Row::copy: return "copy";
    case Row::textbook: return "textbook";
  }
  return "?";
}

void run_row(benchmark::State& state, Activation activation, Pass pass, Row row, DType dtype, std::int64_t n) {
  const Buffers& b = buffers(dtype, n, row == Row::cpu_battery ? Inputs::battery : Inputs::realistic, activation);
  std::function<void()> work;
  // cpu_battery's baseline: the cpu row on the realistic inputs.
  std::function<void()> realistic;
  switch (row) {
    case Row::cpu: work = [&] { run_actk(activation, pass, Backend::cpu, b); }; break;
    case Row::cpu_battery: {
      const Buffers& r = buffers(dtype, n);
      work = [&] { run_actk(activation, pass, Backend::cpu, b); };
      realistic = [&] { run_actk(activation, pass, Backend::cpu, r); };
      break;
    }
    case Row::reference: work = [&] { run_actk(activation, pass, Backend::reference, b); }; break;
    case Row::copy: work = [&] { copy_like(pass, b); }; break;
    case Row::textbook: {
      const Textbook tb = textbook(activation);
      work = [tb, pass, &b] { run_textbook(tb, pass, b); };
      break;
    }
    case Row::onednn: {
      std::string why;
      work = onednn_work(activation, pass, b, &why);
      if (!work) {
        state.SkipWithError(why.c_str());
        return;
      }
      break;
    }
  }
  // The baselines run interleaved with the row, one run each per iteration, so that a ratio
  // compares runs made under the same conditions (this machine is shared: a baseline measured
  // once, earlier, can be off by 2x). Only the row's own run is timed for the row.
  const std::function<void()> copy = [&] { copy_like(pass, b); };
  std::string why;
  const std::function<void()> onednn = row == Row::cpu_battery ? nullptr : onednn_work(activation, pass, b, &why);
  work();  // warm-up (page faults, oneDNN's kernel generation)
  copy();
  if (onednn) onednn();
  if (realistic) realistic();

  auto timed = [](const std::function<void()>& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  double seconds = 0, copy_seconds = 0, onednn_seconds = 0, realistic_seconds = 0;
  for (auto _ : state) {
    const double t = timed(work);
    state.SetIterationTime(t);
    seconds += t;
    state.PauseTiming();
    copy_seconds += timed(copy);
    if (onednn) onednn_seconds += timed(onednn);
    if (realistic) realistic_seconds += timed(realistic);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * pass_bytes(pass, b));
  state.counters["vs_copy"] = copy_seconds / seconds;
  if (onednn) state.counters["vs_onednn"] = onednn_seconds / seconds;
  if (realistic) state.counters["vs_realistic"] = realistic_seconds / seconds;
  state.counters["threads"] = row == Row::textbook || row == Row::reference ? 1 : omp_get_max_threads();
}

}  // namespace

void register_cpu_benchmarks() {
  // The cpu rows' instruction set (ACTK_CPU_ISA chooses another), in the report's context.
  benchmark::AddCustomContext("actk_cpu_isa", cpu::isa_name(cpu::active_isa()));
  const Pass passes[] = {Pass::forward, Pass::backward, Pass::backward_from_output, Pass::forward_backward};
  // The rows of each dtype: the scalar baselines (textbook, reference) and the battery in f32 only.
  const std::pair<DType, std::vector<Row>> dtypes[] = {
      {DType::f32, {Row::cpu, Row::onednn, Row::copy, Row::textbook, Row::reference, Row::cpu_battery}},
      {DType::bf16, {Row::cpu, Row::onednn, Row::copy}},
      {DType::f16, {Row::cpu, Row::onednn, Row::copy}}};
  for (const Pass pass : passes) {
    for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
      if (pass == Pass::backward_from_output && !supports_backward_from_output(entry.activation, ActivationParams{})) {
        continue;
      }
      for (const auto& [dtype, rows] : dtypes) {
        for (const Row row : rows) {
          for (int log4 = 5; log4 <= 13; ++log4) {
            const std::int64_t n = std::int64_t{1} << (2 * log4);
            const std::string name = std::string(pass_name(pass)) + "/" + entry.name + "/" + dtype_name(dtype) + "/" +
                                     row_name(row) + "/" + std::to_string(n);
            benchmark::RegisterBenchmark(name.c_str(),
                                         [activation = entry.activation, pass, row, dtype = dtype, n](benchmark::State& s) {
                                           run_row(s, activation, pass, row, dtype, n);
                                         })
                ->UseManualTime()
                ->Unit(benchmark::kMicrosecond);
          }
        }
      }
    }
  }
}

}  // namespace actk::bench
