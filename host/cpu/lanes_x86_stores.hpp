// The 16-, 32- and 64-byte stores of the x86 lane sets, normal or non-temporal (kStream: written
// around the caches, the address aligned to the stored size). Included by lanes_avx2.hpp and
// lanes_avx512.hpp once they have named their namespace (ACTK_LANES) and ACTK_LANE_INLINE, so each
// instruction set compiles its own copy.
#pragma once

#include <immintrin.h>

namespace actk::lanes::ACTK_LANES {

template <bool kStream, class Bytes>
ACTK_LANE_INLINE void store_bytes(void* p, Bytes v) {
  static_assert(sizeof(Bytes) == 16 || sizeof(Bytes) == 32 || sizeof(Bytes) == 64, "an integer vector");
  auto* to = static_cast<Bytes*>(p);
  if constexpr (sizeof(Bytes) == 16) {
    kStream ? _mm_stream_si128(to, v) : _mm_storeu_si128(to, v);
  } else if constexpr (sizeof(Bytes) == 32) {
    kStream ? _mm256_stream_si256(to, v) : _mm256_storeu_si256(to, v);
  } else {
    kStream ? _mm512_stream_si512(to, v) : _mm512_storeu_si512(to, v);
  }
}

}  // namespace actk::lanes::ACTK_LANES
