// The avx512 kernels: the vector code of kernels_simd.hpp over 16 lanes. This file alone is
// compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c; cpu_backend.cpp calls
// into it only after checking the CPU and the OS.
#include "host/cpu/lanes_avx512.hpp"
// (the primitives first: the shared vector code is written against them)
#include "host/cpu/kernels_simd.hpp"
