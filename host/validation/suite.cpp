#include "host/validation/suite.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ostream>
#include <sstream>
#include <utility>
#include <vector>

#include "host/validation/battery.hpp"
#include "host/validation/golden.hpp"
#include "host/validation/staging.hpp"

namespace actk::validation {
namespace {

const Pass kPasses[] = {Pass::forward, Pass::backward, Pass::backward_from_output, Pass::forward_backward};
const DType kDtypes[] = {DType::f32, DType::f64, DType::f16, DType::bf16};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace

Outputs run_on(Backend backend, Activation activation, Pass pass, const HostBuffer& input, const HostBuffer& dy,
               const ActivationParams& params, std::int64_t offset) {
  HostBuffer x_copy = input, dy_copy = dy;
  Outputs out{HostBuffer(input.dtype(), input.count()), HostBuffer(input.dtype(), input.count())};
  Staging staging(backend);
  const std::size_t size = dtype_size(input.dtype());
  auto shifted = [&](void* base) { return static_cast<unsigned char*>(base) + offset * static_cast<std::int64_t>(size); };
  void* x = shifted(staging.place(x_copy));
  void* g = shifted(staging.place(dy_copy));
  void* y = shifted(staging.place(out.y));
  void* dx = shifted(staging.place(out.dx));
  const std::int64_t n = input.count() - offset;
  const DType t = input.dtype();
  Options options;
  options.backend = backend;
  options.params = params;
  switch (pass) {
    case Pass::forward: forward(activation, {x, t, n}, {y, t, n}, options); break;
    case Pass::backward: backward(activation, {x, t, n}, {g, t, n}, {dx, t, n}, options); break;
    case Pass::backward_from_output: backward_from_output(activation, {x, t, n}, {g, t, n}, {dx, t, n}, options); break;
    case Pass::forward_backward: forward_backward(activation, {x, t, n}, {g, t, n}, {y, t, n}, {dx, t, n}, options); break;
  }
  staging.fetch();
  return out;
}

namespace {

// y and dx are judged separately over elements [offset, count); an element counts once.
Comparison compare_outputs(const Outputs& got, const Outputs& want, const HostBuffer& dy, std::int64_t offset,
                           Activation activation, DType dtype, Pass pass, Backend backend, Tolerance* judged_by) {
  const std::size_t size = dtype_size(dtype);
  auto at = [&](const HostBuffer& b) { return static_cast<const unsigned char*>(b.data()) + offset * static_cast<std::int64_t>(size); };
  const std::int64_t n = dy.count() - offset;
  Comparison total;
  if (pass == Pass::forward || pass == Pass::forward_backward) {
    *judged_by = tolerance(activation, dtype, Pass::forward, backend);
    merge(total, compare(dtype, at(got.y), at(want.y), nullptr, n, *judged_by));
  }
  if (pass != Pass::forward) {
    *judged_by = tolerance(activation, dtype, pass, backend);
    merge(total, compare(dtype, at(got.dx), at(want.dx), at(dy), n, *judged_by));
  }
  total.checked = n;
  if (total.worst_index >= 0) total.worst_index += offset;
  return total;
}

// The reference backend against the oracle's golden values, within 1 ulp (f32, f64) or exactly
// after one rounding of the golden value (f16, bf16: ties aside, which the golden points avoid).
Row golden_row(Activation activation, DType dtype, Pass pass) {
  Row row{activation, dtype, pass_name(pass), Backend::reference, "golden", {}, {dtype == DType::f32 || dtype == DType::f64 ? 1.0 : 0.0, 0.0}, {}};
  std::vector<double> xs, forward_values, derivative_values;
  std::vector<ActivationParams> params;
  for (const GoldenPoint& point : golden_points()) {
    if (point.activation != activation || !serves(point, dtype)) continue;
    // The golden inputs are f32 values; 16-bit types take the ones they represent exactly.
    if (HostBuffer(dtype, std::vector<double>{point.x}).at(0) != point.x) continue;
    xs.push_back(point.x);
    forward_values.push_back(dtype == DType::f32 ? golden_as_float(point.forward) : golden_as_double(point.forward));
    derivative_values.push_back(dtype == DType::f32 ? golden_as_float(point.derivative)
                                                    : golden_as_double(point.derivative));
    params.push_back(point.params);
  }
  // Golden values as the storage type: one rounding from the decimal for f32 and f64; 16-bit
  // types round the double, which is exact except within 2^-53 of a tie.
  const HostBuffer x(dtype, xs), want_y(dtype, forward_values), want_dx(dtype, derivative_values);
  HostBuffer got_y(dtype, x.count()), got_dx(dtype, x.count());
  const std::size_t size = dtype_size(dtype);
  const HostBuffer one(dtype, std::vector<double>{1.0});
  for (std::int64_t i = 0; i < x.count(); ++i) {
    Options options;
    options.backend = Backend::reference;
    options.params = params[i];
    const void* xi = static_cast<const unsigned char*>(x.data()) + i * size;
    void* yi = static_cast<unsigned char*>(got_y.data()) + i * size;
    void* dxi = static_cast<unsigned char*>(got_dx.data()) + i * size;
    if (pass == Pass::forward) forward(activation, {xi, dtype, 1}, {yi, dtype, 1}, options);
    if (pass == Pass::backward) backward(activation, {xi, dtype, 1}, one.view(), {dxi, dtype, 1}, options);
    if (pass == Pass::forward_backward) {
      forward_backward(activation, {xi, dtype, 1}, one.view(), {yi, dtype, 1}, {dxi, dtype, 1}, options);
    }
  }
  if (pass != Pass::backward) merge(row.result, compare(dtype, got_y.data(), want_y.data(), nullptr, x.count(), row.tolerance));
  if (pass != Pass::forward) merge(row.result, compare(dtype, got_dx.data(), want_dx.data(), nullptr, x.count(), row.tolerance));
  row.result.checked = x.count();
  if (row.result.worst_index >= 0) {
    const HostBuffer& got = pass == Pass::backward ? got_dx : got_y;
    const HostBuffer& want = pass == Pass::backward ? want_dx : want_y;
    row.worst = describe_element(dtype, x.data(), got.data(), want.data(), row.result.worst_index);
  }
  return row;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string json_number(double v) {
  if (std::isinf(v)) return "1e999";
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

}  // namespace

bool Report::passed() const {
  for (const Row& row : rows) {
    if (!row.passed()) return false;
  }
  return true;
}

bool filter_matches(const std::string& filter, Activation activation, DType dtype, const std::string& pass,
                    Backend backend) {
  if (filter.empty()) return true;
  const std::string fields[] = {activation_name(activation), dtype_name(dtype), pass, backend_name(backend)};
  for (const std::string& term : split(filter, ',')) {
    bool all = true;
    for (const std::string& part : split(term, '/')) {
      bool any = false;
      for (const std::string& field : fields) any |= part == field || part == "*";
      all &= any;
    }
    if (all) return true;
  }
  return false;
}

Report run_suite(const SuiteOptions& options,
                 const std::function<void(int, int, const std::string&)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  Report report;
  std::vector<Backend> backends;
  for (Backend b : options.backends) {
    std::string why;
    const bool available = backend_available(b, &why);
    report.backends.push_back({b, available, available ? "" : why});
    if (available) backends.push_back(b);
  }

  // One group per (activation, dtype): its battery, run through every pass and backend.
  struct Group {
    Activation activation;
    DType dtype;
  };
  std::vector<Group> groups;
  for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
    for (DType dtype : kDtypes) {
      bool wanted = false;
      for (Pass pass : kPasses) {
        for (Backend b : backends) wanted |= filter_matches(options.filter, entry.activation, dtype, pass_name(pass), b);
      }
      if (wanted) groups.push_back({entry.activation, dtype});
    }
  }

  int done = 0;
  for (const Group& g : groups) {
    const std::string label = std::string(activation_name(g.activation)) + "/" + dtype_name(g.dtype);
    if (progress) progress(done++, static_cast<int>(groups.size()), label);
    const ActivationParams params{};
    const bool sixteen_bit = g.dtype == DType::f16 || g.dtype == DType::bf16;
    const std::int64_t random = g.dtype == DType::f32 ? options.f32_random : options.f64_random;
    const HostBuffer x = battery(g.activation, params, g.dtype, sixteen_bit ? 0 : random, sixteen_bit);
    const HostBuffer dy = gradients(g.dtype, x.count());
    const Outputs forward_ref = run_on(Backend::reference, g.activation, Pass::forward, x, dy, params, 0);

    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !supports_backward_from_output(g.activation, params)) continue;
      const HostBuffer& input = pass == Pass::backward_from_output ? forward_ref.y : x;
      Outputs want{HostBuffer(g.dtype, 0), HostBuffer(g.dtype, 0)};
      bool have_want = false;
      // The cpu backend's outputs at each offset, for cuda's bit-for-bit row (every type but f64
      // computes the same math on both: README.md, "One math source").
      std::vector<Outputs> cpu_got;
      const bool same_bits = g.dtype != DType::f64;
      for (Backend backend : backends) {
        if (!filter_matches(options.filter, g.activation, g.dtype, pass_name(pass), backend)) continue;
        if (backend == Backend::reference) {
          if (pass != Pass::backward_from_output) report.rows.push_back(golden_row(g.activation, g.dtype, pass));
          continue;
        }
        if (!have_want) {
          want = run_on(Backend::reference, g.activation, pass, input, dy, params, 0);
          have_want = true;
        }
        Row row{g.activation, g.dtype, pass_name(pass), backend, "reference", {}, {}, {}};
        // Aligned, then shifted by one element: misaligned pointers and an odd length.
        Row bits{g.activation, g.dtype, pass_name(pass), backend, "cpu: bits", {}, {0, 0}, {}};
        const bool check_bits = same_bits && backend == Backend::cuda && !cpu_got.empty();
        for (std::int64_t offset : {std::int64_t{0}, std::int64_t{1}}) {
          const Outputs got = run_on(backend, g.activation, pass, input, dy, params, offset);
          if (same_bits && backend == Backend::cpu) cpu_got.push_back(got);
          if (check_bits) {
            const Outputs& cpu = cpu_got[static_cast<std::size_t>(offset)];
            for (const auto& [out, host] : {std::pair{&got.y, &cpu.y}, std::pair{&got.dx, &cpu.dx}}) {
              const Comparison c = compare_bits(g.dtype, out->data(), host->data(), out->count());
              if (c.failures > 0 && bits.worst.empty()) {
                bits.worst = describe_element(g.dtype, input.data(), out->data(), host->data(), c.worst_index);
              }
              merge(bits.result, c);
            }
          }
          Tolerance tol{};
          Comparison c = compare_outputs(got, want, dy, offset, g.activation, g.dtype, pass, backend, &tol);
          row.tolerance = tol;
          if (c.worst_index >= 0 && row.worst.empty() && (c.failures > 0 || offset == 0)) {
            const HostBuffer& out = pass == Pass::forward ? got.y : got.dx;
            const HostBuffer& ref = pass == Pass::forward ? want.y : want.dx;
            row.worst = describe_element(g.dtype, input.data(), out.data(), ref.data(), c.worst_index);
          }
          merge(row.result, c);
        }
        report.rows.push_back(row);
        if (check_bits) report.rows.push_back(bits);
      }
    }
  }
  if (progress) progress(done, static_cast<int>(groups.size()), "structured activations");
  append_structured_rows(report, backends, options);
  if (progress) progress(static_cast<int>(groups.size()), static_cast<int>(groups.size()), "done");
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

void print_report(const Report& report, std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %-5s %-21s %-10s %-10s %10s %9s %11s %8s  %s\n", "activation", "dtype", "pass",
                "backend", "against", "checked", "max_ulp", "max_abs", "nan/inf", "status");
  out << line;
  int failed = 0;
  for (const Row& row : report.rows) {
    std::snprintf(line, sizeof line, "%-12s %-5s %-21s %-10s %-10s %10lld %9.0f %11.3g %8lld  %s\n",
                  activation_name(row.activation), dtype_name(row.dtype), row.pass.c_str(),
                  backend_name(row.backend), row.against.c_str(), static_cast<long long>(row.result.checked),
                  row.result.max_ulp, row.result.max_abs, static_cast<long long>(row.result.nonfinite_mismatches),
                  row.passed() ? "PASS" : "FAIL");
    out << line;
    if (!row.passed()) {
      ++failed;
      out << "    " << row.result.failures << " elements outside " << row.tolerance.max_ulp << " ulp; first: " << row.worst
          << "\n";
    }
  }
  out << "\n";
  for (const BackendStatus& b : report.backends) {
    if (!b.available) out << "backend " << backend_name(b.backend) << " not run: " << b.reason << "\n";
  }
  std::snprintf(line, sizeof line, "%zu rows, %d failed, %.1f s: %s\n", report.rows.size(), failed, report.seconds,
                report.passed() ? "PASS" : "FAIL");
  out << line;
}

void write_json(const Report& report, std::ostream& out) {
  out << "{\n  \"results\": [\n";
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const Row& r = report.rows[i];
    out << "    {\"activation\": \"" << activation_name(r.activation) << "\", \"dtype\": \"" << dtype_name(r.dtype)
        << "\", \"pass\": \"" << r.pass << "\", \"backend\": \"" << backend_name(r.backend)
        << "\", \"against\": \"" << r.against << "\", \"checked\": " << r.result.checked
        << ", \"max_ulp\": " << json_number(r.result.max_ulp) << ", \"max_abs\": " << json_number(r.result.max_abs)
        << ", \"nonfinite_mismatches\": " << r.result.nonfinite_mismatches << ", \"failures\": " << r.result.failures
        << ", \"tolerance_ulp\": " << json_number(r.tolerance.max_ulp)
        << ", \"status\": \"" << (r.passed() ? "PASS" : "FAIL") << "\""
        << (r.worst.empty() ? "" : ", \"worst\": \"" + json_escape(r.worst) + "\"") << "}"
        << (i + 1 < report.rows.size() ? ",\n" : "\n");
  }
  out << "  ],\n  \"backends\": {";
  for (std::size_t i = 0; i < report.backends.size(); ++i) {
    const BackendStatus& b = report.backends[i];
    out << (i ? ", " : "") << "\"" << backend_name(b.backend) << "\": {\"available\": " << (b.available ? "true" : "false")
        << (b.available ? "" : ", \"reason\": \"" + json_escape(b.reason) + "\"") << "}";
  }
  out << "},\n  \"seconds\": " << json_number(report.seconds) << ",\n  \"status\": \""
      << (report.passed() ? "PASS" : "FAIL") << "\"\n}\n";
}

}  // namespace actk::validation
