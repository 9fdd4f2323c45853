// The structured activations (PReLU, Maxout, the gated family, bias fusion) on the CPU backends:
// the reference against finite differences and direct formulas, the cpu backend against the
// reference, deterministic reductions (run to run and across thread counts), layouts, in place,
// and every error case with a canary.
#include <omp.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actk/structured.hpp"
#include "tests/support.hpp"

namespace actk {
namespace {

using validation::HostBuffer;

HostBuffer random_buffer(DType dtype, std::int64_t count, std::uint64_t seed, double lo = -4, double hi = 4) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(lo, hi);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (double& v : values) v = uniform(rng);
  return HostBuffer(dtype, values);
}

Options on(Backend backend) {
  Options options;
  options.backend = backend;
  return options;
}

// Elementwise outputs against the reference's, under the contract's tolerance.
void expect_agree(const HostBuffer& got, const HostBuffer& want, const HostBuffer* dy, Activation activation, Pass pass,
                  Backend backend, const std::string& what) {
  const validation::Tolerance tol = validation::tolerance(activation, got.dtype(), pass, backend);
  const validation::Comparison c =
      validation::compare(got.dtype(), got.data(), want.data(), dy ? dy->data() : nullptr, got.count(), tol);
  EXPECT_TRUE(c.passed()) << what << ": " << c.failures << " elements off, worst at " << c.worst_index << ": got "
                          << got.at(c.worst_index) << " want " << want.at(c.worst_index);
}

// Sums (dweight, dbias) against the reference's (validation::compare_sums).
void expect_sums_agree(const HostBuffer& got, const HostBuffer& want, const std::vector<double>& sum_abs,
                       std::int64_t terms_per_sum, const std::string& what) {
  const validation::Comparison c =
      validation::compare_sums(got.dtype(), got.data(), want.data(), sum_abs, got.count(), terms_per_sum);
  EXPECT_TRUE(c.passed()) << what << ": " << c.failures << " sums off, first at " << c.worst_index;
}

class Structured : public ::testing::TestWithParam<std::tuple<Backend, DType>> {
 protected:
  Backend backend() const { return std::get<0>(GetParam()); }
  DType dtype() const { return std::get<1>(GetParam()); }
};

std::string structured_name(const ::testing::TestParamInfo<std::tuple<Backend, DType>>& info) {
  return std::string(backend_name(std::get<0>(info.param))) + "_" + dtype_name(std::get<1>(info.param));
}

// ---- PReLU ----------------------------------------------------------------------------------

struct PreluCase {
  PreluShape shape;
  bool per_channel;
};

const PreluCase kPreluCases[] = {
    {{2, 3, 5}, true},     // NCHW-like
    {{7, 4, 1}, true},     // channels last
    {{3, 5, 129}, false},  // one shared weight
    {{0, 3, 4}, true},     // no rows
    {{1, 1, 1}, true},     // one element
    {{65, 2, 33}, true},   // many rows, odd inner: row blocks
    {{2, 80, 3}, true},    // many channels: channel blocks
};

TEST_P(Structured, PreluMatchesTheReference) {
  for (const PreluCase& pc : kPreluCases) {
    const std::int64_t n = pc.shape.rows * pc.shape.channels * pc.shape.inner;
    const std::int64_t weights = pc.per_channel ? pc.shape.channels : 1;
    const HostBuffer x = random_buffer(dtype(), n, 1), dy = random_buffer(dtype(), n, 2);
    const HostBuffer w = random_buffer(dtype(), weights, 3, -0.5, 0.5);
    HostBuffer y(dtype(), n), dx(dtype(), n), dw(dtype(), weights);
    HostBuffer y_ref(dtype(), n), dx_ref(dtype(), n), dw_ref(dtype(), weights);
    prelu_forward(x.view(), w.view(), y.view(), pc.shape, on(backend()));
    prelu_forward(x.view(), w.view(), y_ref.view(), pc.shape, on(Backend::reference));
    prelu_backward(x.view(), w.view(), dy.view(), dx.view(), dw.view(), pc.shape, on(backend()));
    prelu_backward(x.view(), w.view(), dy.view(), dx_ref.view(), dw_ref.view(), pc.shape, on(Backend::reference));
    // One product, rounded once; the f64 reference rounds it twice (long double, then double), so
    // it is judged by the contract's tolerance rather than bit for bit.
    expect_agree(y, y_ref, nullptr, Activation::leaky_relu, Pass::forward, backend(), "prelu y");
    expect_agree(dx, dx_ref, &dy, Activation::leaky_relu, Pass::backward, backend(), "prelu dx");
    std::vector<double> sum_abs(static_cast<std::size_t>(weights), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t c = pc.per_channel ? (i / pc.shape.inner) % pc.shape.channels : 0;
      if (!(x.at(i) > 0)) sum_abs[c] += std::fabs(x.at(i) * dy.at(i));
    }
    expect_sums_agree(dw, dw_ref, sum_abs, n / weights, "prelu dweight");
  }
}

TEST_P(Structured, PreluWeightGradientIsDeterministic) {
  const PreluShape shape{16, 3, 4001};
  const std::int64_t n = shape.rows * shape.channels * shape.inner;
  const HostBuffer x = random_buffer(dtype(), n, 4), dy = random_buffer(dtype(), n, 5);
  const HostBuffer w = random_buffer(dtype(), 3, 6);
  std::vector<HostBuffer> results;
  for (int threads : {1, 2, 2}) {
    omp_set_num_threads(threads);
    HostBuffer dx(dtype(), n), dw(dtype(), 3);
    prelu_backward(x.view(), w.view(), dy.view(), dx.view(), dw.view(), shape, on(backend()));
    results.push_back(dw);
  }
  omp_set_num_threads(2);
  EXPECT_TRUE(results[0] == results[1]) << "1 and 2 threads";
  EXPECT_TRUE(results[1] == results[2]) << "run to run";
}

// ---- Maxout ---------------------------------------------------------------------------------

TEST_P(Structured, MaxoutForwardIndicesAndBackward) {
  const std::int64_t rows = 5, k = 3, width = 12;
  const HostBuffer x = random_buffer(dtype(), rows * width, 7);
  const std::int64_t groups = rows * width / k;
  HostBuffer y(dtype(), groups), y_ref(dtype(), groups);
  std::vector<std::int32_t> indices(groups), indices_ref(groups);
  maxout_forward(x.view(), y.view(), {width, k}, {indices.data(), groups}, on(backend()));
  maxout_forward(x.view(), y_ref.view(), {width, k}, {indices_ref.data(), groups}, on(Backend::reference));
  EXPECT_TRUE(y == y_ref);
  EXPECT_EQ(indices, indices_ref);
  for (std::int64_t g = 0; g < groups; ++g) {
    for (std::int64_t j = 0; j < k; ++j) EXPECT_LE(x.at(g * k + j), y.at(g)) << "y is the group's maximum";
    EXPECT_EQ(x.at(g * k + indices[g]), y.at(g));
  }
  const HostBuffer dy = random_buffer(dtype(), groups, 8);
  HostBuffer from_indices(dtype(), rows * width), from_x(dtype(), rows * width);
  maxout_backward({}, {indices.data(), groups}, dy.view(), from_indices.view(), {width, k}, on(backend()));
  maxout_backward(x.view(), {}, dy.view(), from_x.view(), {width, k}, on(backend()));
  EXPECT_TRUE(from_indices == from_x);
  for (std::int64_t g = 0; g < groups; ++g) {
    for (std::int64_t j = 0; j < k; ++j) EXPECT_EQ(from_x.at(g * k + j), j == indices[g] ? dy.at(g) : 0.0);
  }
}

TEST_P(Structured, MaxoutTiesGoToTheFirstAndNaNWins) {
  const HostBuffer x(dtype(), std::vector<double>{1, 3, 3, 2, std::nan(""), 5, -1, -1});
  HostBuffer y(dtype(), 2);
  std::vector<std::int32_t> indices(2);
  maxout_forward(x.view(), y.view(), {8, 4}, {indices.data(), 2}, on(backend()));
  EXPECT_EQ(indices[0], 1);
  EXPECT_EQ(indices[1], 0);
  EXPECT_TRUE(std::isnan(y.at(1)));
}

// ---- Gated ----------------------------------------------------------------------------------

const Activation kGated[] = {Activation::glu, Activation::reglu, Activation::geglu, Activation::geglu_tanh,
                             Activation::swiglu};

TEST_P(Structured, GatedMatchesTheReferenceOnConcatenatedRows) {
  const std::int64_t rows = 3, hidden = 1029;  // [gate | up] rows of width 2H, one buffer, no copy
  for (Activation a : kGated) {
    const HostBuffer projection = random_buffer(dtype(), rows * 2 * hidden, 9);
    const HostBuffer dy = random_buffer(dtype(), rows * hidden, 10);
    const std::size_t half = hidden * dtype_size(dtype());
    const auto* base = static_cast<const unsigned char*>(projection.data());
    const ConstMatrixView gate(base, dtype(), rows, hidden, 2 * hidden);
    const ConstMatrixView up(base + half, dtype(), rows, hidden, 2 * hidden);
    const ConstMatrixView grad(dy.data(), dtype(), rows, hidden, hidden);
    HostBuffer y(dtype(), rows * hidden), y_ref(dtype(), rows * hidden);
    gated_forward(a, gate, up, {y.data(), dtype(), rows, hidden, hidden}, on(backend()));
    gated_forward(a, gate, up, {y_ref.data(), dtype(), rows, hidden, hidden}, on(Backend::reference));
    expect_agree(y, y_ref, nullptr, a, Pass::forward, backend(), std::string(activation_name(a)) + " y");

    HostBuffer grads(dtype(), rows * 2 * hidden), grads_ref(dtype(), rows * 2 * hidden);
    auto* g = static_cast<unsigned char*>(grads.data());
    auto* g_ref = static_cast<unsigned char*>(grads_ref.data());
    gated_backward(a, gate, up, grad, {g, dtype(), rows, hidden, 2 * hidden}, {g + half, dtype(), rows, hidden, 2 * hidden},
                   on(backend()));
    gated_backward(a, gate, up, grad, {g_ref, dtype(), rows, hidden, 2 * hidden},
                   {g_ref + half, dtype(), rows, hidden, 2 * hidden}, on(Backend::reference));
    // The absolute floor scales with each gradient's upstream factor: dy * up for dgate, dy for dup.
    std::vector<double> upstream(static_cast<std::size_t>(rows * 2 * hidden));
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < hidden; ++c) {
        upstream[r * 2 * hidden + c] = dy.at(r * hidden + c) * projection.at(r * 2 * hidden + hidden + c);
        upstream[r * 2 * hidden + hidden + c] = dy.at(r * hidden + c);
      }
    }
    const HostBuffer scale(dtype(), upstream);
    expect_agree(grads, grads_ref, &scale, a, Pass::backward, backend(), std::string(activation_name(a)) + " dgate|dup");

    // In place, as memory-tight training does: the gradients overwrite gate and up.
    HostBuffer in_place = projection;
    auto* p = static_cast<unsigned char*>(in_place.data());
    const MatrixView gate_io(p, dtype(), rows, hidden, 2 * hidden), up_io(p + half, dtype(), rows, hidden, 2 * hidden);
    gated_backward(a, gate_io, up_io, grad, gate_io, up_io, on(backend()));
    EXPECT_TRUE(in_place == grads) << activation_name(a) << " in place";
  }
}

TEST_P(Structured, GluIsPyTorchsGluWithTheSecondHalfAsGate) {
  // torch.nn.functional.glu(x) = a * sigmoid(b) for x = [a | b].
  const HostBuffer x(dtype(), std::vector<double>{1.0, -2.0, 0.5, 3.0});  // a = {1, -2}, b = {0.5, 3}
  HostBuffer y(dtype(), 2);
  const auto* base = static_cast<const unsigned char*>(x.data());
  gated_forward(Activation::glu, {base + 2 * dtype_size(dtype()), dtype(), 1, 2, 4}, {base, dtype(), 1, 2, 4},
                {y.data(), dtype(), 1, 2, 2}, on(backend()));
  const double tol = dtype() == DType::bf16 ? 1e-2 : dtype() == DType::f16 ? 1e-3 : 1e-6;
  EXPECT_NEAR(y.at(0), 1.0 / (1.0 + std::exp(-0.5)), tol);
  EXPECT_NEAR(y.at(1), -2.0 / (1.0 + std::exp(-3.0)), tol);
}

// ---- Bias -----------------------------------------------------------------------------------

TEST_P(Structured, BiasFusionMatchesTheReferenceForEveryActivation) {
  for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
    for (std::int64_t channels : {1, 7, 100}) {
      const std::int64_t rows = 37, n = rows * channels;
      const HostBuffer x = random_buffer(dtype(), n, 11), b = random_buffer(dtype(), channels, 12, -1, 1);
      const HostBuffer dy = random_buffer(dtype(), n, 13);
      HostBuffer y(dtype(), n), y_ref(dtype(), n);
      forward_bias(entry.activation, x.view(), b.view(), y.view(), on(backend()));
      forward_bias(entry.activation, x.view(), b.view(), y_ref.view(), on(Backend::reference));
      const std::string what = std::string(entry.name) + " C=" + std::to_string(channels);
      expect_agree(y, y_ref, nullptr, entry.activation, Pass::forward, backend(), what + " y");

      HostBuffer dx(dtype(), n), db(dtype(), channels), dx_ref(dtype(), n), db_ref(dtype(), channels);
      backward_bias(entry.activation, x.view(), b.view(), dy.view(), dx.view(), db.view(), on(backend()));
      backward_bias(entry.activation, x.view(), b.view(), dy.view(), dx_ref.view(), db_ref.view(), on(Backend::reference));
      expect_agree(dx, dx_ref, &dy, entry.activation, Pass::backward, backend(), what + " dx");
      std::vector<double> sum_abs(static_cast<std::size_t>(channels), 0.0);
      for (std::int64_t i = 0; i < n; ++i) sum_abs[i % channels] += std::fabs(dx_ref.at(i));
      expect_sums_agree(db, db_ref, sum_abs, rows, what + " dbias");
    }
  }
}

TEST_P(Structured, BiasGradientIsDeterministic) {
  for (std::int64_t channels : {3, 300}) {
    const std::int64_t rows = channels == 3 ? 50001 : 2001, n = rows * channels;  // both > 2 threads' grain
    const HostBuffer x = random_buffer(dtype(), n, 14), b = random_buffer(dtype(), channels, 15);
    const HostBuffer dy = random_buffer(dtype(), n, 16);
    std::vector<HostBuffer> results;
    for (int threads : {1, 2, 2}) {
      omp_set_num_threads(threads);
      HostBuffer dx(dtype(), n), db(dtype(), channels);
      backward_bias(Activation::gelu, x.view(), b.view(), dy.view(), dx.view(), db.view(), on(backend()));
      results.push_back(db);
    }
    omp_set_num_threads(2);
    EXPECT_TRUE(results[0] == results[1]) << "1 and 2 threads, C=" << channels;
    EXPECT_TRUE(results[1] == results[2]) << "run to run, C=" << channels;
  }
}

INSTANTIATE_TEST_SUITE_P(CpuBackends, Structured,
                         ::testing::Combine(::testing::Values(Backend::reference, Backend::cpu),
                                            ::testing::ValuesIn(testing::all_dtypes())),
                         structured_name);

// ---- the reference against finite differences, in f64 ---------------------------------------

// Central difference of a scalar function of one input element.
double numeric_derivative(const std::function<double(double)>& f, double at) {
  const double h = 1e-6 * std::fmax(1.0, std::fabs(at));
  return (f(at + h) - f(at - h)) / (2 * h);
}

TEST(StructuredFiniteDifferences, GatedBiasPreluMaxout) {
  const Options ref = on(Backend::reference);
  // Gated: d/dgate and d/dup of sum(dy * y) at a few points away from kinks.
  for (Activation a : kGated) {
    for (double gate0 : {-1.7, -0.3, 0.4, 2.2}) {
      const double up0 = 0.8, dy0 = 1.3;
      auto y_of = [&](double gate, double up) {
        double y = 0;
        gated_forward(a, ConstMatrixView(&gate, 1, 1, 1), ConstMatrixView(&up, 1, 1, 1), MatrixView(&y, 1, 1, 1), ref);
        return dy0 * y;
      };
      double dgate = 0, dup = 0;
      gated_backward(a, ConstMatrixView(&gate0, 1, 1, 1), ConstMatrixView(&up0, 1, 1, 1), ConstMatrixView(&dy0, 1, 1, 1),
                     MatrixView(&dgate, 1, 1, 1), MatrixView(&dup, 1, 1, 1), ref);
      EXPECT_NEAR(dgate, numeric_derivative([&](double g) { return y_of(g, up0); }, gate0), 1e-6) << activation_name(a);
      EXPECT_NEAR(dup, numeric_derivative([&](double u) { return y_of(gate0, u); }, up0), 1e-6) << activation_name(a);
    }
  }
  // Bias: dbias = d/db sum(dy * f(x + b)) over two rows.
  for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) {
    const double x[2] = {-0.7, 1.9}, dy[2] = {0.6, -1.1};
    const double b0 = 0.25;
    auto loss = [&](double b) {
      double y[2];
      forward_bias(entry.activation, ConstTensorView(x, 2), ConstTensorView(&b, 1), TensorView(y, 2), ref);
      return dy[0] * y[0] + dy[1] * y[1];
    };
    double dx[2], db = 0;
    backward_bias(entry.activation, ConstTensorView(x, 2), ConstTensorView(&b0, 1), ConstTensorView(dy, 2),
                  TensorView(dx, 2), TensorView(&db, 1), ref);
    EXPECT_NEAR(db, numeric_derivative(loss, b0), 1e-6) << entry.name;
    EXPECT_NEAR(db, dx[0] + dx[1], 1e-15) << entry.name;
  }
  // PReLU: dweight = d/dw sum(dy * prelu(x, w)).
  const double x[4] = {-1.5, 2.0, -0.25, 0.75}, dy[4] = {0.5, -1.0, 2.0, 1.5};
  const double w0 = 0.3;
  auto loss = [&](double w) {
    double y[4];
    prelu_forward(ConstTensorView(x, 4), ConstTensorView(&w, 1), TensorView(y, 4), {1, 1, 4}, ref);
    return dy[0] * y[0] + dy[1] * y[1] + dy[2] * y[2] + dy[3] * y[3];
  };
  double dx[4], dw = 0;
  prelu_backward(ConstTensorView(x, 4), ConstTensorView(&w0, 1), ConstTensorView(dy, 4), TensorView(dx, 4),
                 TensorView(&dw, 1), {1, 1, 4}, ref);
  EXPECT_NEAR(dw, numeric_derivative(loss, w0), 1e-6);
  // Maxout: d/dx_j sum(dy * maxout(x)) at a point without ties.
  const double mx[4] = {0.1, 0.9, -0.3, 0.2}, mdy[2] = {1.5, -0.5};
  double mdx[4];
  maxout_backward(ConstTensorView(mx, 4), {}, ConstTensorView(mdy, 2), TensorView(mdx, 4), {4, 2}, ref);
  for (int j = 0; j < 4; ++j) {
    auto f = [&](double v) {
      double xs[4] = {mx[0], mx[1], mx[2], mx[3]}, y[2];
      xs[j] = v;
      maxout_forward(ConstTensorView(xs, 4), TensorView(y, 2), {4, 2}, {}, ref);
      return mdy[0] * y[0] + mdy[1] * y[1];
    };
    EXPECT_NEAR(mdx[j], numeric_derivative(f, mx[j]), 1e-9) << "maxout x[" << j << "]";
  }
}

// ---- errors ---------------------------------------------------------------------------------

constexpr unsigned char kCanary = 0x5A;

void expect_error(const std::function<void()>& call, const HostBuffer& canary_buffer, const std::string& call_name,
                  const std::string& argument, const std::string& reason_part) {
  HostBuffer canary(canary_buffer.dtype(), canary_buffer.count());
  canary.fill_bytes(kCanary);
  try {
    call();
    ADD_FAILURE() << "no error for " << call_name << " " << argument;
  } catch (const Error& e) {
    EXPECT_EQ(e.call(), call_name) << e.what();
    EXPECT_EQ(e.argument(), argument) << e.what();
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
  }
  EXPECT_TRUE(canary_buffer == canary) << call_name << ": an output was written before the error";
}

TEST(StructuredErrors, BadShapesStridesAndCounts) {
  const HostBuffer x = random_buffer(DType::f32, 24, 1), w = random_buffer(DType::f32, 3, 2);
  HostBuffer out(DType::f32, 24), dw(DType::f32, 3);
  out.fill_bytes(kCanary);
  const auto* xp = static_cast<const float*>(x.data());
  auto* op = static_cast<float*>(out.data());

  expect_error([&] { prelu_forward(x.view(), ConstTensorView(xp, 2), out.view(), {2, 3, 4}); }, out, "prelu_forward",
               "weight", "neither 1 nor the channel count 3");
  expect_error([&] { prelu_forward(x.view(), w.view(), out.view(), {2, 3, 5}); }, out, "prelu_forward", "x",
               "does not match rows x channels x inner");
  expect_error([&] { prelu_forward(x.view(), w.view(), out.view(), {2, 0, 4}); }, out, "prelu_forward", "shape",
               "channels >= 1");
  expect_error([&] { prelu_backward(x.view(), w.view(), x.view(), out.view(), TensorView(op, 2), {2, 3, 4}); }, out,
               "prelu_backward", "dweight", "does not match weight's count");

  expect_error([&] { maxout_forward(x.view(), TensorView(op, 8), {12, 5}); }, out, "maxout_forward", "shape.k",
               "does not divide the width 12");
  expect_error([&] { maxout_forward(x.view(), TensorView(op, 8), {12, 0}); }, out, "maxout_forward", "shape.k",
               "must be >= 1");
  expect_error([&] { maxout_forward(x.view(), TensorView(op, 7), {12, 3}); }, out, "maxout_forward", "y",
               "does not match x's count / k");
  expect_error([&] { maxout_forward(x.view(), TensorView(op, 8), {10, 2}); }, out, "maxout_forward", "x",
               "not a multiple of the width 10");
  std::vector<std::int32_t> bad = {0, 3, 0, 0, 0, 0, 0, 0};
  expect_error([&] { maxout_backward({}, {bad.data(), 8}, ConstTensorView(xp, 8), out.view(), {12, 3}); }, out,
               "maxout_backward", "indices", "outside the group [0, 3)");

  const ConstMatrixView gate(xp, 2, 4, 4);
  expect_error([&] { gated_forward(Activation::swiglu, gate, ConstMatrixView(xp, 2, 3, 4), MatrixView(op, 2, 4, 4)); },
               out, "gated_forward", "up", "does not match gate's 2 x 4");
  expect_error([&] { gated_forward(Activation::swiglu, ConstMatrixView(xp, 2, 4, 3), gate, MatrixView(op, 2, 4, 4)); },
               out, "gated_forward", "gate", "row_stride 3 is less than cols 4");
  expect_error([&] { gated_forward(Activation::silu, gate, gate, MatrixView(op, 2, 4, 4)); }, out, "gated_forward",
               "activation", "does not take silu");
  expect_error([&] { gated_forward(Activation::glu, gate, gate, MatrixView(const_cast<float*>(xp) + 1, 2, 4, 4)); }, out,
               "gated_forward", "y", "partially overlaps gate");

  expect_error([&] { forward_bias(Activation::relu, x.view(), ConstTensorView(xp, 5), out.view()); }, out,
               "forward_bias", "x", "not a multiple of the channel count 5");
  expect_error([&] { backward_bias(Activation::relu, x.view(), w.view(), x.view(), out.view(), TensorView(op, 4)); },
               out, "backward_bias", "dbias", "does not match bias's count 3");
  expect_error([&] { forward_bias(Activation::prelu, x.view(), w.view(), out.view()); }, out, "forward_bias",
               "activation", "use prelu_forward");
}

}  // namespace
}  // namespace actk
