// The avx512_bf16 kernels: the avx512 ones, compiled with -mavx512bf16 besides, so that bf16
// results are narrowed by vcvtneps2bf16 (lanes_avx512.hpp). cpu_backend.cpp calls into it only
// after checking the CPU for AVX512_BF16 too.
#include "host/cpu/lanes_avx512.hpp"
// (the primitives first: the shared vector code is written against them)
#include "host/cpu/kernels_simd.hpp"
