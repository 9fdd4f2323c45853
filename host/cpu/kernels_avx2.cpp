// The avx2 kernels: the vector code of kernels_simd.hpp over 8 lanes. This file alone is compiled
// with -mavx2 -mfma -mf16c; cpu_backend.cpp calls into it only after checking the CPU.
#include "host/cpu/lanes_avx2.hpp"
// (the primitives first: the shared vector code is written against them)
#include "host/cpu/kernels_simd.hpp"
