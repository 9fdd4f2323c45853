// The validation engine's measuring stick: ulp distances, tolerances and result comparison.
// Shared by the test suites and `actk validate`, so both judge by the same rules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actk/ops.hpp"

namespace actk::validation {

/// Distance between two values of storage type `dtype` (given as raw bytes) in units in the last
/// place of that type: the number of representable values between them. +0 and -0 are equal; two
/// NaNs are equal (distance 0); a NaN against a non-NaN is infinitely far.
double ulp_distance(DType dtype, const void* a, const void* b);

/// The spacing of `dtype`'s representable values at magnitude |value| (one ulp there).
double ulp_size(DType dtype, double value);

/// The value of one element as a double (exact for every storage type).
double element_as_double(DType dtype, const void* data, std::int64_t index);

/// The accuracy contract for one (activation, dtype, pass, backend): a result passes when it is
/// within `max_ulp` of the reference, or within `abs_floor` of it in absolute value (the floor
/// covers results near zero and, for backward passes, roots of f' where the relative error of any
/// float evaluation is unbounded; it is scaled by max(1, |dy|)). NaN and infinity must match.
struct Tolerance {
  double max_ulp;
  double abs_floor;
};

/// The contract's tolerance (see the table in README.md). The reference backend against the
/// golden values is judged separately (1 ulp). For a gated entry (glu, swiglu, ...) the bounds
/// grow by the extra products: 1 ulp forward, 2 backward (f32 and f64).
Tolerance tolerance(Activation activation, DType dtype, Pass pass, Backend backend);

/// What a comparison of one output against the reference found.
struct Comparison {
  std::int64_t checked = 0;
  std::int64_t failures = 0;          ///< elements outside the tolerance
  std::int64_t nonfinite_mismatches = 0;  ///< NaN or infinity where the reference has none, or vice versa
  double max_ulp = 0;                  ///< largest ulp distance among finite, matching elements
  double max_abs = 0;                  ///< largest absolute difference among them
  std::int64_t worst_index = -1;       ///< element of the first failure, else of the largest ulp distance
  bool passed() const { return failures == 0; }
};

/// Compares `got` against `want` element by element under `tol`. `dy` (may be null) scales the
/// absolute floor of backward passes.
Comparison compare(DType dtype, const void* got, const void* want, const void* dy, std::int64_t count,
                   Tolerance tol);

/// Bit for bit: every element of `got` whose bytes differ from `want`'s fails, except where both
/// are NaN (payload and sign aside); +0 and -0 differ. max_ulp and max_abs describe the
/// differing elements. The cross-backend check of the types every backend computes alike.
Comparison compare_bits(DType dtype, const void* got, const void* want, std::int64_t count);

/// Compares sums (dweight, dbias) against the reference's: within 4 ulp, plus 8 eps * sum_abs[i]
/// (eps of the compute type, sum_abs the sum of the terms' magnitudes), plus the backward passes'
/// absolute floor once per term (`terms` per sum): each term carries its own error, whatever the
/// summation order, and near f's roots that error is absolute, not relative. NaN and infinity must
/// match, except that infinity is one ulp past the largest finite value (as in compare()).
Comparison compare_sums(DType dtype, const void* got, const void* want, const std::vector<double>& sum_abs,
                        std::int64_t count, std::int64_t terms);

/// As above, with each term's absolute floor scaled as compare() scales a backward pass's, by
/// max(1, |dy|) of the term's upstream gradient: `floor_terms[i]` is the sum over sum i's terms of
/// max(1, |dy|) (the count of its terms when every |dy| <= 1). For sums of backward-pass outputs
/// whose upstream gradients may be large (dbias = the column sums of dx = dy * f'(x + b)).
Comparison compare_sums(DType dtype, const void* got, const void* want, const std::vector<double>& sum_abs,
                        std::int64_t count, const std::vector<double>& floor_terms);

/// Merges two comparisons of the same output (counts add, maxima combine).
void merge(Comparison& into, const Comparison& part);

/// "x=<value> got=<value> want=<value> (<ulp> ulp)" for element `index`, for failure messages.
std::string describe_element(DType dtype, const void* x, const void* got, const void* want, std::int64_t index);

}  // namespace actk::validation
