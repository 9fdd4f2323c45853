// The lab's tables and its JSON report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "host/lab/lab.hpp"

namespace actk::lab {
namespace {

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string step_time(const ActivationResult& result, Backend backend) {
  for (const StepTime& t : result.step_times) {
    if (t.backend == backend) return format("%.3f", 1e3 * t.seconds);
  }
  return "-";
}

// Non-finite values (an overflowed gradient, a diverged run's mean) are null: JSON has neither.
std::string json_number(double value, const char* pattern = "%.6g") {
  return std::isfinite(value) ? format(pattern, value) : "null";
}

void json_numbers(std::ostream& out, const std::vector<double>& values) {
  out << '[';
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << json_number(values[i]);
  out << ']';
}

std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return quoted + '"';
}

template <class T>
void json_integers(std::ostream& out, const std::vector<T>& values) {
  out << '[';
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  out << ']';
}

}  // namespace

void print_report(const LabReport& report, std::ostream& out) {
  const LabOptions& o = report.options;
  char line[512];
  std::snprintf(line, sizeof line,
                "actk lab: %d points per data set, %d hidden layers of %d units, He init, full-batch SGD "
                "(lr %g, momentum %g), %d steps on the spirals and %d on xor and circles, seed %llu\n",
                o.points, o.depth, o.width, o.learning_rate, o.momentum, o.steps, o.easy_steps,
                static_cast<unsigned long long>(o.seed));
  out << line << "GEMMs: " << host_blas() << " on the host, cuBLAS on cuda\n";
  for (const std::string& why : report.unavailable) out << "backend " << why << '\n';

  out << "\nTraining (accuracy on the training points; steps to a loss <= " << o.target_loss
      << "; mean hidden activation and same-sign dW rows of the trained spirals net; time per step)\n";
  std::snprintf(line, sizeof line, "%-15s %8s %6s %8s %8s %8s %9s %9s %11s %11s\n", "activation", "spirals", "xor",
                "circles", "steps", "loss", "mean act", "same-sign", "ms/step cpu", "ms/step cuda");
  out << line;
  for (const ActivationResult& r : report.results) {
    std::snprintf(line, sizeof line, "%-15s %7.1f%% %5.1f%% %7.1f%% %8s %8.4f %8.3f %9.2f %11s %11s\n",
                  activation_name(r.activation), 100 * r.accuracy[0], 100 * r.accuracy[1], 100 * r.accuracy[2],
                  r.steps_to_target < 0 ? "-" : std::to_string(r.steps_to_target).c_str(), r.final_loss,
                  r.mean_activation, r.same_sign_fraction, step_time(r, Backend::cpu).c_str(),
                  step_time(r, Backend::cuda).c_str());
    out << line;
  }

  out << "\nGradient at init: |dL/dW| of the first hidden layer by depth (geometric mean of " << o.gradient_seeds
      << " nets)\n";
  std::snprintf(line, sizeof line, "%-15s", "activation");
  out << line;
  for (const GradientDepths& g : report.results.empty() ? std::vector<GradientDepths>{} : report.results[0].gradients) {
    for (const int d : o.depths) {
      const std::string init = g.init == Init::he ? "he" : "N(0,1)";
      std::snprintf(line, sizeof line, " %10s", (init + " d" + std::to_string(d)).c_str());
      out << line;
    }
  }
  out << '\n';
  for (const ActivationResult& r : report.results) {
    std::snprintf(line, sizeof line, "%-15s", activation_name(r.activation));
    out << line;
    for (const GradientDepths& g : r.gradients) {
      for (const std::vector<double>& layers : g.norms) {
        if (std::isfinite(layers.front())) {
          std::snprintf(line, sizeof line, " %10.2e", layers.front());
        } else {
          std::snprintf(line, sizeof line, " %10s", "overflow");
        }
        out << line;
      }
    }
    out << '\n';
  }

  out << "\nDead units (hidden units with f' = 0 on every point) after " << o.steps
      << " spirals steps, by learning rate and hidden bias init, mean of " << o.dead_seeds
      << " nets; the largest mean fraction during the runs in (); runs that diverged after /\n";
  std::snprintf(line, sizeof line, "%-15s", "activation");
  out << line;
  if (!report.results.empty()) {
    for (const DeadRun& d : report.results.front().dead) {
      std::snprintf(line, sizeof line, " %18s", (format("lr %g", d.learning_rate) + format(", b %g", d.bias_init)).c_str());
      out << line;
    }
  }
  out << '\n';
  for (const ActivationResult& r : report.results) {
    std::snprintf(line, sizeof line, "%-15s", activation_name(r.activation));
    out << line;
    for (const DeadRun& d : r.dead) {
      double peak = 0;
      for (const double f : d.fraction) peak = std::max(peak, f);
      std::string cell = d.fraction.empty() ? std::string("diverged")
                                            : format("%.1f%%", 100 * d.fraction.back()) + format(" (%.1f%%)", 100 * peak);
      if (d.diverged && !d.fraction.empty()) cell += " /" + std::to_string(d.diverged);
      std::snprintf(line, sizeof line, " %18s", cell.c_str());
      out << line;
    }
    out << '\n';
  }
  std::snprintf(line, sizeof line, "\n%zu activations in %.1f s\n", report.results.size(), report.seconds);
  out << line;
}

void write_json(const LabReport& report, std::ostream& out) {
  const LabOptions& o = report.options;
  out << "{\n  \"options\": {\"points\": " << o.points << ", \"width\": " << o.width << ", \"depth\": " << o.depth
      << ", \"steps\": " << o.steps << ", \"easy_steps\": " << o.easy_steps
      << ", \"learning_rate\": " << format("%g", o.learning_rate)
      << ", \"large_learning_rate\": " << format("%g", o.large_learning_rate)
      << ", \"momentum\": " << format("%g", o.momentum) << ", \"positive_bias\": " << format("%g", o.positive_bias)
      << ", \"dead_seeds\": " << o.dead_seeds
      << ", \"target_loss\": " << format("%g", o.target_loss) << ", \"depths\": ";
  json_integers(out, o.depths);
  out << ", \"gradient_seeds\": " << o.gradient_seeds << ", \"record_every\": " << o.record_every
      << ", \"grid\": " << o.grid << ", \"grid_extent\": 1.25, \"sign_examples\": " << o.sign_examples
      << ", \"seed\": " << o.seed << "},\n  \"unavailable\": [";
  for (std::size_t i = 0; i < report.unavailable.size(); ++i) {
    out << (i ? ", " : "") << json_string(report.unavailable[i]);
  }
  out << "],\n  \"seconds\": " << format("%.2f", report.seconds) << ",\n  \"spirals\": {\"x\": ";
  json_numbers(out, std::vector<double>(report.spirals.x.begin(), report.spirals.x.end()));
  out << ",\n    \"label\": ";
  json_integers(out, report.spirals.label);
  out << "},\n  \"results\": [";
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    const ActivationResult& r = report.results[i];
    out << (i ? "," : "") << "\n    {\"activation\": \"" << activation_name(r.activation) << "\", \"accuracy\": {";
    for (std::size_t d = 0; d < 3; ++d) {
      out << (d ? ", " : "") << '"' << data_set_name(kDataSets[d]) << "\": " << json_number(r.accuracy[d], "%.4f");
    }
    out << "}, \"steps_to_target\": " << r.steps_to_target << ", \"final_loss\": " << json_number(r.final_loss, "%.6g")
        << ", \"mean_activation\": " << json_number(r.mean_activation, "%.6g")
        << ", \"same_sign_fraction\": " << json_number(r.same_sign_fraction, "%.4f") << ",\n     \"loss\": ";
    json_numbers(out, r.loss);
    out << ",\n     \"step_times\": [";
    for (std::size_t t = 0; t < r.step_times.size(); ++t) {
      out << (t ? ", " : "") << "{\"backend\": \"" << backend_name(r.step_times[t].backend)
          << "\", \"seconds_per_step\": " << json_number(r.step_times[t].seconds, "%.6g")
          << ", \"spirals_accuracy\": " << json_number(r.step_times[t].accuracy, "%.4f") << '}';
    }
    out << "],\n     \"gradient_norms\": [";
    for (std::size_t g = 0; g < r.gradients.size(); ++g) {
      out << (g ? ", " : "") << "{\"init\": \"" << init_name(r.gradients[g].init) << "\", \"by_depth\": [";
      for (std::size_t d = 0; d < r.gradients[g].norms.size(); ++d) {
        out << (d ? ", " : "") << "{\"depth\": " << o.depths[d] << ", \"layers\": ";
        json_numbers(out, r.gradients[g].norms[d]);
        out << '}';
      }
      out << "]}";
    }
    out << "],\n     \"dead\": [";
    for (std::size_t d = 0; d < r.dead.size(); ++d) {
      const DeadRun& run = r.dead[d];
      out << (d ? ", " : "") << "{\"learning_rate\": " << format("%g", run.learning_rate)
          << ", \"bias_init\": " << format("%g", run.bias_init) << ", \"diverged_runs\": " << run.diverged
          << ", \"accuracy\": " << json_number(run.accuracy, "%.4f") << ", \"steps\": ";
      json_integers(out, run.steps);
      out << ", \"fraction\": ";
      json_numbers(out, run.fraction);
      out << '}';
    }
    out << "],\n     \"boundary\": \"";
    for (const int c : r.boundary) out << c;
    out << "\"}";
  }
  out << "\n  ]\n}\n";
}

}  // namespace actk::lab
