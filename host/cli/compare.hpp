// `actk compare`: the CPU-vs-GPU comparison (see compare.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actk/types.hpp"

namespace actk::cli {

/// Times forward and backward of the named activations (all when empty) at each size on `cpu`
/// and `cuda`, and prints a table. Returns the exit status.
int compare(const std::vector<std::string>& names, const std::vector<std::int64_t>& sizes, DType dtype);

}  // namespace actk::cli
