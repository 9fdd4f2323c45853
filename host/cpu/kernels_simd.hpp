// The vector kernels: one loop template over the shared functors of kernels/math/activations.hpp,
// for f32, f16 and bf16, written once over the lane primitives of lanes_<isa>.hpp and compiled once
// per instruction set by a file that includes those primitives and then this (kernels_avx2.cpp,
// kernels_avx512.cpp, kernels_avx512_bf16.cpp). Defines cpu::<isa>_kernel(), <isa>_conversion()
// and <isa>_chunk_steps() (cpu_kernels.hpp); cpu_backend.cpp calls them only after checking the CPU.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "host/cpu/cpu_kernels.hpp"
#include "kernels/math/activations.hpp"
#include "kernels/math/derivative_scale.hpp"

namespace actk::lanes::ACTK_LANES {

// Storage <-> kLanes f32 lanes. Widening is exact; narrowing rounds to nearest even once and keeps
// NaN a NaN. f16 uses the hardware conversions (lanes_<isa>.hpp); bf16 is the top half of an f32.
ACTK_LANE_INLINE V load(const BFloat16* p) {
  return from_bits(shift_left<16>(load_u16(reinterpret_cast<const std::uint16_t*>(p))));
}

// Round to nearest even: add 0x7fff plus the lowest kept bit, keep the top half. A NaN would round
// into infinity when its payload sits in the low half, so NaN lanes keep their top half with the
// quiet bit set instead. The bf16 bits, one per 32-bit lane.
ACTK_LANE_INLINE VI bf16_bits_by_integer_rounding(V v) {
  const VI bits = bits_of(v);
  const VI lsb = bit_and(shift_right<16>(bits), splat_int(1));
  const VI rounded = add(bits, add(lsb, splat_int(0x7fff)));
  const VI quiet_nan = bit_or(bits, splat_int(0x400000));
  return shift_right<16>(select(is_nan(v), quiet_nan, rounded));
}

template <bool kStream>
ACTK_LANE_INLINE void store_by_integer_rounding(BFloat16* p, V v) {
  store_u16<kStream>(reinterpret_cast<std::uint16_t*>(p), bf16_bits_by_integer_rounding(v));
}

// Two vectors at p, a first (one pack and one store on AVX2).
template <bool kStream>
ACTK_LANE_INLINE void store_pair_by_integer_rounding(BFloat16* p, V a, V b) {
  store_u16_pair<kStream>(reinterpret_cast<std::uint16_t*>(p), bf16_bits_by_integer_rounding(a),
                          bf16_bits_by_integer_rounding(b));
}

template <bool kStream>
ACTK_LANE_INLINE void store(BFloat16* p, V v) {
#ifdef ACTK_LANES_HAVE_BF16_NARROWING
  // The hardware narrowing gives the same bits, stored again only where a lane was a subnormal f32.
  if (__builtin_expect(!store_bf16_flushing_subnormals<kStream>(p, v), 1)) return;
#endif
  store_by_integer_rounding<kStream>(p, v);
}

/// Two vectors at p, a first: the same bits as two store() calls.
template <bool kStream, class T>
ACTK_LANE_INLINE void store_pair(T* p, V a, V b) {
  if constexpr (std::is_same_v<T, BFloat16>) {
#ifdef ACTK_LANES_HAVE_BF16_NARROWING
    if (__builtin_expect(!store_bf16_pair_flushing_subnormals<kStream>(p, a, b), 1)) return;
#endif
    store_pair_by_integer_rounding<kStream>(p, a, b);
  } else {
    store<kStream>(p, a);
    store<kStream>(p + kLanes, b);
  }
}

}  // namespace actk::lanes::ACTK_LANES

namespace actk::cpu::ACTK_LANES {

using namespace actk::lanes::ACTK_LANES;

namespace {

// Whether Op's forward keeps a NaN by itself (kForwardKeepsNan, kernels/math/activations.hpp).
template <class Op, class = void>
struct ForwardKeepsNan : std::false_type {};
template <class Op>
struct ForwardKeepsNan<Op, std::void_t<decltype(Op::kForwardKeepsNan)>> : std::bool_constant<Op::kForwardKeepsNan> {};

// The outputs of one vector of elements (the fields the pass writes).
struct Out {
  V y;
  V dx;
};

// One pass over kLanes elements: loads every input first, so in-place calls are safe whatever
// is stored afterwards. The NaN rule (NaN in, NaN out, including the gradient) is applied here
// once for every activation. The gradient is dy * d, or fma(dy, d, dx): one rounding, as the
// CUDA kernels do, and no overflow of dy * d where dx + dy * d is finite.
template <class Op, Pass kPass, class T>
ACTK_LANE_INLINE Out compute(const Op& op, V xv, const T* dy, const T* dx, bool accumulate) {
  const Mask nan = is_nan(xv);
  Out out{};
  if constexpr (kPass == Pass::forward || kPass == Pass::forward_backward) {
    if constexpr (ForwardKeepsNan<Op>::value && !std::is_same_v<T, float>) {
      out.y = op.forward(xv);  // two instructions fewer (kForwardKeepsNan: the same bits once narrowed)
    } else {
      out.y = select(nan, xv, op.forward(xv));
    }
  }
  if constexpr (kPass != Pass::forward) {
    V d;
    if constexpr (kPass == Pass::backward_from_output) {
      d = op.derivative_from_output(xv);
    } else {
      d = op.derivative(xv);
    }
    const V derivative = select(nan, xv, d);
    const V dyv = load(dy);
    constexpr float kScale = math::DerivativeScale<Op>::value;
    if constexpr (kScale != 1.0f) {  // as math::apply_pass: the scale on the smaller factor
      const Mask dy_smaller = less(abs(dyv), abs(derivative));
      const V first = mul(select(dy_smaller, dyv, derivative), splat(kScale));
      const V second = select(dy_smaller, derivative, dyv);
      out.dx = accumulate ? fma(first, second, load(dx)) : mul(first, second);
    } else {
      out.dx = accumulate ? fma(dyv, derivative, load(dx)) : mul(dyv, derivative);
    }
  }
  return out;
}

template <Pass kPass, bool kStream, class T>
ACTK_LANE_INLINE void put(T* y, T* dx, const Out& out) {
  if constexpr (kPass == Pass::forward || kPass == Pass::forward_backward) store<kStream>(y, out.y);
  if constexpr (kPass != Pass::forward) store<kStream>(dx, out.dx);
}

// The outputs of two vectors, a first (store_pair).
template <Pass kPass, bool kStream, class T>
ACTK_LANE_INLINE void put_pair(T* y, T* dx, const Out& a, const Out& b) {
  if constexpr (kPass == Pass::forward || kPass == Pass::forward_backward) store_pair<kStream>(y, a.y, b.y);
  if constexpr (kPass != Pass::forward) store_pair<kStream>(dx, a.dx, b.dx);
}

// Whether Op marks itself compute-bound (kComputeBound): its forward pass keeps normal stores.
template <class Op, class = void>
struct ComputeBound : std::false_type {};
template <class Op>
struct ComputeBound<Op, std::void_t<decltype(Op::kComputeBound)>> : std::bool_constant<Op::kComputeBound> {};

// Ranges whose outputs are larger than this go around the caches (see run_range): past a few
// MiB per thread the lines are evicted before anyone reads them.
constexpr std::size_t kStreamBytes = std::size_t{4} << 20;
constexpr std::uintptr_t kLineBytes = 64;

template <class Op, Pass kPass, class T>
void run_range(const detail::ElementwiseCall& call, std::int64_t begin, std::int64_t end) {
  const Op op(call.params);
  const T* x = static_cast<const T*>(call.x);
  const T* dy = static_cast<const T*>(call.dy);
  T* y = static_cast<T*>(call.y);
  T* dx = static_cast<T*>(call.dx);
  const bool accumulate = call.accumulate;
  constexpr bool kForward = kPass == Pass::forward || kPass == Pass::forward_backward;
  constexpr bool kBackward = kPass != Pass::forward;
  // Forced inline like everything on the hot path (see ACTK_LANE_INLINE): GCC would call the
  // larger activations' lambda from its four sites.
  auto compute_at = [&](std::int64_t i, V xv) __attribute__((always_inline)) {
    return compute<Op, kPass>(op, xv, kBackward ? dy + i : nullptr, kBackward ? dx + i : nullptr, accumulate);
  };
  auto put_at = [&](auto stream, std::int64_t i, const Out& out) __attribute__((always_inline)) {
    put<kPass, decltype(stream)::value>(kForward ? y + i : nullptr, kBackward ? dx + i : nullptr, out);
  };
  auto put_pair_at = [&](auto stream, std::int64_t i, const Out& a, const Out& b) __attribute__((always_inline)) {
    put_pair<kPass, decltype(stream)::value>(kForward ? y + i : nullptr, kBackward ? dx + i : nullptr, a, b);
  };
  // 1..kLanes-1 elements go through the same vector code on a zero-padded copy, so an element gets
  // the same bits whether it ends up in a vector, a head or a tail of a range.
  auto partial = [&](std::int64_t i, std::int64_t count) {
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
    alignas(64) T xs[kLanes] = {}, dys[kLanes] = {}, ys[kLanes] = {}, dxs[kLanes] = {};
    std::memcpy(xs, x + i, bytes);
    if constexpr (kBackward) {
      std::memcpy(dys, dy + i, bytes);
      if (accumulate) std::memcpy(dxs, dx + i, bytes);
    }
    put<kPass, false>(ys, dxs, compute<Op, kPass>(op, load(xs), dys, dxs, accumulate));
    if constexpr (kForward) std::memcpy(y + i, ys, bytes);
    if constexpr (kBackward) std::memcpy(dx + i, dxs, bytes);
  };

  // Whole steps of kCount vectors from i up to `stop`, each step's inputs loaded one step ahead,
  // before the math of the step before: their load and widening (bf16, f16: one or two more
  // instructions of latency) then overlap that math instead of queueing behind it (bf16 gelu
  // forward in L2, Zen 4: 0.73 -> 0.63 ns per element). In place is safe: a step's loads
  // precede the previous step's stores, and no two steps touch the same elements.
  std::int64_t i = begin;
  // The loops over a step's vectors (at most 4) are unrolled by force: GCC leaves them rolled for
  // the larger activations, and then carries the vectors through the stack (bf16 forward in L2,
  // one thread, ns per element: softplus 0.57 -> 0.50, gelu 0.65 -> 0.60, sigmoid 0.36 -> 0.33).
  auto sweep = [&](auto count, auto stream, std::int64_t stop) __attribute__((always_inline)) {
    constexpr std::int64_t kCount = decltype(count)::value;
    constexpr std::int64_t kStep = kLanes * kCount;
    if (i + kStep > stop) return;
    V inputs[kCount];
    #pragma GCC unroll 4
    for (std::int64_t v = 0; v < kCount; ++v) inputs[v] = load(x + i + kLanes * v);
    for (;; i += kStep) {
      const bool last = i + 2 * kStep > stop;
      // The last step loads its own inputs again rather than branching around the load.
      const std::int64_t ahead = last ? i : i + kStep;
      V next[kCount];
      #pragma GCC unroll 4
      for (std::int64_t v = 0; v < kCount; ++v) next[v] = load(x + ahead + kLanes * v);
      Out outs[kCount];
      #pragma GCC unroll 4
      for (std::int64_t v = 0; v < kCount; ++v) outs[v] = compute_at(i + kLanes * v, inputs[v]);
      if constexpr (kCount % 2 == 0) {
        #pragma GCC unroll 4
        for (std::int64_t v = 0; v < kCount; v += 2) put_pair_at(stream, i + kLanes * v, outs[v], outs[v + 1]);
      } else {
        #pragma GCC unroll 4
        for (std::int64_t v = 0; v < kCount; ++v) put_at(stream, i + kLanes * v, outs[v]);
      }
      if (last) break;
      #pragma GCC unroll 4
      for (std::int64_t v = 0; v < kCount; ++v) inputs[v] = next[v];
    }
    i += kStep;
  };
  using One = std::integral_constant<std::int64_t, 1>;
  // A large range is written with non-temporal stores, which skip the read of each destination
  // line that a normal store needs, one whole cache line at a time: all vectors of a line are
  // computed before any is stored, so the write-combining buffer fills at once (a line written
  // in halves, with an activation's arithmetic in between, can be flushed half full). Outputs
  // must be line-aligned for that (a head gets them there); outputs that disagree on their
  // alignment keep normal stores. The forward pass of a compute-bound activation keeps them too:
  // there the saved reads do not show, and streaming was measured slower (mish at n = 2^24, two
  // Zen 4 cores: 0.9 of oneDNN's speed streamed, 1.3 not).
  constexpr bool kStreams = !(kPass == Pass::forward && ComputeBound<Op>::value);
  const std::size_t out_bytes = static_cast<std::size_t>(end - begin) * sizeof(T) * (kForward && kBackward ? 2 : 1);
  const auto misalignment = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p) % kLineBytes; };
  const T* out = kForward ? y : dx;
  if (kStreams && out_bytes >= kStreamBytes && (!(kForward && kBackward) || misalignment(y) == misalignment(dx))) {
    const auto head = static_cast<std::int64_t>((kLineBytes - misalignment(out + i)) % kLineBytes / sizeof(T));
    sweep(One{}, std::false_type{}, begin + head);
    if (i < begin + head) {
      partial(i, begin + head - i);
      i = begin + head;
    }
    sweep(std::integral_constant<std::int64_t, kLineBytes / (kLanes * sizeof(T))>{}, std::true_type{}, end);
    stream_fence();  // order the streamed lines before the call returns
  }
  // bf16 goes by pairs of vectors there too (store_pair).
  sweep(std::integral_constant<std::int64_t, std::is_same_v<T, BFloat16> ? 2 : 1>{}, std::false_type{}, end);
  sweep(One{}, std::false_type{}, end);
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

// The conversions (cpu::Conversion): whole vectors, then the last 1..kLanes-1 values through the
// same vector code on a zero-padded copy.
template <class T>
void widen_range(const void* in, float* out, std::int64_t n) {
  const T* values = static_cast<const T*>(in);
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store<false>(out + i, load(values + i));
  if (i < n) {
    T padded[kLanes] = {};
    float wide[kLanes];
    std::memcpy(padded, values + i, static_cast<std::size_t>(n - i) * sizeof(T));
    store<false>(wide, load(padded));
    std::memcpy(out + i, wide, static_cast<std::size_t>(n - i) * sizeof(float));
  }
}

template <class T>
void narrow_range(const float* in, void* out, std::int64_t n, bool stream) {
  T* values = static_cast<T*>(out);
  constexpr std::size_t kVectorBytes = kLanes * sizeof(T);
  auto partial = [&](std::int64_t i, std::int64_t count) {
    float padded[kLanes] = {};
    T narrowed[kLanes];
    std::memcpy(padded, in + i, static_cast<std::size_t>(count) * sizeof(float));
    store<false>(narrowed, load(padded));
    std::memcpy(values + i, narrowed, static_cast<std::size_t>(count) * sizeof(T));
  };
  std::int64_t i = 0;
  const auto misalignment = reinterpret_cast<std::uintptr_t>(values) % kVectorBytes;
  if (stream && misalignment % sizeof(T) == 0) {  // a non-temporal vector store must be aligned
    const auto head = std::min<std::int64_t>(n, static_cast<std::int64_t>((kVectorBytes - misalignment) % kVectorBytes / sizeof(T)));
    if (head > 0) partial(0, head);
    for (i = head; i + kLanes <= n; i += kLanes) store<true>(values + i, load(in + i));
    stream_fence();
  }
  for (; i + kLanes <= n; i += kLanes) store<false>(values + i, load(in + i));
  if (i < n) partial(i, n - i);
}

// The chunk steps (cpu::ChunkSteps): whole vectors, then the last elements of the products one by
// one (a product rounds the same either way) and those of the clamps padded to a vector. One
// array per clamp loop: loads and stores of two chunk arrays 4 KiB apart in one loop were 20%
// slower.
bool gated_forward_products(const float* a, const float* u, float* y, std::int64_t n, float tiny) {
  const V tiny_v = splat(tiny), one = splat(1.0f);
  bool flagged = false;
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const V av = load(a + i), uv = load(u + i);
    store<false>(y + i, mul(av, uv));
    flagged |= any(mask_and(less(abs(av), tiny_v), greater(abs(uv), one)));
  }
  for (; i < n; ++i) {
    y[i] = a[i] * u[i];
    flagged |= std::fabs(a[i]) < tiny && std::fabs(u[i]) > 1.0f;
  }
  return flagged;
}

bool gated_backward_products(const float* d, const float* s, const float* a, float* first, float* second,
                             std::int64_t n, float largest) {
  const V largest_v = splat(largest);
  bool flagged = false;
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const V dv = load(d + i), f = mul(dv, load(s + i)), sv = mul(dv, load(a + i));
    store<false>(first + i, f);
    store<false>(second + i, sv);
    flagged |= any(mask_or(greater(abs(f), largest_v), is_nan(f)));
  }
  for (; i < n; ++i) {
    first[i] = d[i] * s[i];
    second[i] = d[i] * a[i];
    flagged |= !(std::fabs(first[i]) <= largest);
  }
  return flagged;
}

// The padded last elements of a clamp step: in and out of kLanes-element buffers.
template <class Step>
ACTK_LANE_INLINE void padded_tail(const float* in, float* out, std::int64_t n, Step&& step) {
  const std::int64_t i = n / kLanes * kLanes, count = n - i;
  if (count == 0) return;
  float ins[kLanes] = {}, outs[kLanes] = {};
  std::memcpy(ins, in + i, static_cast<std::size_t>(count) * sizeof(float));
  std::memcpy(outs, out + i, static_cast<std::size_t>(count) * sizeof(float));
  store<false>(outs, step(load(ins), load(outs)));
  std::memcpy(out + i, outs, static_cast<std::size_t>(count) * sizeof(float));
}

// One array per loop of a clamp step: out[i] = step(in[i], out[i]).
template <class Step>
ACTK_LANE_INLINE void clamp_step(const float* in, float* out, std::int64_t n, Step&& step) {
  for (std::int64_t i = 0; i + kLanes <= n; i += kLanes) store<false>(out + i, step(load(in + i), load(out + i)));
  padded_tail(in, out, n, step);
}

void gated_clamp(const float* gate, const float* up, float* gate_out, float* up_out, std::int64_t n, float limit) {
  const V high = splat(limit), low = splat(-limit), one = splat(1.0f);
  clamp_step(gate, gate_out, n, [&](V g, V) { return select(greater(g, high), high, g); });
  clamp_step(up, up_out, n, [&](V u, V) { return add(select(less(u, low), low, select(greater(u, high), high, u)), one); });
}

void gated_clamp_gradients(const float* gate, const float* up, float* dgate, float* dup, std::int64_t n,
                           float limit) {
  const V high = splat(limit), low = splat(-limit);
  clamp_step(gate, dgate, n, [&](V g, V d) { return select(greater(g, high), zero(), d); });
  clamp_step(up, dup, n, [&](V u, V d) { return select(mask_or(less(u, low), greater(u, high)), zero(), d); });
}

void add_arrays(const float* a, const float* b, float* out, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store<false>(out + i, add(load(a + i), load(b + i)));
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

void add_to_sums(const float* v, double* sums, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) add_to_doubles(sums + i, load(v + i));
  for (; i < n; ++i) sums[i] += static_cast<double>(v[i]);
}

bool beyond(const float* v, std::int64_t n, float largest) {
  const V largest_v = splat(largest);
  bool flagged = false;
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const V x = abs(load(v + i));
    flagged |= any(mask_or(greater(x, largest_v), is_nan(x)));
  }
  for (; i < n; ++i) flagged |= !(std::fabs(v[i]) <= largest);
  return flagged;
}

void prelu_forward(const float* x, const float* w, float w0, float* y, std::int64_t n) {
  auto step = [&](V v, V weight) __attribute__((always_inline)) {
    return select(less_equal(v, zero()), mul(weight, v), v);
  };
  std::int64_t i = 0;
  if (w) {
    for (; i + kLanes <= n; i += kLanes) store<false>(y + i, step(load(x + i), load(w + i)));
    for (; i < n; ++i) y[i] = x[i] <= 0.0f ? w[i] * x[i] : x[i];
  } else {
    const V weight = splat(w0);
    for (; i + kLanes <= n; i += kLanes) store<false>(y + i, step(load(x + i), weight));
    for (; i < n; ++i) y[i] = x[i] <= 0.0f ? w0 * x[i] : x[i];
  }
}

}  // namespace

/// This instruction set's chunk steps.
ChunkSteps chunk_steps() noexcept {
  return {&gated_forward_products, &gated_backward_products, &gated_clamp, &gated_clamp_gradients, &add_arrays,
          &add_to_sums, &beyond, &prelu_forward};
}

/// This instruction set's conversions for f16 or bf16.
Conversion conversion(DType dtype) noexcept {
  if (dtype == DType::f16) return {&widen_range<Half>, &narrow_range<Half>};
  return {&widen_range<BFloat16>, &narrow_range<BFloat16>};
}

/// The kernel of this instruction set for `call`, or nullptr (f64, the structured entries).
RangeKernel kernel(const detail::ElementwiseCall& call) noexcept {
  switch (call.activation) {
#define ACTK_LANES_CASE(id, Functor, params, from_output) \
  case Activation::id:                                   \
    return pick_dtype<Functor, FromOutput::from_output != FromOutput::never>(call);
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_LANES_CASE)
#undef ACTK_LANES_CASE
    default: break;  // the structured entries have kernels of their own
  }
  return nullptr;
}

}  // namespace actk::cpu::ACTK_LANES

namespace actk::cpu {

// This instruction set's entries of cpu_kernels.hpp: <isa>_kernel and so on.
#define ACTK_CPU_ENTRY_(isa, name) isa##_##name
#define ACTK_CPU_ENTRY(isa, name) ACTK_CPU_ENTRY_(isa, name)

RangeKernel ACTK_CPU_ENTRY(ACTK_LANES, kernel)(const detail::ElementwiseCall& call) noexcept {
  return ACTK_LANES::kernel(call);
}

Conversion ACTK_CPU_ENTRY(ACTK_LANES, conversion)(DType dtype) noexcept { return ACTK_LANES::conversion(dtype); }

ChunkSteps ACTK_CPU_ENTRY(ACTK_LANES, chunk_steps)() noexcept { return ACTK_LANES::chunk_steps(); }

}  // namespace actk::cpu
