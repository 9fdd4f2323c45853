// The validation suite's rows for the structured activations: PReLU, Maxout, the gated family and
// bias fusion of every elementwise activation, each on every non-reference backend against the
// reference, over seeded random data with the battery's special values mixed in, in shapes that
// leave vector tails (odd widths) and, for the gated ops, the concatenated [gate | up] layout.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "actk/structured.hpp"
#include "host/validation/staging.hpp"
#include "host/validation/suite.hpp"
#include "kernels/activation_math.hpp"

namespace actk::validation {
namespace {

// Random values in [lo, hi], every 97th replaced by a special value of the type. Inputs get
// special values; upstream gradients are finite, from `gradients`, as in the elementwise rows.
HostBuffer mixed(DType dtype, std::int64_t count, std::uint64_t seed, double lo = -6, double hi = 6) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(lo, hi);
  const std::vector<double> special = special_values(dtype);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) values[i] = i % 97 == 96 ? special[(i / 97) % special.size()] : uniform(rng);
  return HostBuffer(dtype, values);
}

struct Case {
  Activation activation;
  std::string pass;
};

// Runs `call(backend, staging, outputs...)` on the reference and on `backend`, compares every
// output, and returns the row. `outputs` are the host buffers the call writes; `sums` marks the
// ones that are reductions, with the magnitudes of their terms.
class StructuredCheck {
 public:
  StructuredCheck(Backend backend, DType dtype) : backend_(backend), dtype_(dtype) {}

  template <class Run>
  Row run(const Case& c, std::vector<HostBuffer> outputs, const std::vector<const HostBuffer*>& scales,
          const std::vector<std::vector<double>>& sum_abs, Activation judged_as, Pass judged_pass, Run&& call,
          std::int64_t terms_per_sum = 0) {
    std::vector<HostBuffer> want = outputs;
    {
      Staging staging(Backend::reference);
      std::vector<void*> pointers;
      for (HostBuffer& b : want) pointers.push_back(staging.place(b));
      call(Backend::reference, staging, pointers);
    }
    Staging staging(backend_);
    std::vector<void*> pointers;
    for (HostBuffer& b : outputs) pointers.push_back(staging.place(b));
    call(backend_, staging, pointers);
    staging.fetch();

    Row row{c.activation, dtype_, c.pass, backend_, "reference", {}, tolerance(judged_as, dtype_, judged_pass, backend_), {}};
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const bool is_sum = i < sum_abs.size() && !sum_abs[i].empty();
      const Comparison part =
          is_sum ? compare_sums(dtype_, outputs[i].data(), want[i].data(), sum_abs[i], outputs[i].count(), terms_per_sum)
                 : compare(dtype_, outputs[i].data(), want[i].data(), i < scales.size() && scales[i] ? scales[i]->data() : nullptr,
                           outputs[i].count(), row.tolerance);
      if (part.failures > 0 && row.worst.empty()) {
        row.worst = "output " + std::to_string(i) + " element " + std::to_string(part.worst_index) + ": got " +
                    std::to_string(outputs[i].at(part.worst_index)) + " want " + std::to_string(want[i].at(part.worst_index));
      }
      merge(row.result, part);
    }
    return row;
  }

 private:
  Backend backend_;
  DType dtype_;
};

Options with_backend(Backend backend) {
  Options options;
  options.backend = backend;
  return options;
}

}  // namespace

void append_structured_rows(Report& report, const std::vector<Backend>& backends, const SuiteOptions& options) {
  const DType dtypes[] = {DType::f32, DType::f64, DType::f16, DType::bf16};
  for (Backend backend : backends) {
    if (backend == Backend::reference) continue;
    for (DType dtype : dtypes) {
      StructuredCheck check(backend, dtype);
      auto wanted = [&](Activation a, const char* pass) { return filter_matches(options.filter, a, dtype, pass, backend); };
      const std::size_t size = dtype_size(dtype);

      // PReLU, NCHW-like with per-channel weights: 8 rows x 24 channels x 1001 inner.
      const PreluShape shape{8, 24, 1001};
      const std::int64_t n = shape.rows * shape.channels * shape.inner;
      const HostBuffer x = mixed(dtype, n, 1), dy = gradients(dtype, n, 2), w = mixed(dtype, shape.channels, 3, -0.5, 0.5);
      if (wanted(Activation::prelu, "forward")) {
        report.rows.push_back(check.run({Activation::prelu, "forward"}, {HostBuffer(dtype, n)}, {}, {}, Activation::leaky_relu,
                                        Pass::forward, [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                          prelu_forward({s.place_input(x), dtype, n}, {s.place_input(w), dtype, shape.channels},
                                                        {out[0], dtype, n}, shape, with_backend(b));
                                        }));
      }
      if (wanted(Activation::prelu, "backward")) {
        std::vector<double> sum_abs(static_cast<std::size_t>(shape.channels), 0.0);
        for (std::int64_t i = 0; i < n; ++i) {
          if (!(x.at(i) > 0)) sum_abs[(i / shape.inner) % shape.channels] += std::fabs(x.at(i) * dy.at(i));
        }
        report.rows.push_back(check.run(
            {Activation::prelu, "backward"}, {HostBuffer(dtype, n), HostBuffer(dtype, shape.channels)}, {&dy},
            {{}, sum_abs}, Activation::leaky_relu, Pass::backward, [&](Backend b, Staging& s, const std::vector<void*>& out) {
              prelu_backward({s.place_input(x), dtype, n}, {s.place_input(w), dtype, shape.channels},
                             {s.place_input(dy), dtype, n},
                             {out[0], dtype, n}, {out[1], dtype, shape.channels}, shape, with_backend(b));
            },
            shape.rows * shape.inner));
      }

      // Maxout: k = 5 over a width of 1005, 64 rows; backward from x.
      const MaxoutShape mshape{1005, 5};
      const std::int64_t mn = 64 * mshape.width, groups = mn / mshape.k;
      const HostBuffer mx = mixed(dtype, mn, 4), mdy = gradients(dtype, groups, 5);
      if (wanted(Activation::maxout, "forward")) {
        report.rows.push_back(check.run({Activation::maxout, "forward"}, {HostBuffer(dtype, groups)}, {}, {},
                                        Activation::identity, Pass::forward,
                                        [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                          maxout_forward({s.place_input(mx), dtype, mn}, {out[0], dtype, groups}, mshape, {},
                                                         with_backend(b));
                                        }));
      }
      if (wanted(Activation::maxout, "backward")) {
        report.rows.push_back(check.run({Activation::maxout, "backward"}, {HostBuffer(dtype, mn)}, {}, {}, Activation::identity,
                                        Pass::backward, [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                          maxout_backward({s.place_input(mx), dtype, mn}, {},
                                                          {s.place_input(mdy), dtype, groups},
                                                          {out[0], dtype, mn}, mshape, with_backend(b));
                                        }));
      }

      // Gated: 16 rows of [gate | up], H = 1027.
      const std::int64_t rows = 16, hidden = 1027;
      const HostBuffer projection = mixed(dtype, rows * 2 * hidden, 6), gdy = gradients(dtype, rows * hidden, 7);
      for (const ActivationInfo& entry : catalogue(ActivationKind::gated)) {
        // dgate's floor scales with its upstream gradient dy * up' (up' = up unless clamped).
        const math::GateClamp<double> clamp{entry.uses(Param::limit), ActivationParams{}.limit};
        std::vector<double> upstream(static_cast<std::size_t>(rows * 2 * hidden));
        for (std::int64_t r = 0; r < rows; ++r) {
          for (std::int64_t c = 0; c < hidden; ++c) {
            upstream[r * 2 * hidden + c] = gdy.at(r * hidden + c) * clamp.up(projection.at(r * 2 * hidden + hidden + c));
            upstream[r * 2 * hidden + hidden + c] = gdy.at(r * hidden + c);
          }
        }
        const HostBuffer scale_typed(dtype, upstream);
        auto halves = [&](const void* base) {
          auto* p = static_cast<unsigned char*>(const_cast<void*>(base));
          return std::make_pair(MatrixView(p, dtype, rows, hidden, 2 * hidden),
                                MatrixView(p + hidden * size, dtype, rows, hidden, 2 * hidden));
        };
        if (wanted(entry.activation, "forward")) {
          report.rows.push_back(check.run({entry.activation, "forward"}, {HostBuffer(dtype, rows * hidden)}, {}, {},
                                          entry.activation, Pass::forward,
                                          [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                            const auto [gate, up] = halves(s.place_input(projection));
                                            gated_forward(entry.activation, gate, up, {out[0], dtype, rows, hidden, hidden},
                                                          with_backend(b));
                                          }));
        }
        if (wanted(entry.activation, "backward")) {
          report.rows.push_back(check.run({entry.activation, "backward"}, {HostBuffer(dtype, rows * 2 * hidden)}, {&scale_typed},
                                          {}, entry.activation, Pass::backward,
                                          [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                            const auto [gate, up] = halves(s.place_input(projection));
                                            const auto [dgate, dup] = halves(out[0]);
                                            gated_backward(entry.activation, gate, up,
                                                           {s.place_input(gdy), dtype, rows, hidden, hidden},
                                                           dgate, dup, with_backend(b));
                                          }));
        }
      }

      // Bias fusion: 96 rows x 1001 channels, every elementwise activation.
      const std::int64_t channels = 1001, bn = 96 * channels;
      const HostBuffer bx = mixed(dtype, bn, 8), bias = mixed(dtype, channels, 9, -1, 1), bdy = gradients(dtype, bn, 10);
      for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
        if (wanted(entry.activation, "forward_bias")) {
          report.rows.push_back(check.run({entry.activation, "forward_bias"}, {HostBuffer(dtype, bn)}, {}, {},
                                          entry.activation, Pass::forward,
                                          [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                            forward_bias(entry.activation, {s.place_input(bx), dtype, bn},
                                                         {s.place_input(bias), dtype, channels}, {out[0], dtype, bn}, with_backend(b));
                                          }));
        }
        if (wanted(entry.activation, "backward_bias")) {
          // The sums' term magnitudes: |dx| of the reference, column by column.
          HostBuffer dx_ref(dtype, bn), db_ref(dtype, channels);
          backward_bias(entry.activation, bx.view(), bias.view(), bdy.view(), dx_ref.view(), db_ref.view(),
                        with_backend(Backend::reference));
          std::vector<double> sum_abs(static_cast<std::size_t>(channels), 0.0);
          for (std::int64_t i = 0; i < bn; ++i) {
            if (std::isfinite(dx_ref.at(i))) sum_abs[i % channels] += std::fabs(dx_ref.at(i));
          }
          report.rows.push_back(check.run({entry.activation, "backward_bias"},
                                          {HostBuffer(dtype, bn), HostBuffer(dtype, channels)}, {&bdy}, {{}, sum_abs},
                                          entry.activation, Pass::backward,
                                          [&](Backend b, Staging& s, const std::vector<void*>& out) {
                                            backward_bias(entry.activation, {s.place_input(bx), dtype, bn},
                                                          {s.place_input(bias), dtype, channels},
                                                          {s.place_input(bdy), dtype, bn},
                                                          {out[0], dtype, bn}, {out[1], dtype, channels}, with_backend(b));
                                          },
                                          bn / channels));
        }
      }
    }
  }
}

}  // namespace actk::validation
