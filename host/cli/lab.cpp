#include "host/cli/lab.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "host/cli/report_output.hpp"
#include "host/lab/lab.hpp"

namespace actk::cli {
namespace {

bool parse_count(const char* text, int& value) {
  char* end = nullptr;
  const long parsed = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || parsed <= 0 || parsed > 1000000) return false;
  value = static_cast<int>(parsed);
  return true;
}

}  // namespace

int lab(int argc, char** argv) {
  lab::LabOptions options;
  std::string json_path;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--json" && has_value) {
      json_path = argv[++i];
    } else if (arg == "--filter" && has_value) {
      std::stringstream list(argv[++i]);
      std::string name;
      while (std::getline(list, name, ',')) {
        const std::optional<Activation> activation = activation_from_name(name);
        if (!activation) {
          std::fprintf(stderr, "actk lab: unknown activation '%s' (actk list shows them)\n", name.c_str());
          return 2;
        }
        options.activations.push_back(*activation);
      }
    } else if (arg == "--backends" && has_value) {
      options.backends.clear();
      std::stringstream list(argv[++i]);
      std::string name;
      while (std::getline(list, name, ',')) {
        if (name != "cpu" && name != "cuda" && name != "reference") {
          std::fprintf(stderr, "actk lab: unknown backend '%s' (cpu, cuda or reference)\n", name.c_str());
          return 2;
        }
        options.backends.push_back(name == "cpu" ? Backend::cpu : name == "cuda" ? Backend::cuda : Backend::reference);
      }
    } else if ((arg == "--steps" || arg == "--seed") && has_value) {
      int value = 0;
      if (!parse_count(argv[++i], value)) {
        std::fprintf(stderr, "actk lab: %s needs a positive count, not '%s'\n", arg.c_str(), argv[i]);
        return 2;
      }
      if (arg == "--steps") {
        options.steps = value;
      } else {
        options.seed = static_cast<std::uint64_t>(value);
      }
    } else {
      std::fprintf(stderr,
                   "actk lab: unknown option '%s'\nusage: actk lab [--filter NAMES] [--backends cpu,cuda] "
                   "[--steps N] [--seed N] [--json FILE]\n",
                   arg.c_str());
      return 2;
    }
  }
  if (!can_write("lab", json_path)) return 2;
  const lab::LabReport report = lab::run_lab(options, progress_line("training"));
  lab::print_report(report, std::cout);
  if (!write_json_report("lab", json_path, [&](std::ostream& out) { lab::write_json(report, out); })) return 2;
  return 0;
}

}  // namespace actk::cli
