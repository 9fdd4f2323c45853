// The `actk` command: list the catalogue, run every pass, validate every backend.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "actk/actk.hpp"
#include "host/cli/compare.hpp"
#include "host/cli/lab.hpp"
#include "host/cli/report_output.hpp"
#include "host/validation/battery.hpp"
#include "host/validation/suite.hpp"

namespace {

using namespace actk;

constexpr const char* kUsage = R"(usage: actk <command> [options]

commands:
  list                      the catalogue: name, parameters (defaults), backward from output
  run                       every pass of every activation on every available backend, f32
  validate [options]        the validation suite (see README.md, "Validation")
      --json FILE           also write the report as JSON
      --filter TERMS        comma-separated terms; each '/'-separated part names an activation,
                            dtype, pass or backend: gelu | gelu/bf16 | cpu/backward,silu
      --quick               fewer random f32/f64 inputs (2^14 instead of 2^20 / 2^17)
  compare [NAMES] [options] CPU vs GPU: forward and backward of each activation (or those named),
                            time, GB/s, fraction of the same-run copy bandwidth, speed-up
      --sizes N,N,...       element counts (default 4096,1048576,16777216)
      --dtype T             f32 (default), f64, f16 or bf16
      --inputs I            realistic (default: x uniform on [-8, 8], dy on [-2, 2], as
                            actk-bench) or battery (the validation battery's x, repeated)
  lab [options]             the gradient-flow lab: small MLPs trained with actk on 2-D data
                            for every activation; accuracy, gradient vs depth, dead units,
                            zero-centring, time per step (see README.md, "The lab")
      --filter NAMES        comma-separated activations (default: the whole catalogue)
      --backends B,B        cpu, cuda or reference (default cpu,cuda; the first available
                            measures everything, the others time the spirals run)
      --steps N             SGD steps on the spirals (default 1000)
      --seed N              data and init seed (default 1)
      --json FILE           also write the report as JSON (bench/lab_plots.py draws it)
  --version                 the library version
  help                      this text

exit status: 0 on success, 1 when a validation row fails, 2 for bad usage.
)";

const Pass kPasses[] = {Pass::forward, Pass::backward, Pass::backward_from_output, Pass::forward_backward};
const Backend kBackends[] = {Backend::reference, Backend::cpu, Backend::cuda};

int list_catalogue() {
  std::printf("%-14s %-12s %-64s %s\n", "activation", "kind", "parameters (default)", "backward from output");
  for (const ActivationInfo& entry : catalogue()) {
    std::string params;
    for (const Param p : kAllParams) {
      if (!entry.uses(p)) continue;
      char text[64];
      std::snprintf(text, sizeof text, "%s%s=%g", params.empty() ? "" : ", ", param_name(p), param_default(p));
      params += text;
    }
    const char* kind = "elementwise";
    switch (entry.kind) {
      case ActivationKind::elementwise: break;
      case ActivationKind::prelu:
        kind = "prelu";
        params = "weight (1 or C values); shape rows x C x inner";
        break;
      case ActivationKind::maxout:
        kind = "maxout";
        params = "k (group size, divides the width)";
        break;
      case ActivationKind::gated:
        kind = "gated";
        params = std::string(entry.uses(Param::limit) ? "act(min(gate, limit)) * (clamp(up, +-limit) + 1), act = "
                                                      : "act(gate) * up, act = ") +
                 activation_name(entry.gate) + (params.empty() ? "" : "; " + params);
        break;
    }
    const char* from_output = entry.from_output == FromOutput::always  ? "yes"
                              : entry.from_output == FromOutput::never ? "no"
                                                                       : "when the parameter > 0";
    std::printf("%-14s %-12s %-64s %s\n", entry.name, kind, params.empty() ? "-" : params.c_str(), from_output);
  }
  return 0;
}

// Every pass of every activation on a small f32 input, on each available backend, with the
// output at a few points and the largest difference from the reference over the whole input.
int run_all() {
  const std::vector<double> shown = {-3.0, -1.0, -0.25, 0.0, 0.5, 2.0};
  std::vector<double> values = shown;
  for (int i = 0; i <= 4096; ++i) values.push_back(-8.0 + 16.0 * i / 4096);
  const validation::HostBuffer x(DType::f32, values);
  const validation::HostBuffer dy(DType::f32, std::vector<double>(values.size(), 1.0));

  std::vector<Backend> backends;
  for (Backend b : kBackends) {
    std::string why;
    if (backend_available(b, &why)) {
      backends.push_back(b);
    } else {
      std::printf("backend %s not available: %s\n", backend_name(b), why.c_str());
    }
  }
  std::printf("\n%-12s %-21s %-10s", "activation", "pass", "backend");
  for (double v : shown) std::printf(" %9s", ("x=" + std::to_string(v).substr(0, 5)).c_str());
  std::printf(" %14s\n", "max ulp vs ref");

  for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !supports_backward_from_output(entry.activation, {})) continue;
      validation::HostBuffer input = x;
      if (pass == Pass::backward_from_output) {
        forward(entry.activation, x.view(), input.view(), {Backend::reference});
      }
      validation::HostBuffer reference_out(DType::f32, x.count());
      for (Backend backend : backends) {
        const validation::Outputs outputs = validation::run_on(backend, entry.activation, pass, input, dy, {});
        const validation::HostBuffer& out = pass == Pass::forward ? outputs.y : outputs.dx;
        if (backend == Backend::reference) reference_out = out;
        double max_ulp = 0;
        for (std::int64_t i = 0; i < out.count(); ++i) {
          const float a = static_cast<float>(out.at(i)), b = static_cast<float>(reference_out.at(i));
          max_ulp = std::fmax(max_ulp, validation::ulp_distance(DType::f32, &a, &b));
        }
        std::printf("%-12s %-21s %-10s", entry.name, pass_name(pass), backend_name(backend));
        for (std::size_t i = 0; i < shown.size(); ++i) std::printf(" %9.5f", out.at(static_cast<std::int64_t>(i)));
        std::printf(" %14.0f\n", max_ulp);
      }
    }
  }
  return 0;
}

int validate(int argc, char** argv) {
  validation::SuiteOptions options;
  std::string json_path;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (arg == "--filter" && i + 1 < argc) {
      options.filter = argv[++i];
    } else if (arg == "--quick") {
      options.f32_random = options.f64_random = std::int64_t{1} << 14;
    } else {
      std::fprintf(stderr, "actk validate: unknown option '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (!cli::can_write("validate", json_path)) return 2;
  const validation::Report report = validation::run_suite(options, cli::progress_line("validating"));
  validation::print_report(report, std::cout);
  if (!cli::write_json_report("validate", json_path, [&](std::ostream& out) { validation::write_json(report, out); })) {
    return 2;
  }
  if (report.rows.empty()) {
    std::fprintf(stderr, "actk validate: the filter '%s' matches nothing\n", options.filter.c_str());
    return 2;
  }
  return report.passed() ? 0 : 1;
}

int compare(int argc, char** argv) {
  std::vector<std::string> names;
  std::vector<std::int64_t> sizes = {std::int64_t{1} << 12, std::int64_t{1} << 20, std::int64_t{1} << 24};
  DType dtype = DType::f32;
  cli::CompareInputs inputs = cli::CompareInputs::realistic;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::stringstream list(argv[++i]);
      std::string item;
      while (std::getline(list, item, ',')) {
        const long long n = std::atoll(item.c_str());
        if (n <= 0) {
          std::fprintf(stderr, "actk compare: bad size '%s'\n", item.c_str());
          return 2;
        }
        sizes.push_back(n);
      }
    } else if (arg == "--dtype" && i + 1 < argc) {
      const std::string name = argv[++i];
      bool known = false;
      for (DType d : {DType::f32, DType::f64, DType::f16, DType::bf16}) {
        if (name == dtype_name(d)) dtype = d, known = true;
      }
      if (!known) {
        std::fprintf(stderr, "actk compare: unknown dtype '%s'\n", name.c_str());
        return 2;
      }
    } else if (arg == "--inputs" && i + 1 < argc) {
      const std::string name = argv[++i];
      if (name != "realistic" && name != "battery") {
        std::fprintf(stderr, "actk compare: unknown inputs '%s' (realistic or battery)\n", name.c_str());
        return 2;
      }
      inputs = name == "battery" ? cli::CompareInputs::battery : cli::CompareInputs::realistic;
    } else if (activation_from_name(arg)) {
      names.push_back(activation_name(*activation_from_name(arg)));
    } else {
      std::fprintf(stderr, "actk compare: unknown activation or option '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  return cli::compare(names, sizes, dtype, inputs);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  try {
    if (command == "list") return list_catalogue();
    if (command == "run") return run_all();
    if (command == "validate") return validate(argc - 2, argv + 2);
    if (command == "compare") return compare(argc - 2, argv + 2);
    if (command == "lab") {
#ifdef ACTK_WITH_LAB
      return cli::lab(argc - 2, argv + 2);
#else
      std::fputs("actk lab: this actk was configured with ACTK_BUILD_LAB=OFF (no BLAS)\n", stderr);
      return 2;
#endif
    }
    if (command == "--version" || command == "version") {
      std::printf("actk %s\n", kVersion);
      return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actk %s: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "actk: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
