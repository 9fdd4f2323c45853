// The cpu backend's internal interface: kernels that compute one range of an elementwise call,
// one table per instruction set, and the choice between them (internal).
#pragma once

#include <cstdint>

#include "host/backend.hpp"

namespace actk::cpu {

/// Computes elements [begin, end) of `call`. Every element's result depends on that element alone
/// and not on where the range starts or ends, so any split gives bit-identical output.
using RangeKernel = void (*)(const detail::ElementwiseCall& call, std::int64_t begin, std::int64_t end);

/// The instruction sets the backend has code for, from the least to the most capable.
enum class Isa : std::uint8_t {
  portable,  ///< plain C++ over kernels/activation_math.hpp's functors; every machine
  avx2,      ///< AVX2 + FMA + F16C, 8 lanes (host/cpu/kernels_avx2.cpp)
  avx512,    ///< AVX-512 F/BW/DQ/VL + FMA + F16C, 16 lanes (host/cpu/kernels_avx512.cpp)
  avx512_bf16,  ///< avx512 + AVX512_BF16: bf16 narrowed in hardware (host/cpu/kernels_avx512_bf16.cpp)
};

/// Every Isa, in the enum's order.
inline constexpr Isa kAllIsas[] = {Isa::portable, Isa::avx2, Isa::avx512, Isa::avx512_bf16};

/// "portable", "avx2", "avx512" or "avx512_bf16".
const char* isa_name(Isa isa) noexcept;

/// Whether this machine (CPU and OS) can run `isa`.
bool isa_supported(Isa isa) noexcept;

/// The instruction set calls use: the best this machine supports, unless the environment variable
/// ACTK_CPU_ISA (read once, at the first call) names another that it supports (`portable`,
/// `avx2`, `avx512`, `avx512_bf16`); anything else, unset, or a set the machine cannot run means the best.
Isa active_isa() noexcept;

/// Overrides active_isa() for the rest of the process (tests run both paths in one process).
/// An unsupported `isa` is ignored. Not thread-safe against concurrent calls.
void set_isa(Isa isa) noexcept;

/// The kernel of a call, or nullptr when the table has none (f64 in the vector tables: f64 always
/// runs the portable kernels, whose functors compute in double). avx2_kernel, avx512_kernel and
/// avx512_bf16_kernel exist where the compiler has the flags (ACTK_CPU_HAVE_AVX2,
/// ACTK_CPU_HAVE_AVX512, ACTK_CPU_HAVE_AVX512_BF16).
RangeKernel portable_kernel(const detail::ElementwiseCall& call) noexcept;
RangeKernel avx2_kernel(const detail::ElementwiseCall& call) noexcept;
RangeKernel avx512_kernel(const detail::ElementwiseCall& call) noexcept;
RangeKernel avx512_bf16_kernel(const detail::ElementwiseCall& call) noexcept;

/// The kernel `isa` has for `call`: nullptr where it has none, or where this build has no code
/// for `isa`.
RangeKernel isa_kernel(Isa isa, const detail::ElementwiseCall& call) noexcept;

/// The kernel the active instruction set has for `call` (the portable one where it has none).
RangeKernel select_kernel(const detail::ElementwiseCall& call) noexcept;

/// Conversions of n contiguous values between a 16-bit storage type (f16 or bf16) and f32, for the
/// structured calls' compute-type chunks (structured.cpp): widening is exact, narrowing rounds to
/// nearest even once, with convert.hpp's values (NaN stays a NaN; its payload may differ). With
/// `stream`, the narrowed values are written around the caches.
struct Conversion {
  void (*widen)(const void* in, float* out, std::int64_t n);
  void (*narrow)(const float* in, void* out, std::int64_t n, bool stream);
};

/// The steps of the structured calls over f32 arrays (structured.cpp; gated and bias: around the
/// activation kernel), each exact or rounded once, so that every instruction set gives the same
/// bits.
struct ChunkSteps {
  /// y = a u; returns whether some |a| < tiny where |u| > 1 (the gated forward's slow-path elements).
  bool (*gated_forward)(const float* a, const float* u, float* y, std::int64_t n, float tiny);
  /// first = d s and second = d a (second may be s); returns whether some first is not within
  /// [-largest, largest] (NaN included: the gated backward's overflow path).
  bool (*gated_backward)(const float* d, const float* s, const float* a, float* first, float* second, std::int64_t n,
                         float largest);
  /// swiglu_clamped's inputs (math::GateClamp): gate_out = min(gate, limit), up_out =
  /// clamp(up, -limit, limit) + 1, NaN staying NaN.
  void (*clamp)(const float* gate, const float* up, float* gate_out, float* up_out, std::int64_t n, float limit);
  /// The clamps' backward, in place: dgate = 0 where gate > limit, dup = 0 where |up| > limit.
  void (*clamp_gradients)(const float* gate, const float* up, float* dgate, float* dup, std::int64_t n, float limit);
  /// out = a + b (out may be a): the bias calls' x + b.
  void (*add)(const float* a, const float* b, float* out, std::int64_t n);
  /// sums[i] += v[i] in double: the bias backward's per-channel sums.
  void (*add_to_sums)(const float* v, double* sums, std::int64_t n);
  /// Whether some v is not within [-largest, largest] (NaN included).
  bool (*beyond)(const float* v, std::int64_t n, float largest);
  /// PReLU's forward: y = x <= 0 ? w_i x : x (NaN: x), w_i = w[i], or w0 where w is null.
  void (*prelu)(const float* x, const float* w, float w0, float* y, std::int64_t n);
};

/// The chunk steps of one instruction set (portable: structured.cpp's own loops), and of the
/// active one.
ChunkSteps portable_chunk_steps() noexcept;
ChunkSteps avx2_chunk_steps() noexcept;
ChunkSteps avx512_chunk_steps() noexcept;
ChunkSteps avx512_bf16_chunk_steps() noexcept;
ChunkSteps select_chunk_steps() noexcept;

/// The conversions of one instruction set for `dtype` (f16 or bf16), as the kernels above.
Conversion portable_conversion(DType dtype) noexcept;
Conversion avx2_conversion(DType dtype) noexcept;
Conversion avx512_conversion(DType dtype) noexcept;
Conversion avx512_bf16_conversion(DType dtype) noexcept;

/// The conversions of the active instruction set (f16 or bf16).
Conversion select_conversion(DType dtype) noexcept;

/// Elements per thread below which a call does not start another thread: the OpenMP fork/join
/// (a few microseconds) costs about what one core needs for this many elements of the cheapest
/// activation.
inline constexpr std::int64_t kGrainElements = std::int64_t{1} << 15;

}  // namespace actk::cpu
