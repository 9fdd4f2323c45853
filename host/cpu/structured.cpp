// Backend `cpu` for the structured activations. Gated and bias-fused calls run the elementwise
// range kernels (the same vector code as the plain passes) on compute-type chunks that stay in
// L1; PReLU and Maxout are simple loops the compiler vectorizes. The reductions (dweight, dbias)
// sum in double over a split of the data that depends on the shape alone, never on the thread
// count, so they are bit-identical for any OMP_NUM_THREADS.
#include <omp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "host/backend.hpp"
#include "host/cpu/convert.hpp"
#include "host/cpu/cpu_kernels.hpp"
#include "host/dtype_visit.hpp"
#include "host/reference_math.hpp"
#include "kernels/activation_math.hpp"

namespace actk::detail {
namespace {

using cpu::kGrainElements;

// Elements of one chunk of the gated ops: their chunk buffers fit in L1 together.
constexpr std::int64_t kChunk = 1024;
// Elements of one chunk of the bias calls: longer, as their work per chunk (the kernel's set-up,
// the channel stretches, the prefetches) weighs more; in L2 (measured at 2^24, two threads:
// backward_bias 0.8-0.9 of the unfused sequence with 1024, 1.0-1.2 with 4096).
constexpr std::int64_t kBiasChunk = 4096;

using cpu::Compute;
using cpu::narrow;
using cpu::widen;

// Writes `value` to `out`, or adds it to what is there (one rounding either way).
template <class T>
void put(T& out, Compute<T> value, bool accumulate) {
  out = narrow<T>(accumulate ? widen(out) + value : value);
}

// old + a * b rounding once, as the elementwise kernels' fma(dy, f'(x), dx) does: rounding a * b
// first could overflow where old + a * b does not (dy f' past the range, added to a dx of the
// other sign), and cancellation would magnify its rounding. In f32 compute, a * b is exact in
// double and the sum rounds once there (then to f32: that double rounding is off by at most a unit
// in the last place, in the rare halfway cases); in f64, by fma.
template <class C>
C add_product(C old, C a, C b) {
  if constexpr (std::is_same_v<C, double>) {
    return std::fma(a, b, old);
  } else {
    return static_cast<C>(static_cast<double>(old) + static_cast<double>(a) * static_cast<double>(b));
  }
}

// The scale of the sums' terms (math::kSumTermScale): 2^-64 for f64 data, else 1.
template <class T>
constexpr double kTermScale = math::kSumTermScale<Compute<T>>;

// Writes a sum of terms scaled by kTermScale and added in double to `out`, or adds it to what is
// there in double (math::sum_plus_old), then rounds: narrowing the sum to the compute type first
// would overflow where the sum plus the old value does not (a dbias of 5.9e38 added to -3.1e38 in
// f32).
template <class T>
void put_sum(T& out, double scaled_sum, bool accumulate) {
  const double old = accumulate ? static_cast<double>(widen(out)) : 0.0;
  out = narrow<T>(static_cast<Compute<T>>(math::sum_plus_old<Compute<T>>(scaled_sum, old, accumulate)));
}

// Runs one pass of an elementwise activation over n compute-type values with the fast kernels.
template <class C>
void run_activation(Activation activation, const ActivationParams& params, Pass pass, const C* x, const C* dy, C* y,
                    C* dx, std::int64_t n) {
  const ElementwiseCall call{activation, pass, std::is_same_v<C, double> ? DType::f64 : DType::f32, params, x, dy,
                             y, dx, n, false, nullptr};
  cpu::select_kernel(call)(call, 0, n);
}

// Threads for `elements` of work: one per kGrainElements, at most what OpenMP offers.
int threads_for(std::int64_t elements) {
  const std::int64_t max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return static_cast<int>(std::max<std::int64_t>(1, std::min(max_threads, elements / kGrainElements)));
}

// Outputs larger than this per thread are written around the caches, as the elementwise kernels
// write theirs (cpu::kStreamBytes): past a few MiB per thread the lines are evicted before anyone
// reads them, and a streamed line need not be read first (backward_bias at 2^24: 0.8 -> 1.x of
// the unfused sequence, which streams).
constexpr std::int64_t kStreamBytesPerThread = std::int64_t{4} << 20;

// The largest finite value of T, in its compute type: beyond it a value is stored as infinity
// (or rounds down to it, within half a unit).
template <class T>
Compute<T> largest_finite() {
  if constexpr (std::is_same_v<T, Half>) {
    return widen(Half{0x7bff});
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return widen(BFloat16{0x7f7f});
  } else {
    return std::numeric_limits<T>::max();
  }
}

// Whether a call writing `elements` elements of `element_bytes` streams its outputs.
bool streams(std::int64_t elements, std::size_t element_bytes) {
  return elements * static_cast<std::int64_t>(element_bytes) / threads_for(elements) >= kStreamBytesPerThread;
}

// Copies `bytes` to `out`; with `stream`, the 16-byte aligned middle by non-temporal stores,
// fenced before returning (they are weakly ordered).
void write_bytes(void* out, const void* in, std::size_t bytes, bool stream) {
#if defined(__SSE2__)
  if (stream) {
    auto* dst = static_cast<unsigned char*>(out);
    const auto* src = static_cast<const unsigned char*>(in);
    const std::size_t head = std::min(bytes, (16 - reinterpret_cast<std::uintptr_t>(dst) % 16) % 16);
    std::memcpy(dst, src, head);
    std::size_t i = head;
    for (; i + 16 <= bytes; i += 16) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    }
    std::memcpy(dst + i, src + i, bytes - i);
    _mm_sfence();
    return;
  }
#endif
  std::memcpy(out, in, bytes);
}

// Asks for the n elements at p to be brought into the caches: the next chunk's inputs, loaded
// while this chunk computes (a chunk's loads otherwise wait on memory in bursts, with the memory
// idle while the activation's arithmetic runs).
template <class T>
void prefetch(const T* p, std::int64_t n) {
  const auto* bytes = reinterpret_cast<const char*>(p);
  for (std::int64_t b = 0; b < n * static_cast<std::int64_t>(sizeof(T)); b += 64) __builtin_prefetch(bytes + b);
}

// n values of a chunk in the compute type: f16 and bf16 with the active instruction set's vector
// conversions.
template <class T>
void widen_chunk(const T* in, Compute<T>* out, std::int64_t n) {
  if constexpr (std::is_same_v<T, Compute<T>>) {
    std::copy(in, in + n, out);
  } else {
    cpu::select_conversion(dtype_of<T>::value).widen(in, out, n);
  }
}

// Writes n compute-type values of a chunk to `out` as T.
template <class T, class C>
void write_chunk(T* out, const C* values, std::int64_t n, bool stream) {
  if constexpr (std::is_same_v<T, C>) {
    write_bytes(out, values, static_cast<std::size_t>(n) * sizeof(T), stream);
  } else {
    cpu::select_conversion(dtype_of<T>::value).narrow(values, out, n, stream);
  }
}

// ---- deterministic per-channel reductions over rows x channels x inner ----------------------

// A block of the data: rows [r0, r1), channels [c0, c1), inner [i0, i1).
struct Block {
  std::int64_t r0, r1, c0, c1, i0, i1;
};

// Fixed blocks for a per-channel reduction: blocks of whole rows where there are rows enough
// (each block sweeps its rows contiguously, with partial sums for every channel: at most
// kPartialBudget of them over all blocks); else, with many channels, one block per channel range
// (each channel then summed whole, in order, by one thread); else blocks of the inner axis. The
// split depends on the shape only, so the sums' bits do not depend on the thread count.
constexpr std::int64_t kMaxBlocks = 64;
constexpr std::int64_t kMinRowBlocks = 16;
constexpr std::int64_t kPartialBudget = std::int64_t{1} << 21;

std::vector<Block> reduction_blocks(std::int64_t rows, std::int64_t channels, std::int64_t inner) {
  std::vector<Block> blocks;
  // No rows: nothing to sum, every channel's sum is 0 (and the row split below would divide by 0).
  if (rows == 0) return blocks;
  const std::int64_t row_blocks =
      std::min({kMaxBlocks, rows, std::max<std::int64_t>(1, kPartialBudget / std::max<std::int64_t>(1, channels))});
  if (channels >= kMaxBlocks && row_blocks < kMinRowBlocks) {
    for (std::int64_t b = 0; b < kMaxBlocks; ++b) {
      blocks.push_back({0, rows, channels * b / kMaxBlocks, channels * (b + 1) / kMaxBlocks, 0, inner});
    }
  } else if (rows >= kMinRowBlocks || inner == 1) {
    for (std::int64_t b = 0; b < row_blocks; ++b) {
      blocks.push_back({rows * b / row_blocks, rows * (b + 1) / row_blocks, 0, channels, 0, inner});
    }
  } else {
    const std::int64_t per_row = std::min(inner, (kMaxBlocks + rows - 1) / rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t b = 0; b < per_row; ++b) {
        blocks.push_back({r, r + 1, 0, channels, inner * b / per_row, inner * (b + 1) / per_row});
      }
    }
  }
  return blocks;
}

// Runs visit(block, partial) over the blocks in parallel, each with its own zeroed partial sums
// for its channels [c0, c1) (partial[c - c0]), then adds the partials in block order into `sums`
// (channel-split blocks write disjoint channels, so the order is the same as a single thread's).
// The partials total at most kPartialBudget, or `channels` when the blocks split the channels.
template <class Visit>
void reduce_by_channel(std::int64_t rows, std::int64_t channels, std::int64_t inner, std::vector<double>& sums,
                       Visit&& visit) {
  const std::vector<Block> blocks = reduction_blocks(rows, channels, inner);
  const auto block_count = static_cast<std::int64_t>(blocks.size());
  std::vector<std::int64_t> offsets(blocks.size() + 1, 0);
  for (std::int64_t b = 0; b < block_count; ++b) offsets[b + 1] = offsets[b] + (blocks[b].c1 - blocks[b].c0);
  // Kept by the calling thread from call to call: a fresh buffer of megabytes is a fresh mapping,
  // and its page faults cost a fifth of a backward pass over 2^24 elements. The OpenMP threads
  // reach it through `partials` (under their own names they would find buffers of their own).
  thread_local std::vector<double> buffer;
  buffer.assign(static_cast<std::size_t>(offsets.back()), 0.0);
  double* const partials = buffer.data();
#pragma omp parallel for schedule(static) num_threads(threads_for(rows * channels * inner))
  for (std::int64_t b = 0; b < block_count; ++b) visit(blocks[b], partials + offsets[b]);
  sums.assign(static_cast<std::size_t>(channels), 0.0);
  for (std::int64_t b = 0; b < block_count; ++b) {
    for (std::int64_t c = blocks[b].c0; c < blocks[b].c1; ++c) sums[c] += partials[offsets[b] + c - blocks[b].c0];
  }
}

// ---- Chunk steps ----------------------------------------------------------------------------

// The steps of the structured calls (cpu::ChunkSteps): these loops are the portable ones and
// compute f64 data; f32 compute takes the active instruction set's.
template <class C>
bool gated_forward_products(const C* a, const C* u, C* y, std::int64_t n, C tiny) {
  int flagged = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = a[i] * u[i];
    flagged |= (std::fabs(a[i]) < tiny) & (std::fabs(u[i]) > C(1));
  }
  return flagged;
}

template <class C>
bool gated_backward_products(const C* d, const C* s, const C* a, C* first, C* second, std::int64_t n, C largest) {
  int flagged = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    first[i] = d[i] * s[i];
    second[i] = d[i] * a[i];
    flagged |= !(std::fabs(first[i]) <= largest);
  }
  return flagged;
}

// One array per loop (two arrays in one loop, their chunks 4 KiB apart, were 20% slower:
// swiglu_clamped at 2^24).
template <class C>
void gated_clamp(const C* gate, const C* up, C* gate_out, C* up_out, std::int64_t n, C limit) {
  const math::GateClamp<C> clamp{true, limit};
  for (std::int64_t i = 0; i < n; ++i) gate_out[i] = clamp.gate(gate[i]);
  for (std::int64_t i = 0; i < n; ++i) up_out[i] = clamp.up(up[i]);
}

template <class C>
void gated_clamp_gradients(const C* gate, const C* up, C* dgate, C* dup, std::int64_t n, C limit) {
  const math::GateClamp<C> clamp{true, limit};
  for (std::int64_t i = 0; i < n; ++i) dgate[i] = clamp.gate_gradient(gate[i], dgate[i]);
  for (std::int64_t i = 0; i < n; ++i) dup[i] = clamp.up_gradient(up[i], dup[i]);
}

template <class C>
void add_arrays(const C* a, const C* b, C* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

// sums[i] += v[i] scaled by kSumTermScale (2^-64 for f64: see put_sum).
template <class C>
void add_to_sums(const C* v, double* sums, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) sums[i] += static_cast<double>(v[i]) * math::kSumTermScale<C>;
}

template <class C>
bool beyond(const C* v, std::int64_t n, C largest) {
  int flagged = 0;
  for (std::int64_t i = 0; i < n; ++i) flagged |= !(std::fabs(v[i]) <= largest);
  return flagged;
}

// The product is unconditional, so the loops select.
template <class C>
void prelu_forward(const C* x, const C* w, C w0, C* y, std::int64_t n) {
  if (w) {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] <= C(0) ? w[i] * x[i] : x[i];
  } else {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] <= C(0) ? w0 * x[i] : x[i];
  }
}

// cpu::ChunkSteps for compute type C.
template <class C>
struct StepsOf {
  bool (*gated_forward)(const C*, const C*, C*, std::int64_t, C);
  bool (*gated_backward)(const C*, const C*, const C*, C*, C*, std::int64_t, C);
  void (*clamp)(const C*, const C*, C*, C*, std::int64_t, C);
  void (*clamp_gradients)(const C*, const C*, C*, C*, std::int64_t, C);
  void (*add)(const C*, const C*, C*, std::int64_t);
  void (*add_to_sums)(const C*, double*, std::int64_t);
  bool (*beyond)(const C*, std::int64_t, C);
  void (*prelu)(const C*, const C*, C, C*, std::int64_t);
};

template <class C>
StepsOf<C> steps_of() {
  if constexpr (std::is_same_v<C, float>) {
    const cpu::ChunkSteps v = cpu::select_chunk_steps();
    return {v.gated_forward, v.gated_backward, v.clamp, v.clamp_gradients, v.add, v.add_to_sums, v.beyond, v.prelu};
  } else {
    return {&gated_forward_products<C>, &gated_backward_products<C>, &gated_clamp<C>, &gated_clamp_gradients<C>,
            &add_arrays<C>, &add_to_sums<C>, &beyond<C>, &prelu_forward<C>};
  }
}

// ---- PReLU ----------------------------------------------------------------------------------

template <class T>
void prelu(const PreluCall& call) {
  using C = Compute<T>;
  const T* x = static_cast<const T*>(call.x);
  const T* weight = static_cast<const T*>(call.weight);
  auto weight_of = [&](std::int64_t c) { return widen(weight[call.per_channel ? c : 0]); };
  if (!call.dx) {
    T* y = static_cast<T*>(call.y);
    // Each thread takes a contiguous run of elements and walks it in stretches of one weight
    // (inner elements of a channel) or, channels last (inner = 1), of consecutive weights (the
    // rest of a row), so that the innermost loop is long and vectorizes: selects, not branches
    // (the sign of x is as unpredictable as the data: a branch per element took 6x the time of
    // all-positive x, as did a division per element for the channel).
    const std::int64_t count = call.rows * call.channels * call.inner;
    const bool channels_last = call.inner == 1 && call.per_channel;
    const StepsOf<C> steps = steps_of<C>();
#pragma omp parallel num_threads(threads_for(count))
    {
      const std::int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
      const std::int64_t e1 = count * (t + 1) / threads;
      for (std::int64_t e = count * t / threads; e < e1;) {
        const std::int64_t segment = e / call.inner, c = segment % call.channels;
        const std::int64_t n = std::min(e1, channels_last ? e + (call.channels - c) : (segment + 1) * call.inner) - e;
        if constexpr (std::is_same_v<T, C>) {
          steps.prelu(x + e, channels_last ? weight + c : nullptr, weight_of(c), y + e, n);
        } else {  // f16, bf16: through f32 copies, converted with the vector code
          for (std::int64_t i = 0; i < n; i += kChunk) {
            const std::int64_t m = std::min(kChunk, n - i);
            C xs[kChunk], ws[kChunk], ys[kChunk];
            widen_chunk(x + e + i, xs, m);
            if (channels_last) widen_chunk(weight + c + i, ws, m);
            steps.prelu(xs, channels_last ? ws : nullptr, weight_of(c), ys, m);
            write_chunk(y + e + i, ys, m, false);
          }
        }
        e += n;
      }
    }
    return;
  }
  const T* dy = static_cast<const T*>(call.dy);
  T* dx = static_cast<T*>(call.dx);
  std::vector<double> sums;
  // One element: dx (dy where x > 0, x where it is NaN, else w dy; added to the old dx rounding
  // once) and its term of dweight (dy x where x <= 0, NaN propagating; else 0). Both sides of
  // every select are computed, so the loops over it vectorize. f16 and bf16 run it on f32 copies
  // of kChunk elements, converted with the vector code (widen_chunk, write_chunk).
  constexpr bool same = std::is_same_v<T, C>;
  const bool accumulate = call.accumulate;
  auto element = [accumulate](const auto* xs, const auto* gs, auto* ds, std::int64_t i, C w)
                     __attribute__((always_inline)) {
    using D = std::remove_pointer_t<decltype(ds)>;
    const C v = widen(xs[i]), g = widen(gs[i]);
    const bool positive = v > C(0);
    const C passed = positive ? g : v;  // the NaN x case takes v
    const C old = accumulate ? widen(ds[i]) : C(0);
    const C scaled = accumulate ? add_product(old, g, w) : g * w;
    ds[i] = narrow<D>(positive || v != v ? (accumulate ? old + passed : passed) : scaled);
    return positive ? 0.0 : static_cast<double>(g) * static_cast<double>(v) * kTermScale<T>;
  };
  // The f32 copies of elements [i, i + n) (and of their weights from `weights`, when given).
  struct Copies {
    C x[kChunk], dy[kChunk], dx[kChunk], w[kChunk];
  };
  auto load_copies = [&](Copies& copies, std::int64_t i, std::int64_t n, const T* weights) {
    widen_chunk(x + i, copies.x, n);
    widen_chunk(dy + i, copies.dy, n);
    if (accumulate) widen_chunk(dx + i, copies.dx, n);
    if (weights) widen_chunk(weights, copies.w, n);
  };
  reduce_by_channel(call.rows, call.channels, call.inner, sums, [&](const Block& b, double* partial) {
    for (std::int64_t r = b.r0; r < b.r1; ++r) {
      if (call.inner == 1) {  // channels last: the loop runs over the channels of a row
        const std::int64_t row = r * call.channels;
        if constexpr (same) {
          if (call.per_channel) {
#pragma omp simd
            for (std::int64_t c = b.c0; c < b.c1; ++c) partial[c - b.c0] += element(x, dy, dx, row + c, weight[c]);
          } else {
            const C w = weight_of(0);
#pragma omp simd
            for (std::int64_t c = b.c0; c < b.c1; ++c) partial[c - b.c0] += element(x, dy, dx, row + c, w);
          }
        } else {
          for (std::int64_t c0 = b.c0; c0 < b.c1; c0 += kChunk) {
            const std::int64_t n = std::min(kChunk, b.c1 - c0);
            Copies copies;
            load_copies(copies, row + c0, n, call.per_channel ? weight + c0 : nullptr);
            if (!call.per_channel) std::fill(copies.w, copies.w + n, weight_of(0));
#pragma omp simd
            for (std::int64_t j = 0; j < n; ++j) {
              partial[c0 - b.c0 + j] += element(copies.x, copies.dy, copies.dx, j, copies.w[j]);
            }
            write_chunk(dx + row + c0, copies.dx, n, false);
          }
        }
        continue;
      }
      for (std::int64_t c = b.c0; c < b.c1; ++c) {
        const C w = weight_of(c);
        double sum = 0.0;
        const std::int64_t begin = (r * call.channels + c) * call.inner;
        if constexpr (same) {
#pragma omp simd reduction(+ : sum)
          for (std::int64_t i = begin + b.i0; i < begin + b.i1; ++i) sum += element(x, dy, dx, i, w);
        } else {
          for (std::int64_t i0 = begin + b.i0; i0 < begin + b.i1; i0 += kChunk) {
            const std::int64_t n = std::min(kChunk, begin + b.i1 - i0);
            Copies copies;
            load_copies(copies, i0, n, nullptr);
#pragma omp simd reduction(+ : sum)
            for (std::int64_t j = 0; j < n; ++j) sum += element(copies.x, copies.dy, copies.dx, j, w);
            write_chunk(dx + i0, copies.dx, n, false);
          }
        }
        partial[c - b.c0] += sum;
      }
    }
  });
  T* dweight = static_cast<T*>(call.dweight);
  if (call.per_channel) {
    for (std::int64_t c = 0; c < call.channels; ++c) put_sum(dweight[c], sums[c], call.accumulate);
  } else {
    double total = 0.0;
    for (double s : sums) total += s;
    put_sum(dweight[0], total, call.accumulate);
  }
}

// ---- Maxout ---------------------------------------------------------------------------------

// The first maximum of a group; a NaN wins as soon as it appears (torch.max propagates NaN).
template <class T>
std::int64_t argmax(const T* group, std::int64_t k) {
  std::int64_t best = 0;
  Compute<T> best_value = widen(group[0]);
  for (std::int64_t j = 1; j < k && best_value == best_value; ++j) {
    const Compute<T> v = widen(group[j]);
    if (v > best_value || v != v) best = j, best_value = v;
  }
  return best;
}

template <class T>
void maxout(const MaxoutCall& call) {
  const T* x = static_cast<const T*>(call.x);
  const std::int64_t k = call.k;
#pragma omp parallel for schedule(static) num_threads(threads_for(call.groups * k))
  for (std::int64_t g = 0; g < call.groups; ++g) {
    if (!call.dx) {
      const std::int64_t best = argmax(x + g * k, k);
      static_cast<T*>(call.y)[g] = x[g * k + best];
      if (call.indices_out) call.indices_out[g] = static_cast<std::int32_t>(best);
      continue;
    }
    const std::int64_t best = call.indices_in ? call.indices_in[g] : argmax(x + g * k, k);
    const Compute<T> grad = widen(static_cast<const T*>(call.dy)[g]);
    T* dx = static_cast<T*>(call.dx) + g * k;
    for (std::int64_t j = 0; j < k; ++j) put(dx[j], j == best ? grad : Compute<T>(0), call.accumulate);
  }
}

// ---- Gated ----------------------------------------------------------------------------------

// The slow paths of the gated ops, for the few elements where the fast kernels' act(gate) or
// act'(gate) is too far below 1 for the product with a large `up` (and dy): one element in double
// (long double for f64 data) with the reference's math (host/reference_math.hpp), rounded once.
//  - Forward, act(gate) below the smallest normal value: its rounding to the compute type is then
//    an absolute error (down to 0 where it underflows), within act's own contract but up to
//    2^-149 |up| in y = act(gate) * up, far from the few ulp y is held to (geglu at gate = 1e-309,
//    up = 1e289: 28 ulp; swiglu at gate = -110, up = 1e38: 0 for -2e-8). Also up to 2^10 times
//    that value, where a factor of act(gate) is subnormal (e^gate in silu = gate e^gate: the gate
//    factors are below 2^10), as in the portable kernels; and for an infinite up, whose product
//    with an act(gate) that underflowed would be NaN where the reference's is infinite.
//  - Backward, dgate = dy * up * act'(gate) (plus the old dgate) overflowed although every input
//    is finite: the f32 kernels' act' (sigmoid, gelu, gelu_tanh, silu) stands in for its own tail,
//    below 2^-117, with a value within the contract's absolute floor but not relatively close,
//    which dy * up, up to 1e77, made an infinity where the product is finite (often 0).
template <class C>
using SlowType = std::conditional_t<std::is_same_v<C, double>, long double, double>;

template <class C>
SlowType<C> reference_at(Activation activation, const ActivationParams& params, C gate, bool derivative) {
  using R = SlowType<C>;
  const R x = static_cast<R>(gate);
  switch (activation) {
#define ACTK_GATED_SLOW_CASE(id, Functor, params_mask, from_output) \
  case Activation::id:                                              \
    return derivative ? reference::Functor::derivative(x, params) : reference::Functor::forward(x, params);
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_GATED_SLOW_CASE)
#undef ACTK_GATED_SLOW_CASE
    default: return std::numeric_limits<R>::quiet_NaN();  // only elementwise activations gate
  }
}

template <class C>
C gated_y_slow(Activation activation, const ActivationParams& params, C gate, C up) {
  return static_cast<C>(reference_at(activation, params, gate, false) * static_cast<SlowType<C>>(up));
}

// dy * up * act'(gate) + old, rounded once.
template <class C>
C gated_dgate_slow(Activation activation, const ActivationParams& params, C gate, C up, C dy, C old) {
  using R = SlowType<C>;
  const R value = static_cast<R>(dy) * static_cast<R>(up) * reference_at(activation, params, gate, true);
  return static_cast<C>(value + static_cast<R>(old));
}

// The gated ops run row chunks of kChunk elements through the elementwise kernels, then form the
// products in chunk buffers with loops that vectorize; the few elements that need a slow path are
// redone only in the chunks that have any; the outputs are written last, after every input
// element of the chunk has been read (outputs may alias inputs exactly).
template <class T>
void gated(const GatedCall& call) {
  using C = Compute<T>;
  constexpr bool same = std::is_same_v<T, C>;  // f32 and f64 data: no conversion buffers
  constexpr C tiny_activation = std::numeric_limits<C>::min() * C(1024);  // see the slow paths
  const C largest = largest_finite<T>();
  const std::int64_t chunks_per_row = (call.cols + kChunk - 1) / kChunk;
  const std::int64_t chunks = call.rows * chunks_per_row;
  const bool backward = call.dgate.data != nullptr;
  // relu's zeros and subnormals are exact: only the other gates need the forward's slow path.
  const bool tiny_gates_inexact = call.activation != Activation::relu;
  const bool stream = streams(call.rows * call.cols * (backward ? 2 : 1), sizeof(T));
  const C limit = static_cast<C>(call.params.limit);
  const StepsOf<C> steps = steps_of<C>();
#pragma omp parallel for schedule(static) num_threads(threads_for(call.rows * call.cols))
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const std::int64_t r = chunk / chunks_per_row;
    const std::int64_t c0 = chunk % chunks_per_row * kChunk;
    const std::int64_t n = std::min(kChunk, call.cols - c0);
    // The inputs as compute-type arrays: the data itself for f32 and f64, else converted.
    C converted[same ? 1 : 3][kChunk];
    auto input = [&](const Strided& view, int slot) -> const C* {
      const T* data = static_cast<const T*>(view.data) + r * view.stride + c0;
      if constexpr (same) {
        return data;
      } else {
        widen_chunk(data, converted[slot], n);
        return converted[slot];
      }
    };
    auto output = [&](const MutableStrided& view, const C* values) {
      write_chunk(static_cast<T*>(view.data) + r * view.stride + c0, values, n, stream);
    };
    // f16/bf16: the next chunk's inputs are asked for while this one computes (bf16 swiglu at 2^24:
    // forward 6.1 -> 5.5 ms, backward 12.9 -> 11.4 ms); f32 chunks, twice the bytes, lost 20% with it.
    if (!same && chunk + 1 < chunks) {
      const std::int64_t next_r = (chunk + 1) / chunks_per_row, next_c0 = (chunk + 1) % chunks_per_row * kChunk;
      const std::int64_t next_n = std::min(kChunk, call.cols - next_c0);
      for (const Strided* view : {&call.gate, &call.up, backward ? &call.dy : nullptr}) {
        if (view) prefetch(static_cast<const T*>(view->data) + next_r * view->stride + next_c0, next_n);
      }
    }
    const C* g_in = input(call.gate, 0);
    const C* u_in = input(call.up, 1);
    // The clamped entries' gate' and up' (math::GateClamp); the kernels below see only these.
    C clamped[2][kChunk];
    const C* g = g_in;
    const C* u = u_in;
    if (call.clamped) {
      steps.clamp(g_in, u_in, clamped[0], clamped[1], n, limit);
      g = clamped[0];
      u = clamped[1];
    }
    C activated[kChunk], first[kChunk], second[kChunk];
    if (!backward) {
      run_activation<C>(call.activation, call.params, Pass::forward, g, nullptr, activated, nullptr, n);
      const bool tiny = steps.gated_forward(activated, u, first, n, tiny_activation);
      if (tiny && tiny_gates_inexact) {
        for (std::int64_t i = 0; i < n; ++i) {
          if (std::fabs(activated[i]) < tiny_activation && std::fabs(u[i]) > C(1)) {
            first[i] = gated_y_slow(call.activation, call.params, g[i], u[i]);
          }
        }
      }
      output(call.y, first);
      continue;
    }
    // d/dgate = dy * (up * act'(gate)): the elementwise backward with `up` as its upstream
    // gradient (act' is bounded, so this product overflows only when the result does), then dy;
    // d/dup = dy * act(gate) from the same fused sweep's forward output.
    const C* d = input(call.dy, 2);
    C* scaled_derivative = second;  // up * act'(gate), until dup takes its place
    run_activation<C>(call.activation, call.params, Pass::forward_backward, g, u, activated, scaled_derivative, n);
    if (call.clamped) steps.clamp_gradients(g_in, u_in, scaled_derivative, activated, n, limit);
    if (call.accumulate) {
      const T* old_dgate = static_cast<const T*>(call.dgate.data) + r * call.dgate.stride + c0;
      const T* old_dup = static_cast<const T*>(call.dup.data) + r * call.dup.stride + c0;
      for (std::int64_t i = 0; i < n; ++i) {
        first[i] = add_product(widen(old_dgate[i]), d[i], scaled_derivative[i]);
        second[i] = add_product(widen(old_dup[i]), d[i], activated[i]);
      }
    }
    // dgate past T's range (in f32 compute, also where it is finite in f32 but not in bf16), as
    // though every input is finite: the stand-in act' of the f32 kernels' tails (see
    // gated_dgate_slow) times a large dy * up.
    const bool overflow = call.accumulate ? steps.beyond(first, n, largest)
                                          : steps.gated_backward(d, scaled_derivative, activated, first, second, n, largest);
    if (overflow) {
      T* dgate_out = static_cast<T*>(call.dgate.data) + r * call.dgate.stride + c0;
      for (std::int64_t i = 0; i < n; ++i) {
        if (!(std::fabs(first[i]) <= largest) && std::isfinite(d[i]) && std::isfinite(u[i]) && std::isfinite(g[i]) &&
            (!call.accumulate || std::isfinite(widen(dgate_out[i])))) {
          first[i] = gated_dgate_slow(call.activation, call.params, g[i], u[i], d[i],
                                      call.accumulate ? widen(dgate_out[i]) : C(0));
        }
      }
    }
    output(call.dgate, first);
    output(call.dup, second);
  }
}

// ---- Bias -----------------------------------------------------------------------------------

// Bias calls walk the flat rows x channels array in chunks (so that few channels still make long
// chunks); element e belongs to channel e % channels.
template <class T>
void bias(const BiasCall& call) {
  using C = Compute<T>;
  const T* x = static_cast<const T*>(call.x);
  const T* b = static_cast<const T*>(call.bias);
  const std::int64_t channels = call.channels;
  // Calls run(i0, i1, c) for the stretches [i0, i1) of n elements starting at channel c0 that do
  // not wrap around to channel 0 (c: the channel of i0), so that the loops over them vectorize.
  auto for_each_stretch = [channels](std::int64_t c0, std::int64_t n, auto&& run) {
    for (std::int64_t i = 0, c = c0; i < n; c = 0) {
      const std::int64_t end = std::min(n, i + channels - c);
      run(i, end, c);
      i = end;
    }
  };
  // z = x + b in the compute type for elements [e0, e0 + n), which start at channel c0.
  const StepsOf<C> steps = steps_of<C>();
  auto load_z = [&](std::int64_t e0, std::int64_t c0, std::int64_t n, C* z) {
    if constexpr (std::is_same_v<T, C>) {
      for_each_stretch(c0, n, [&](std::int64_t i0, std::int64_t i1, std::int64_t c) {
        steps.add(x + e0 + i0, b + c, z + i0, i1 - i0);
      });
    } else {
      widen_chunk(x + e0, z, n);
      for_each_stretch(c0, n, [&](std::int64_t i0, std::int64_t i1, std::int64_t c) {
        C bias_values[kBiasChunk];
        widen_chunk(b + c, bias_values, i1 - i0);
        steps.add(z + i0, bias_values, z + i0, i1 - i0);
      });
    }
  };
  const bool stream = streams(call.rows * channels, sizeof(T));
  if (!call.dy) {
    const std::int64_t count = call.rows * channels;
    const std::int64_t chunks = (count + kBiasChunk - 1) / kBiasChunk;
#pragma omp parallel for schedule(static) num_threads(threads_for(count))
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      const std::int64_t e0 = chunk * kBiasChunk, n = std::min(kBiasChunk, count - e0);
      C z[kBiasChunk], y[kBiasChunk];
      // Two chunks ahead (2^24 f32: 4.9 ms with none or one ahead, 4.1 with two, 4.8 with four;
      // the backward, with more work per chunk, gains nothing from two).
      if (e0 + 2 * n < count) prefetch(x + e0 + 2 * n, std::min(n, count - (e0 + 2 * n)));
      load_z(e0, e0 % channels, n, z);
      run_activation<C>(call.activation, call.params, Pass::forward, z, nullptr, y, nullptr, n);
      write_chunk(static_cast<T*>(call.y) + e0, y, n, stream);
    }
    return;
  }
  const T* dy = static_cast<const T*>(call.dy);
  T* dx = static_cast<T*>(call.dx);
  // dx for elements [e0, e0 + n) starting at channel c0, adding each gradient to
  // partial[channel - first], `first` being the first channel of the block's partials.
  // The gradient dy f'(z) comes from the elementwise kernel, and the sums take it alone; when
  // accumulating, the kernel gives f'(z) (dy = 1) and dx + dy f'(z) rounds once (add_product).
  const C largest = largest_finite<T>();
  auto backward_run = [&](std::int64_t e0, std::int64_t c0, std::int64_t n, double* partial, std::int64_t first) {
    // z stays intact for the overflow paths: dx may be x, and they run after dx is written.
    C z[kBiasChunk], upstream[kBiasChunk], gradient[kBiasChunk], derivative[kBiasChunk];
    double term[kBiasChunk];  // the wide terms of the overflow path below
    const std::int64_t next = std::min(n, call.rows * channels - (e0 + n));
    prefetch(x + e0 + n, next);
    prefetch(dy + e0 + n, next);
    load_z(e0, c0, n, z);
    // dy f'(z) in the overflow paths' wider type.
    auto wide_term = [&](C zi, C gi) {
      return static_cast<SlowType<C>>(gi) * reference_at(call.activation, call.params, zi, true);
    };
    // dy read in place where it is not dx: the overflow paths read it after dx is written.
    const C* g = upstream;
    if constexpr (std::is_same_v<T, C>) {
      if (dy == dx) {
        std::copy(dy + e0, dy + e0 + n, upstream);
      } else {
        g = dy + e0;
      }
    } else {
      widen_chunk(dy + e0, upstream, n);
    }
    if (call.accumulate) {
      std::fill(gradient, gradient + n, C(1));
      run_activation<C>(call.activation, call.params, Pass::backward, z, gradient, nullptr, derivative, n);
      for (std::int64_t i = 0; i < n; ++i) {
        gradient[i] = g[i] * derivative[i];
        const C old = widen(dx[e0 + i]);
        dx[e0 + i] = narrow<T>(add_product(old, g[i], derivative[i]));
        // f'(z) itself past the range (relu_squared's 2z): dy f'(z) + old, formed wider.
        if (!(std::fabs(derivative[i]) <= largest) && std::isfinite(g[i]) && std::isfinite(old)) {
          if (std::isfinite(z[i])) dx[e0 + i] = narrow<T>(static_cast<C>(wide_term(z[i], g[i]) + static_cast<SlowType<C>>(old)));
        }
      }
    } else {
      run_activation<C>(call.activation, call.params, Pass::backward, z, g, nullptr, gradient, n);
      write_chunk(dx + e0, gradient, n, stream);
    }
    // A term past the compute type's range from finite inputs (relu_squared: dy 2z, unbounded):
    // dx is that rounding, but the sum takes the term itself, formed wider, as the reference's.
    const bool overflow = steps.beyond(gradient, n, largest);
    if (overflow) {
      for (std::int64_t i = 0; i < n; ++i) {
        term[i] = std::numeric_limits<double>::quiet_NaN();
        if (std::fabs(gradient[i]) <= largest || !std::isfinite(z[i]) || !std::isfinite(g[i])) continue;
        term[i] = static_cast<double>(wide_term(z[i], g[i]) * kTermScale<T>);
      }
    }
    for_each_stretch(c0, n, [&](std::int64_t i0, std::int64_t i1, std::int64_t c) {
      if (!overflow) {
        steps.add_to_sums(gradient + i0, partial + c - first, i1 - i0);
        return;
      }
      for (std::int64_t i = i0; i < i1; ++i) {
        const bool wide = std::isfinite(term[i]) && !(std::fabs(gradient[i]) <= largest);
        partial[c - first + (i - i0)] += wide ? term[i] : gradient[i] * kTermScale<T>;
      }
    });
  };
  std::vector<double> sums;
  reduce_by_channel(call.rows, channels, 1, sums, [&](const Block& block, double* partial) {
    if (block.c0 == 0 && block.c1 == channels) {  // whole rows: one flat run
      for (std::int64_t e = block.r0 * channels, end = block.r1 * channels; e < end; e += kBiasChunk) {
        backward_run(e, e % channels, std::min(kBiasChunk, end - e), partial, 0);
      }
      return;
    }
    for (std::int64_t r = block.r0; r < block.r1; ++r) {
      for (std::int64_t c = block.c0; c < block.c1; c += kBiasChunk) {
        backward_run(r * channels + c, c, std::min(kBiasChunk, block.c1 - c), partial, block.c0);
      }
    }
  });
  T* dbias = static_cast<T*>(call.dbias);
  for (std::int64_t c = 0; c < channels; ++c) put_sum(dbias[c], sums[c], call.accumulate);
}

}  // namespace

void cpu_prelu(const PreluCall& call) {
  visit_dtype(call.dtype, [&](auto type) { prelu<typename decltype(type)::type>(call); });
}

void cpu_maxout(const MaxoutCall& call) {
  visit_dtype(call.dtype, [&](auto type) { maxout<typename decltype(type)::type>(call); });
}

void cpu_gated(const GatedCall& call) {
  visit_dtype(call.dtype, [&](auto type) { gated<typename decltype(type)::type>(call); });
}

void cpu_bias(const BiasCall& call) {
  visit_dtype(call.dtype, [&](auto type) { bias<typename decltype(type)::type>(call); });
}

}  // namespace actk::detail

namespace actk::cpu {

ChunkSteps portable_chunk_steps() noexcept {
  using namespace detail;
  return {&gated_forward_products<float>, &gated_backward_products<float>, &gated_clamp<float>,
          &gated_clamp_gradients<float>, &add_arrays<float>, &add_to_sums<float>, &beyond<float>,
          &prelu_forward<float>};
}

}  // namespace actk::cpu
