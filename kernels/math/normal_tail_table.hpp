// Coefficients of the normal tail function Q(x) = Phi(-x) e^(x^2/2) that gelu uses (see
// normal_tail in vector_math.hpp): [0, 13.55] cut into 16 intervals, and on each a polynomial of
// degree 7 in x - midpoint[i] (relative error below 1.6 x 2^-24 as evaluated in f32 by Horner's
// scheme). Printed by host/cpu/fit_coefficients.py, which also states their error. Every lane
// type reads the same 16 entries: AVX-512 with one vpermps, AVX2 with two and a blend, the scalar
// lane (the portable path, the CUDA kernels) by indexing.
#pragma once

#include "kernels/math/host_device.hpp"

namespace actk::lanes {

struct NormalTailTable {
  static constexpr int kIntervals = 16;
  static constexpr int kDegree = 7;
  static constexpr float kTop = 13.55f;
  /// The largest |x| the table takes: below 13.55 by one ulp, so that the interval index
  /// trunc(|x| * (16 / 13.55)) stays below 16.
  static constexpr float kLast = 0x1.b19998p+3f;
  float midpoint[kIntervals];
  /// coefficient[j][i]: the coefficient of u^j on interval i.
  float coefficient[kDegree + 1][kIntervals];
};
static_assert(int(NormalTailTable::kLast * (16 / 13.55f)) == 15);

inline constexpr NormalTailTable kNormalTail = {
    {
      0x1.b1999ap-2f, 0x1.453334p+0f, 0x1.0f0000p+1f, 0x1.7b6666p+1f, 0x1.e7ccccp+1f, 0x1.2a199ap+2f,
      0x1.604cccp+2f, 0x1.968000p+2f, 0x1.ccb334p+2f, 0x1.017334p+3f, 0x1.1c8cccp+3f, 0x1.37a666p+3f,
      0x1.52c000p+3f, 0x1.6dd99ap+3f, 0x1.88f334p+3f, 0x1.a40cccp+3f},
    {
      {0x1.78521ap-2f, 0x1.d40a1ep-3f, 0x1.49cb34p-3f, 0x1.f6d572p-4f, 0x1.93e706p-4f, 0x1.507e26p-4f,
       0x1.1fe472p-4f, 0x1.f6a23ap-5f, 0x1.bdb560p-5f, 0x1.9035f4p-5f, 0x1.6b0bfep-5f, 0x1.4c2366p-5f,
       0x1.320a38p-5f, 0x1.1bb798p-5f, 0x1.08691cp-5f, 0x1.ef19f2p-6f},
      {-0x1.f25652p-3f, -0x1.bcf464p-4f, -0x1.db31b2p-5f, -0x1.1f4618p-5f, -0x1.7b4868p-6f, -0x1.0afd46p-6f,
       -0x1.8a7b30p-7f, -0x1.2e80d6p-7f, -0x1.ddd77ep-8f, -0x1.8283e0p-8f, -0x1.3ed692p-8f, -0x1.0b5bcep-8f,
       -0x1.c6a6b2p-9f, -0x1.87338ep-9f, -0x1.5417bap-9f, -0x1.2a55d4p-9f},
      {0x1.0ed088p-3f, 0x1.72d91cp-5f, 0x1.3919a6p-6f, 0x1.345712p-7f, 0x1.545f8cp-8f, 0x1.998a06p-9f,
       0x1.07495ap-9f, 0x1.64aa4cp-10f, 0x1.f7d0b4p-11f, 0x1.70340ep-11f, 0x1.14d2e8p-11f, 0x1.aa45ecp-12f,
       0x1.4eeb66p-12f, 0x1.0bc512p-12f, 0x1.b2b27ap-13f, 0x1.658dc4p-13f},
      {-0x1.ff8d4ep-5f, -0x1.17361ep-6f, -0x1.7f5444p-8f, -0x1.398a9cp-9f, -0x1.255208p-10f, -0x1.307a40p-11f,
       -0x1.56f90ep-12f, -0x1.9c62cep-13f, -0x1.0566eep-13f, -0x1.5a28f6p-14f, -0x1.db641ap-15f, -0x1.50a1c6p-15f,
       -0x1.e97396p-16f, -0x1.6bfe54p-16f, -0x1.1419a4p-16f, -0x1.aa330ep-17f},
      {0x1.b10e42p-6f, 0x1.82e2cep-8f, 0x1.b8bec6p-10f, 0x1.2ff99ap-11f, 0x1.e74eaep-13f, 0x1.b7e656p-14f,
       0x1.b4a888p-15f, 0x1.d40c08p-16f, 0x1.0b2582p-16f, 0x1.4151fcp-17f, 0x1.93d482p-18f, 0x1.076916p-18f,
       0x1.62d16ap-19f, 0x1.eb6400p-20f, 0x1.5c9cf2p-20f, 0x1.f94eb6p-21f},
      {-0x1.4fca90p-7f, -0x1.f418a8p-10f, -0x1.dff52ep-12f, -0x1.1a7114p-13f, -0x1.877892p-15f, -0x1.356a34p-16f,
       -0x1.100bbep-17f, -0x1.04f83ep-18f, -0x1.0d0e10p-19f, -0x1.269fbep-20f, -0x1.537becp-21f, -0x1.988f6cp-22f,
       -0x1.fe776cp-23f, -0x1.4973a6p-23f, -0x1.b58eb8p-24f, -0x1.29f93cp-24f},
      {0x1.f5dec8p-9f, 0x1.38fef2p-11f, 0x1.fcb858p-14f, 0x1.00a38ap-15f, 0x1.34c540p-17f, 0x1.acc2cap-19f,
       0x1.4ec83ep-20f, 0x1.20032cp-21f, 0x1.0c9edcp-22f, 0x1.0c2648p-23f, 0x1.1b95b0p-24f, 0x1.3b1c86p-25f,
       0x1.6d71c4p-26f, 0x1.b7e938p-27f, 0x1.119636p-27f, 0x1.5e475cp-28f},
      {-0x1.4e2ddcp-10f, -0x1.66cec6p-13f, -0x1.f7d776p-16f, -0x1.ba524cp-18f, -0x1.d31604p-20f, -0x1.1f3fbcp-21f,
       -0x1.90e13ep-23f, -0x1.36c8a8p-24f, -0x1.0732d6p-25f, -0x1.e07494p-27f, -0x1.d34f76p-28f, -0x1.e087eep-29f,
       -0x1.03084ep-29f, -0x1.231b2ep-30f, -0x1.533210p-31f, -0x1.986092p-32f},
  }
};

#if defined(__CUDACC__)
// The device's copy (a host constexpr object is not addressable from device code); internal
// linkage: every kernel translation unit has its own.
static __device__ const NormalTailTable kNormalTailOnDevice = kNormalTail;
#endif

/// The table, on the host or on the device.
ACTK_HOST_DEVICE inline const NormalTailTable& normal_tail_table() {
#if defined(__CUDA_ARCH__)
  return kNormalTailOnDevice;
#else
  return kNormalTail;
#endif
}

}  // namespace actk::lanes
