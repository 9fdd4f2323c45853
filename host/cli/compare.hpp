// `actk compare`: the CPU-vs-GPU comparison (see compare.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actk/types.hpp"

namespace actk::cli {

/// The x that compare times: the realistic inputs (validation::kRealisticX) or the validation
/// battery repeated to the size (its special values, huge and subnormal inputs).
enum class CompareInputs { realistic, battery };

/// Times forward and backward of the named activations (all when empty) at each size on `cpu`
/// and `cuda`, and prints a table. Returns the exit status.
int compare(const std::vector<std::string>& names, const std::vector<std::int64_t>& sizes, DType dtype,
            CompareInputs inputs);

}  // namespace actk::cli
