// The avx2 kernels: one loop template over the vector functors of activations_avx2.hpp, for f32,
// f16 (F16C conversions) and bf16 (shifts). This file alone is compiled with -mavx2 -mfma -mf16c;
// cpu_backend.cpp calls into it only after checking the CPU.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "host/cpu/activations_avx2.hpp"
#include "host/cpu/cpu_kernels.hpp"

namespace actk::cpu {
namespace avx2 {
namespace {

// Storage <-> eight f32 lanes. Widening is exact; narrowing rounds to nearest even once and keeps
// NaN a NaN.
template <class T>
ACTK_AVX2_INLINE V load(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return _mm256_loadu_ps(p);
  } else if constexpr (std::is_same_v<T, Half>) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
}

// kStream: a non-temporal store (the destination must be aligned to the vector's size), which
// writes around the caches and saves the read-for-ownership of the destination line.
template <bool kStream, class T>
ACTK_AVX2_INLINE void store(T* p, V v) {
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (kStream) {
      _mm256_stream_ps(p, v);
    } else {
      _mm256_storeu_ps(p, v);
    }
    return;
  }
  __m128i narrow;
  if constexpr (std::is_same_v<T, Half>) {
    narrow = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    // Round to nearest even: add 0x7fff plus the lowest kept bit, keep the top half. A NaN would
    // round into infinity when its payload sits in the low half, so NaN lanes keep their top
    // half with the quiet bit set instead.
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i quiet_nan = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
    const __m256i out = _mm256_blendv_epi8(rounded, quiet_nan, _mm256_castps_si256(is_nan(v)));
    // packus works within 128-bit lanes: [a0..a3 b0..b3 a4..a7 b4..b7]; permute the quads back.
    narrow = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(out, out), 0xd8));
  }
  if constexpr (kStream) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(p), narrow);
  } else {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), narrow);
  }
}

// The outputs of one vector of elements (the fields the pass writes).
struct Out {
  V y;
  V dx;
};

// One pass over eight elements: loads every input first, so in-place calls are safe whatever
// is stored afterwards. The NaN rule (NaN in, NaN out, including the gradient) is applied here
// once for every activation. The gradient is dy * d, or fma(dy, d, dx): one rounding, as the
// CUDA kernels do, and no overflow of dy * d where dx + dy * d is finite.
// f'(+inf) and f'(-inf), the exact limits, from the portable functors: the vector derivatives
// approach them without always reaching them (e^-|x| clamped before it underflows), which only
// shows as dy * f' for an infinite dy (inf * 0 is NaN, inf * 1e-38 is not).
struct DerivativeLimits {
  V at_positive_infinity;
  V at_negative_infinity;
};

inline DerivativeLimits derivative_limits(const detail::ElementwiseCall& call) {
  const float x[2] = {__builtin_inff(), -__builtin_inff()}, dy[2] = {1.0f, 1.0f};
  float d[2] = {};
  detail::ElementwiseCall limits = call;
  limits.pass = Pass::backward;
  limits.dtype = DType::f32;
  limits.x = x;
  limits.dy = dy;
  limits.y = nullptr;
  limits.dx = d;
  limits.count = 2;
  limits.accumulate = false;
  portable_kernel(limits)(limits, 0, 2);
  return {_mm256_set1_ps(d[0]), _mm256_set1_ps(d[1])};
}

template <class Op, Pass kPass, class T>
ACTK_AVX2_INLINE Out compute(const Op& op, const T* x, const T* dy, const T* dx, bool accumulate,
                             const DerivativeLimits& limits) {
  const V xv = load(x);
  const V nan = is_nan(xv);
  Out out{};
  if constexpr (kPass == Pass::forward || kPass == Pass::forward_backward) out.y = select(nan, xv, op.forward(xv));
  if constexpr (kPass != Pass::forward) {
    V d;
    if constexpr (kPass == Pass::backward_from_output) {
      d = op.derivative_from_output(xv);
    } else {
      d = op.derivative(xv);
      const V infinite = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), xv), _mm256_set1_ps(__builtin_inff()), _CMP_EQ_OQ);
      if (_mm256_movemask_ps(infinite)) {
        const V at_limit = _mm256_blendv_ps(limits.at_negative_infinity, limits.at_positive_infinity,
                                            _mm256_cmp_ps(xv, _mm256_setzero_ps(), _CMP_GT_OQ));
        d = _mm256_blendv_ps(d, at_limit, infinite);
      }
    }
    const V derivative = select(nan, xv, d);
    out.dx = accumulate ? _mm256_fmadd_ps(load(dy), derivative, load(dx)) : _mm256_mul_ps(load(dy), derivative);
  }
  return out;
}

template <Pass kPass, bool kStream, class T>
ACTK_AVX2_INLINE void put(T* y, T* dx, const Out& out) {
  if constexpr (kPass == Pass::forward || kPass == Pass::forward_backward) store<kStream>(y, out.y);
  if constexpr (kPass != Pass::forward) store<kStream>(dx, out.dx);
}

// Ranges whose outputs are larger than this go around the caches (see run_range): past a few
// MiB per thread the lines are evicted before anyone reads them.
constexpr std::size_t kStreamBytes = std::size_t{4} << 20;
constexpr std::uintptr_t kLineBytes = 64;

template <class Op, Pass kPass, class T>
void run_range(const detail::ElementwiseCall& call, std::int64_t begin, std::int64_t end) {
  const Op op(call.params);
  const DerivativeLimits limits = kPass == Pass::backward || kPass == Pass::forward_backward
                                      ? derivative_limits(call)
                                      : DerivativeLimits{_mm256_setzero_ps(), _mm256_setzero_ps()};
  const T* x = static_cast<const T*>(call.x);
  const T* dy = static_cast<const T*>(call.dy);
  T* y = static_cast<T*>(call.y);
  T* dx = static_cast<T*>(call.dx);
  const bool accumulate = call.accumulate;
  constexpr bool kForward = kPass == Pass::forward || kPass == Pass::forward_backward;
  constexpr bool kBackward = kPass != Pass::forward;
  // Forced inline like everything on the hot path (see ACTK_AVX2_INLINE): GCC would call the
  // larger activations' lambda from its four sites.
  auto compute_at = [&](std::int64_t i) __attribute__((always_inline)) {
    return compute<Op, kPass>(op, x + i, kBackward ? dy + i : nullptr, kBackward ? dx + i : nullptr, accumulate, limits);
  };
  auto put_at = [&](auto stream, std::int64_t i, const Out& out) __attribute__((always_inline)) {
    put<kPass, decltype(stream)::value>(kForward ? y + i : nullptr, kBackward ? dx + i : nullptr, out);
  };
  // 1..7 elements go through the same vector code on a zero-padded copy, so an element gets the
  // same bits whether it ends up in a vector, a head or a tail of a range.
  auto partial = [&](std::int64_t i, std::int64_t count) {
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
    alignas(32) T xs[8] = {}, dys[8] = {}, ys[8] = {}, dxs[8] = {};
    std::memcpy(xs, x + i, bytes);
    if constexpr (kBackward) {
      std::memcpy(dys, dy + i, bytes);
      if (accumulate) std::memcpy(dxs, dx + i, bytes);
    }
    put<kPass, false>(ys, dxs, compute<Op, kPass>(op, xs, dys, dxs, accumulate, limits));
    if constexpr (kForward) std::memcpy(y + i, ys, bytes);
    if constexpr (kBackward) std::memcpy(dx + i, dxs, bytes);
  };

  std::int64_t i = begin;
  // A large range is written with non-temporal stores, which skip the read of each destination
  // line that a normal store needs, one whole cache line at a time: all vectors of a line are
  // computed before any is stored, so the write-combining buffer fills at once (a line written
  // in halves, with an activation's arithmetic in between, can be flushed half full). Outputs
  // must be line-aligned for that (a head gets them there); outputs that disagree on their
  // alignment keep normal stores.
  const std::size_t out_bytes = static_cast<std::size_t>(end - begin) * sizeof(T) * (kForward && kBackward ? 2 : 1);
  const auto misalignment = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p) % kLineBytes; };
  const T* out = kForward ? y : dx;
  if (out_bytes >= kStreamBytes && (!(kForward && kBackward) || misalignment(y) == misalignment(dx))) {
    const auto head = static_cast<std::int64_t>((kLineBytes - misalignment(out + i)) % kLineBytes / sizeof(T));
    for (; i + 8 <= begin + head; i += 8) put_at(std::false_type{}, i, compute_at(i));
    if (i < begin + head) {
      partial(i, begin + head - i);
      i = begin + head;
    }
    constexpr std::int64_t kVectors = kLineBytes / (8 * sizeof(T));
    for (; i + 8 * kVectors <= end; i += 8 * kVectors) {
      Out outs[kVectors];
      for (std::int64_t v = 0; v < kVectors; ++v) outs[v] = compute_at(i + 8 * v);
      for (std::int64_t v = 0; v < kVectors; ++v) put_at(std::true_type{}, i + 8 * v, outs[v]);
    }
    _mm_sfence();  // order the streamed lines before the call returns
  }
  for (; i + 8 <= end; i += 8) put_at(std::false_type{}, i, compute_at(i));
  if (i < end) partial(i, end - i);
}

// kFromOutput: the catalogue allows backward_from_output (the functor then has the member).
template <class Op, bool kFromOutput, class T>
RangeKernel pick_pass(Pass pass) {
  switch (pass) {
    case Pass::forward: return &run_range<Op, Pass::forward, T>;
    case Pass::backward: return &run_range<Op, Pass::backward, T>;
    case Pass::forward_backward: return &run_range<Op, Pass::forward_backward, T>;
    case Pass::backward_from_output:
      if constexpr (kFromOutput) return &run_range<Op, Pass::backward_from_output, T>;
      break;
  }
  return nullptr;
}

template <class Op, bool kFromOutput>
RangeKernel pick_dtype(const detail::ElementwiseCall& call) {
  switch (call.dtype) {
    case DType::f32: return pick_pass<Op, kFromOutput, float>(call.pass);
    case DType::f16: return pick_pass<Op, kFromOutput, Half>(call.pass);
    case DType::bf16: return pick_pass<Op, kFromOutput, BFloat16>(call.pass);
    case DType::f64: break;
  }
  return nullptr;
}

}  // namespace
}  // namespace avx2

RangeKernel avx2_kernel(const detail::ElementwiseCall& call) noexcept {
  switch (call.activation) {
#define ACTK_AVX2_CASE(id, Functor, params, from_output) \
  case Activation::id:                                   \
    return avx2::pick_dtype<avx2::Functor, FromOutput::from_output != FromOutput::never>(call);
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_AVX2_CASE)
#undef ACTK_AVX2_CASE
    default: break;  // the structured entries have kernels of their own
  }
  return nullptr;
}

}  // namespace actk::cpu
