// The validation suite behind `actk validate`: every catalogue entry x pass x dtype x available
// backend over the battery, each result compared with the reference backend, and the reference
// itself compared with the golden values of the mpmath oracle.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "actk/ops.hpp"
#include "host/validation/battery.hpp"
#include "host/validation/compare.hpp"

namespace actk::validation {

struct SuiteOptions {
  std::vector<Backend> backends = {Backend::reference, Backend::cpu, Backend::cuda};
  /// Comma-separated terms; a row is run when every '/'-separated part of some term names one of
  /// its activation, dtype, pass or backend ("gelu", "gelu/bf16", "cpu/backward,silu"). Empty: all.
  std::string filter;
  std::int64_t f32_random = std::int64_t{1} << 20;  ///< seeded random f32 inputs per activation
  std::int64_t f64_random = std::int64_t{1} << 17;
};

/// One line of the report.
struct Row {
  Activation activation;
  DType dtype;
  std::string pass;     ///< a Pass's name, or forward_bias / backward_bias
  Backend backend;
  std::string against;  ///< "golden" (the reference vs the oracle) or "reference"
  Comparison result;
  Tolerance tolerance;
  std::string worst;    ///< the worst element, described, when there is one
  bool passed() const { return result.passed(); }
};

struct BackendStatus {
  Backend backend;
  bool available;
  std::string reason;  ///< why not, when unavailable
};

struct Report {
  std::vector<BackendStatus> backends;
  std::vector<Row> rows;
  double seconds = 0;
  bool passed() const;
};

/// The outputs of one pass; the one a pass does not write stays zero.
struct Outputs {
  HostBuffer y;
  HostBuffer dx;
};

/// Runs one pass on `backend` over elements [offset, count) of host inputs (offset 1 makes every
/// pointer misaligned and the length odd), staging them in device memory for `cuda`, and
/// returns full-length host outputs (zero before `offset`). `input` is y for backward_from_output.
Outputs run_on(Backend backend, Activation activation, Pass pass, const HostBuffer& input, const HostBuffer& dy,
               const ActivationParams& params, std::int64_t offset = 0);

/// Whether a row name matches the filter (see SuiteOptions::filter).
bool filter_matches(const std::string& filter, Activation activation, DType dtype, const std::string& pass,
                    Backend backend);

/// Runs the suite; `progress(done, total, current)` is called before each group of rows.
Report run_suite(const SuiteOptions& options,
                 const std::function<void(int done, int total, const std::string& current)>& progress = {});

/// Appends the structured activations' rows (PReLU, Maxout, gated, bias fusion) for every
/// backend of `backends` but the reference, against the reference.
void append_structured_rows(Report& report, const std::vector<Backend>& backends, const SuiteOptions& options);

/// The report as an aligned text table, then the backends that did not run and why.
void print_report(const Report& report, std::ostream& out);

/// The report as JSON: {"results": [{activation, dtype, pass, backend, against, checked, max_ulp,
/// max_abs, nonfinite_mismatches, failures, tolerance_ulp, status}...], "backends": {...}, ...}.
void write_json(const Report& report, std::ostream& out);

}  // namespace actk::validation
