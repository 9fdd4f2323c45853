// The steps of the unfused sequences that actk has no pass for (bench_structured.cpp): what a
// user writes by hand around actk's elementwise passes, on one backend, in f32. CPU: plain OpenMP
// loops (bench_structured.cpp); CUDA: plain grid-stride kernels (unfused_steps_cuda.cu).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace actk::bench {

class UnfusedSteps {
 public:
  virtual ~UnfusedSteps() = default;
  /// out = a * b, element by element.
  virtual void multiply(const float* a, const float* b, float* out, std::int64_t n) = 0;
  /// out = clamp(in, lo, hi) + shift: swiglu_clamped's input clamps (torch.clamp, then + 1).
  virtual void clamp(const float* in, float lo, float hi, float shift, float* out, std::int64_t n) = 0;
  /// g = 0 where x is outside [lo, hi]: the clamps' backward.
  virtual void zero_outside(const float* x, float lo, float hi, float* g, std::int64_t n) = 0;
  /// sums[c] = the sum over rows of m[r][c] (m row-major rows x cols).
  virtual void column_sums(const float* m, float* sums, std::int64_t rows, std::int64_t cols) = 0;
  /// PReLU's dx alone: dy where x > 0, else w_c * dy (rows x channels x inner).
  virtual void prelu_dx(const float* x, const float* weight, const float* dy, float* dx, std::int64_t rows,
                        std::int64_t channels, std::int64_t inner) = 0;
  /// PReLU's weight gradient alone: dweight_c = the sum of x * dy where x <= 0 in channel c.
  virtual void prelu_dweight(const float* x, const float* dy, float* dweight, std::int64_t rows,
                             std::int64_t channels, std::int64_t inner) = 0;
  /// Memory on this backend, filled with a fixed pattern of positive and negative values.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* p) = 0;
  /// Seconds `work` takes, finished (CUDA: events around the work on the default stream).
  virtual double seconds(const std::function<void()>& work) = 0;
};

/// The pattern allocate() fills with: -0.75 at a third of the elements, 0.5 elsewhere, in an
/// order no branch predictor learns (a hash of i): a periodic pattern hid the cost of a branch
/// per element on the sign (PReLU: 6x).
inline float fill_value(std::size_t i) {
  std::uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
  return (h ^ (h >> 29)) % 3 == 0 ? -0.75f : 0.5f;
}

#ifdef ACTK_WITH_CUDA
std::unique_ptr<UnfusedSteps> make_cuda_steps();
#endif

}  // namespace actk::bench
