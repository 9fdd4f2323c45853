// ACTK_HOST_DEVICE: code that nvcc compiles for the host and the device, and the host compiler for
// the host.
#pragma once

#if defined(__CUDACC__)
#define ACTK_HOST_DEVICE __host__ __device__
#else
#define ACTK_HOST_DEVICE
#endif
