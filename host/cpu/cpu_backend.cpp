// Backend `cpu`: picks the instruction set once, splits a call into per-thread ranges with
// OpenMP, and runs the range kernels of that instruction set. Allocates nothing.
#include <omp.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "host/backend.hpp"
#include "host/cpu/cpu_kernels.hpp"

namespace actk::cpu {
namespace {

Isa best_isa() noexcept {
  Isa best = Isa::portable;
  for (const Isa isa : kAllIsas) {
    if (isa_supported(isa)) best = isa;
  }
  return best;
}

Isa isa_from_environment() noexcept {
  const char* requested = std::getenv("ACTK_CPU_ISA");
  for (const Isa isa : kAllIsas) {
    if (requested && std::strcmp(requested, isa_name(isa)) == 0 && isa_supported(isa)) return isa;
  }
  return best_isa();
}

#if defined(__x86_64__) && defined(ACTK_CPU_HAVE_AVX2)
// __builtin_cpu_supports checks the OS's XSAVE state for the AVX (and AVX-512) registers too.
// clang 14 knows no "f16c" feature name there, so F16C comes from CPUID leaf 1 (ECX bit 29).
bool has_avx2_fma_f16c() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}
#endif

// Read once, at the first call; set_isa() replaces it.
Isa& current_isa() noexcept {
  static Isa isa = isa_from_environment();
  return isa;
}

// Ranges start at multiples of this many elements: 64 bytes for f32, so that (for aligned data)
// no two threads write the same cache line.
constexpr std::int64_t kRangeAlignment = 16;

}  // namespace

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::portable: return "portable";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512_bf16";
  }
  return "?";
}

bool isa_supported(Isa isa) noexcept {
  switch (isa) {
    case Isa::portable: return true;
    case Isa::avx2:
#if defined(__x86_64__) && defined(ACTK_CPU_HAVE_AVX2)
      return has_avx2_fma_f16c();
#else
      return false;
#endif
    case Isa::avx512:
#if defined(__x86_64__) && defined(ACTK_CPU_HAVE_AVX2) && defined(ACTK_CPU_HAVE_AVX512)
      return has_avx2_fma_f16c() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
      return false;
#endif
    case Isa::avx512_bf16:
#if defined(__x86_64__) && defined(ACTK_CPU_HAVE_AVX512_BF16)
      return isa_supported(Isa::avx512) && __builtin_cpu_supports("avx512bf16");
#else
      return false;
#endif
  }
  return false;
}

Isa active_isa() noexcept { return current_isa(); }

namespace {

// One instruction set's entry points (cpu_kernels.hpp).
struct EntryPoints {
  RangeKernel (*kernel)(const detail::ElementwiseCall&) noexcept;
  Conversion (*conversion)(DType) noexcept;
  ChunkSteps (*chunk_steps)() noexcept;
};

// Those of `isa`, or null where this build does not compile it.
const EntryPoints* entry_points(Isa isa) noexcept {
  static constexpr EntryPoints kPortable{portable_kernel, portable_conversion, portable_chunk_steps};
  switch (isa) {
    case Isa::portable: return &kPortable;
#ifdef ACTK_CPU_HAVE_AVX2
    case Isa::avx2: {
      static constexpr EntryPoints kAvx2{avx2_kernel, avx2_conversion, avx2_chunk_steps};
      return &kAvx2;
    }
#endif
#ifdef ACTK_CPU_HAVE_AVX512
    case Isa::avx512: {
      static constexpr EntryPoints kAvx512{avx512_kernel, avx512_conversion, avx512_chunk_steps};
      return &kAvx512;
    }
#endif
#ifdef ACTK_CPU_HAVE_AVX512_BF16
    case Isa::avx512_bf16: {
      static constexpr EntryPoints kAvx512Bf16{avx512_bf16_kernel, avx512_bf16_conversion, avx512_bf16_chunk_steps};
      return &kAvx512Bf16;
    }
#endif
    default: return nullptr;
  }
}

// The active set's entry points (set_isa() and the environment only choose compiled sets).
const EntryPoints& active_entry_points() noexcept {
  const EntryPoints* active = entry_points(active_isa());
  return active ? *active : *entry_points(Isa::portable);
}

}  // namespace

RangeKernel isa_kernel(Isa isa, const detail::ElementwiseCall& call) noexcept {
  const EntryPoints* e = entry_points(isa);
  return e ? e->kernel(call) : nullptr;
}

RangeKernel select_kernel(const detail::ElementwiseCall& call) noexcept {
  const RangeKernel kernel = active_entry_points().kernel(call);
  return kernel ? kernel : portable_kernel(call);
}

Conversion select_conversion(DType dtype) noexcept { return active_entry_points().conversion(dtype); }

ChunkSteps select_chunk_steps() noexcept { return active_entry_points().chunk_steps(); }

void set_isa(Isa isa) noexcept {
  if (isa_supported(isa)) current_isa() = isa;
}

}  // namespace actk::cpu

namespace actk::detail {

void cpu_elementwise(const ElementwiseCall& call) {
  using namespace actk::cpu;
  const RangeKernel kernel = select_kernel(call);

  // As many threads as OpenMP would give a parallel region (OMP_NUM_THREADS, omp_set_num_threads),
  // but no more than leaves each at least kGrainElements: small calls stay on the calling thread.
  const std::int64_t n = call.count;
  const std::int64_t max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const std::int64_t threads = std::max<std::int64_t>(1, std::min(max_threads, n / kGrainElements));
  if (threads == 1) {
    kernel(call, 0, n);
    return;
  }
  // Equal static shares (deterministic, and each thread streams one contiguous block).
  const std::int64_t share = (n / threads + kRangeAlignment - 1) / kRangeAlignment * kRangeAlignment;
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t begin = std::min(n, t * share);
    const std::int64_t end = t == threads - 1 ? n : std::min(n, begin + share);
    if (begin < end) kernel(call, begin, end);
  }
}

}  // namespace actk::detail
