// How the elementwise launcher divides a call between 16-byte vectors and scalars (internal).
// Plain C++, computed on the host before each launch, so the host tests check it for every
// misalignment.
#pragma once

#include <cstddef>
#include <cstdint>

namespace actk::cuda::detail {

/// Bytes of one vector load or store (ld.global.v4.f32, .v2.f64, ...).
inline constexpr std::size_t kVectorBytes = 16;

/// Elements [0, head) are scalar, then `vectors` whole vectors, then a scalar tail.
struct VectorSplit {
  std::int64_t head;
  std::int64_t vectors;
};

/// The split of `count` elements of `element_size` bytes at `addresses` (0 for a buffer the pass
/// does not use). A vector needs every buffer 16-byte aligned at the same element, so the buffers
/// must share their misalignment: then a scalar head of fewer than one vector's elements reaches
/// alignment. When they do not, nothing is vectorized (head = count).
inline VectorSplit split_for_vectors(const std::uintptr_t* addresses, int buffers, std::int64_t count,
                                     std::size_t element_size) {
  bool first = true;
  std::uintptr_t misalignment = 0;
  for (int i = 0; i < buffers; ++i) {
    if (addresses[i] == 0) continue;
    const std::uintptr_t m = addresses[i] % kVectorBytes;
    if (!first && m != misalignment) return {count, 0};
    misalignment = m;
    first = false;
  }
  if (misalignment % element_size != 0) return {count, 0};
  const auto width = static_cast<std::int64_t>(kVectorBytes / element_size);
  std::int64_t head = misalignment == 0 ? 0 : static_cast<std::int64_t>((kVectorBytes - misalignment) / element_size);
  if (head > count) head = count;
  return {head, (count - head) / width};
}

}  // namespace actk::cuda::detail
