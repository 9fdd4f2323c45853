// The avx2 kernels: the vector code of kernels_simd.hpp over 8 lanes. This file alone is compiled
// with -mavx2 -mfma -mf16c; cpu_backend.cpp calls into it only after checking the CPU.
#include "host/cpu/lanes_avx2.hpp"
// (the primitives first: the shared vector code is written against them)
#include "host/cpu/kernels_simd.hpp"

namespace actk::cpu {

RangeKernel avx2_kernel(const detail::ElementwiseCall& call) noexcept { return avx2::kernel(call); }

Conversion avx2_conversion(DType dtype) noexcept { return avx2::conversion(dtype); }

ChunkSteps avx2_chunk_steps() noexcept { return avx2::chunk_steps(); }

}  // namespace actk::cpu
