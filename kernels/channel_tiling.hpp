// How the per-channel kernels (PReLU and bias fusion) divide their data into tiles (internal).
// Plain C++, host and device: the launcher computes the tiling on the host, the kernels walk it,
// and the host tests check that the walk covers every element exactly once.
//
// The data is a row-major rows x width matrix whose column j belongs to channel j / inner: bias
// fusion is {rows, channels, 1}, PReLU {rows, channels * inner, inner}, PReLU with one weight
// {rows, width, width} (a single channel). The backward passes reduce over rows: each tile sums
// its column parts into a partial (stage 1), then a second kernel adds a channel's partials in a
// fixed order (stage 2). Every number below depends on the shape and the element size alone,
// never on the device, the grid or the pointers' alignment, so neither does the order in which a
// sum adds its terms: the sums are bit-identical for any launch configuration.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define ACTK_TILING_HOST_DEVICE __host__ __device__
#else
#define ACTK_TILING_HOST_DEVICE
#endif

namespace actk::cuda::detail {

struct ChannelShape {
  std::int64_t rows;
  std::int64_t width;
  std::int64_t inner;     ///< columns per channel (0 only when width is 0)
  std::int64_t channels;  ///< width / inner, or the channel count when width is 0
};

/// Where a thread of a tile's block works: `lanes` consecutive columns of column group `group`,
/// in rows slot, slot + row_slots, ... of the tile (threads with slot >= row_slots idle).
struct ChannelThread {
  int group;
  int slot;
};

/// The tiles: row_tiles x column_tiles, each tile_rows rows by column_threads * lanes columns,
/// one block per tile. A thread holds `lanes` columns (16 bytes of them), so that a warp reads
/// whole rows' contiguous bytes; narrow matrices put several rows side by side in a block
/// (row_slots) instead of leaving threads without columns.
struct ChannelTiling {
  ChannelShape shape;
  int lanes;
  int column_threads;
  int row_slots;
  int slot_fold;  ///< the largest power of two below row_slots (0 for one slot): the slot tree's first step
  std::int64_t tile_rows;
  std::int64_t row_tiles;
  std::int64_t column_tiles;

  ACTK_TILING_HOST_DEVICE std::int64_t tiles() const { return row_tiles * column_tiles; }
  ACTK_TILING_HOST_DEVICE ChannelThread thread(int index) const { return {index % column_threads, index / column_threads}; }
  ACTK_TILING_HOST_DEVICE std::int64_t row_tile(std::int64_t tile) const { return tile / column_tiles; }
  /// The first of the thread's `lanes` columns in `tile` (possibly past the width).
  ACTK_TILING_HOST_DEVICE std::int64_t first_column(std::int64_t tile, ChannelThread t) const {
    return ((tile % column_tiles) * column_threads + t.group) * lanes;
  }
  /// How many of the thread's lanes are columns of the matrix: 0 to lanes.
  ACTK_TILING_HOST_DEVICE int valid_lanes(std::int64_t first) const {
    const std::int64_t left = shape.width - first;
    return left <= 0 ? 0 : left >= lanes ? lanes : static_cast<int>(left);
  }
  ACTK_TILING_HOST_DEVICE std::int64_t first_row(std::int64_t tile, ChannelThread t) const {
    return row_tile(tile) * tile_rows + t.slot;
  }
  ACTK_TILING_HOST_DEVICE std::int64_t row_end(std::int64_t tile) const {
    const std::int64_t end = (row_tile(tile) + 1) * tile_rows;
    return end < shape.rows ? end : shape.rows;
  }
};

/// Rows a thread covers in a tile, at least, in a backward pass: enough loads in flight per thread
/// to hide latency, and each tile's partials shared by as many rows. A forward pass sums nothing
/// and takes short tiles (kMinRowsPerThreadForward) for more blocks on short matrices.
inline constexpr std::int64_t kMinRowsPerThread = 16;
inline constexpr std::int64_t kMinRowsPerThreadForward = 2;
/// Tiles aimed at when rows are many: several blocks per multiprocessor of the largest GPUs, and a
/// bound on stage 1's partials (row_tiles x width doubles): past this, tiles grow taller.
inline constexpr std::int64_t kTargetTiles = 4096;

inline ChannelTiling channel_tiling(const ChannelShape& shape, std::size_t element_size, int threads_per_block,
                                    std::int64_t min_rows_per_thread = kMinRowsPerThread) {
  ChannelTiling t{};
  t.shape = shape;
  t.lanes = static_cast<int>(16 / element_size);
  const std::int64_t groups = (shape.width + t.lanes - 1) / t.lanes;
  t.column_threads = static_cast<int>(std::clamp<std::int64_t>(groups, 1, threads_per_block));
  t.row_slots = threads_per_block / t.column_threads;
  t.slot_fold = 0;
  for (int fold = 1; fold < t.row_slots; fold *= 2) t.slot_fold = fold;
  t.column_tiles = (groups + t.column_threads - 1) / t.column_threads;
  const std::int64_t max_row_tiles = std::max<std::int64_t>(1, kTargetTiles / std::max<std::int64_t>(1, t.column_tiles));
  const std::int64_t slot_rows = (shape.rows + t.row_slots * max_row_tiles - 1) / (t.row_slots * max_row_tiles);
  t.tile_rows = t.row_slots * std::max(min_rows_per_thread, slot_rows);
  t.row_tiles = groups == 0 ? 0 : (shape.rows + t.tile_rows - 1) / t.tile_rows;
  return t;
}

// ---- stage 2 -----------------------------------------------------------------------------------

/// The terms stage 2 adds for each channel: a row_tiles x width matrix of doubles in which channel
/// c owns the columns [c inner, (c + 1) inner). Term k of channel c (k < terms()) is at
/// (k / inner) width + c inner + k % inner: its row tiles in order, each its columns in order.
struct ChannelTerms {
  std::int64_t row_tiles;
  std::int64_t width;
  std::int64_t inner;
  std::int64_t channels;

  ACTK_TILING_HOST_DEVICE std::int64_t terms() const { return row_tiles * inner; }
};

/// A walk over one channel's terms k, k + step, k + 2 step, ... without a division per term.
class TermCursor {
 public:
  ACTK_TILING_HOST_DEVICE TermCursor(const ChannelTerms& terms, std::int64_t channel, std::int64_t k, std::int64_t step)
      : width_(terms.width),
        inner_(terms.inner),
        base_(channel * terms.inner),
        row_(k / terms.inner),
        column_(k % terms.inner),
        row_step_(step / terms.inner),
        column_step_(step % terms.inner) {}
  ACTK_TILING_HOST_DEVICE std::int64_t offset() const { return row_ * width_ + base_ + column_; }
  ACTK_TILING_HOST_DEVICE void advance() {
    row_ += row_step_;
    column_ += column_step_;
    if (column_ >= inner_) column_ -= inner_, ++row_;
  }

 private:
  std::int64_t width_, inner_, base_, row_, column_, row_step_, column_step_;
};

/// Terms per block of stage 2: a channel with more terms is summed by several blocks, each over
/// this many consecutive terms, and their sums then added in order by one more block; fixed, so
/// the order of addition depends on the shape alone.
inline constexpr std::int64_t kSegmentTerms = std::int64_t{1} << 14;

/// Blocks per channel of stage 2's first pass: 1 when one block sums the channel whole.
inline std::int64_t segments_per_channel(const ChannelTerms& terms) {
  return std::max<std::int64_t>(1, (terms.terms() + kSegmentTerms - 1) / kSegmentTerms);
}

}  // namespace actk::cuda::detail
