// Coefficients of the normal tail function Q(x) = Phi(-x) e^(x^2/2) that gelu uses (see
// normal_tail in vector_math.hpp): [0, kTop] cut into one interval per vector lane, and on each a
// polynomial in x - kMidpoint[i]. Printed by fit_coefficients.py, which also states their error.
#pragma once

namespace actk::cpu {

template <int kIntervals>
struct NormalTailTable;

/// The largest |x| the tables take: below 13.55 by one ulp, so that the interval index
/// trunc(|x| * (kIntervals / 13.55)) stays below kIntervals for 8 and 16 intervals.
inline constexpr float kNormalTailLast = 0x1.b19998p+3f;
static_assert(int(kNormalTailLast * (8 / 13.55f)) == 7 && int(kNormalTailLast * (16 / 13.55f)) == 15);

/// 8 intervals (AVX2: vpermps picks among 8), degree 9: relative error below 1.6 x 2^-24 as
/// evaluated in f32 (Horner's scheme).
template <>
struct NormalTailTable<8> {
  static constexpr float kTop = 13.55f;
  static constexpr float kLast = kNormalTailLast;
  static constexpr int kDegree = 9;
  static constexpr float kMidpoint[8] = {0x1.b1999ap-1f, 0x1.453334p+1f, 0x1.0f0000p+2f, 0x1.7b6666p+2f,
                                         0x1.e7ccccp+2f, 0x1.2a199ap+3f, 0x1.604cccp+3f, 0x1.968000p+3f};
  /// kCoefficient[j][i]: the coefficient of u^j on interval i.
  static constexpr float kCoefficient[kDegree + 1][8] = {
      {0x1.22fbd8p-2f, 0x1.1db274p-3f, 0x1.6f3f0ep-4f, 0x1.0c647cp-4f, 0x1.a5c122p-5f, 0x1.5ae9a2p-5f, 0x1.267596p-5f,
       0x1.ff68c6p-6f},
      {-0x1.442e16p-3f, -0x1.6cbd08p-5f, -0x1.3c0938p-6f, -0x1.580676p-7f, -0x1.ac9aeep-8f, -0x1.236b06p-8f,
       -0x1.a5273ap-9f, -0x1.3e31e8p-9f},
      {0x1.336d2ap-4f, 0x1.b03fe0p-7f, 0x1.058a5ep-8f, 0x1.aedccap-10f, 0x1.ad0aa6p-11f, 0x1.e47a10p-12f,
       0x1.2adce4p-12f, 0x1.89a186p-13f},
      {-0x1.02ac1ap-5f, -0x1.e10694p-9f, -0x1.a1d292p-11f, -0x1.07fe74p-12f, -0x1.a74e92p-14f, -0x1.8e9ffap-15f,
       -0x1.a4f92cp-16f, -0x1.e4238cp-17f},
      {0x1.8be4f2p-7f, 0x1.faea1cp-11f, 0x1.431c0cp-13f, 0x1.3cec04p-15f, 0x1.9be1b0p-17f, 0x1.44bfa0p-18f,
       0x1.264e36p-19f, 0x1.2809b2p-20f},
      {-0x1.17ccf6p-8f, -0x1.fd08fcp-13f, -0x1.e5052ep-16f, -0x1.75204ap-18f, -0x1.8b6fbcp-20f, -0x1.0605f4p-21f,
       -0x1.988968p-23f, -0x1.6803eep-24f},
      {0x1.6e9374p-10f, 0x1.e83166p-15f, 0x1.61b6aap-18f, 0x1.af109ep-21f, 0x1.76b4b0p-23f, 0x1.a2d4c0p-25f,
       0x1.1988c6p-26f, 0x1.b365f6p-28f},
      {-0x1.cadfa4p-12f, -0x1.c3d190p-17f, -0x1.f74ba6p-21f, -0x1.e984eap-24f, -0x1.5ebbc4p-26f, -0x1.4bb8eap-28f,
       -0x1.813144p-30f, -0x1.05f846p-31f},
      {0x1.381a42p-13f, 0x1.b63f66p-19f, 0x1.6ff68cp-23f, 0x1.1ab8bep-26f, 0x1.4c0de4p-29f, 0x1.08dc6cp-31f,
       0x1.093b9ep-33f, 0x1.3c775ap-35f},
      {-0x1.5479d0p-15f, -0x1.76d7e4p-21f, -0x1.f2248ep-26f, -0x1.368290p-29f, -0x1.2fa86cp-32f, -0x1.9c94b6p-35f,
       -0x1.730fcep-37f, -0x1.697092p-39f},
  };
};

/// 16 intervals (AVX-512: vpermps picks among 16), degree 7: relative error below 1.6 x 2^-24 as
/// evaluated in f32 (Horner's scheme); the narrower intervals need two terms fewer.
template <>
struct NormalTailTable<16> {
  static constexpr float kTop = 13.55f;
  static constexpr float kLast = kNormalTailLast;
  static constexpr int kDegree = 7;
  static constexpr float kMidpoint[16] = {
      0x1.b1999ap-2f, 0x1.453334p+0f, 0x1.0f0000p+1f, 0x1.7b6666p+1f, 0x1.e7ccccp+1f, 0x1.2a199ap+2f,
      0x1.604cccp+2f, 0x1.968000p+2f, 0x1.ccb334p+2f, 0x1.017334p+3f, 0x1.1c8cccp+3f, 0x1.37a666p+3f,
      0x1.52c000p+3f, 0x1.6dd99ap+3f, 0x1.88f334p+3f, 0x1.a40cccp+3f};
  /// kCoefficient[j][i]: the coefficient of u^j on interval i.
  static constexpr float kCoefficient[kDegree + 1][16] = {
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
  };
};

}  // namespace actk::cpu
