// The structured activations on the cuda backend (label `gpu`): the validation suite's PReLU,
// Maxout, gated and bias rows against the reference; shapes with no rows, one row, odd widths and
// misaligned views; reductions bit-identical run to run, for any grid and for the vector and the
// scalar path; in place; accumulation; graph capture of the stream-ordered workspace; 8 host
// threads on streams of their own. Without a device every test reports itself skipped, by name.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actk/structured.hpp"
#include "host/validation/suite.hpp"
#include "kernels/cuda_backend.hpp"
#include "tests/gpu/gpu_support.cuh"

namespace actk {
namespace {

using testing::CudaTest;
using testing::CudaTestWithParam;
using testing::DeviceBuffer;
using testing::Stream;
using validation::HostBuffer;

using testing::on;
using testing::random_buffer;

void synchronize() { ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize()); }

// Restores the launch configuration when a test that changes it ends.
struct BlockLimit {
  explicit BlockLimit(unsigned blocks) { cuda::set_block_limit(blocks); }
  ~BlockLimit() { cuda::set_block_limit(0); }
};

// ---- the validation suite's rows ------------------------------------------------------------

struct SuiteCase {
  std::string rows;  // an activation, or forward_bias / backward_bias
  DType dtype;
};

std::vector<SuiteCase> suite_cases() {
  std::vector<SuiteCase> cases;
  for (DType dtype : testing::all_dtypes()) {
    for (const ActivationInfo& entry : catalogue()) {
      if (entry.kind != ActivationKind::elementwise) cases.push_back({entry.name, dtype});
    }
    cases.push_back({"forward_bias", dtype});
    cases.push_back({"backward_bias", dtype});
  }
  return cases;
}

using SuiteRows = CudaTestWithParam<SuiteCase>;

TEST_P(SuiteRows, MatchTheReference) {
  validation::SuiteOptions options;
  options.backends = {Backend::cuda};
  options.filter = GetParam().rows + "/" + dtype_name(GetParam().dtype);
  validation::Report report;
  validation::append_structured_rows(report, options.backends, options);
  ASSERT_FALSE(report.rows.empty()) << "no rows for " << options.filter;
  for (const validation::Row& row : report.rows) {
    EXPECT_TRUE(row.passed()) << activation_name(row.activation) << " " << row.pass << ": " << row.result.failures
                              << " of " << row.result.checked << " off; " << row.worst;
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, SuiteRows, ::testing::ValuesIn(suite_cases()),
                         [](const ::testing::TestParamInfo<SuiteCase>& info) {
                           return info.param.rows + "_" + dtype_name(info.param.dtype);
                         });

// ---- shapes, alignment, determinism ---------------------------------------------------------

using Structured = CudaTestWithParam<DType>;

std::string dtype_case_name(const ::testing::TestParamInfo<DType>& info) { return dtype_name(info.param); }

// One backward_bias on the device; `offset` elements of misalignment for every buffer.
struct BiasRun {
  HostBuffer dx, dbias;
};
BiasRun bias_backward_on_device(Activation a, const HostBuffer& x, const HostBuffer& b, const HostBuffer& dy,
                                std::int64_t offset) {
  DeviceBuffer dx_d(x.dtype(), x.count(), offset), db_d(x.dtype(), b.count(), offset);
  const DeviceBuffer x_d(x, offset), b_d(b, offset), dy_d(dy, offset);
  backward_bias(a, x_d.view(), b_d.view(), dy_d.view(), dx_d.view(), db_d.view(), on(Backend::cuda));
  EXPECT_EQ(cudaSuccess, cudaDeviceSynchronize());
  EXPECT_TRUE(dx_d.guards_intact() && db_d.guards_intact()) << "a write outside the outputs";
  return {dx_d.to_host(), db_d.to_host()};
}

TEST_P(Structured, BiasShapesMatchTheReference) {
  const DType dtype = GetParam();
  // {rows, channels}: no rows (dbias = 0), one row, one channel, odd and vector-multiple widths,
  // many rows on few channels (row slots) and a wide row (several column tiles).
  const std::int64_t shapes[][2] = {{0, 5}, {1, 7}, {1000, 1}, {33, 3}, {17, 64}, {4099, 8}, {3, 5000}};
  for (const auto& shape : shapes) {
    const std::int64_t rows = shape[0], channels = shape[1], n = rows * channels;
    const HostBuffer x = random_buffer(dtype, n, 1), b = random_buffer(dtype, channels, 2, -1, 1);
    const HostBuffer dy = random_buffer(dtype, n, 3);
    HostBuffer dx_ref(dtype, n), db_ref(dtype, channels);
    backward_bias(Activation::silu, x.view(), b.view(), dy.view(), dx_ref.view(), db_ref.view(), on(Backend::reference));
    for (std::int64_t offset : {0, 1}) {
      const BiasRun got = bias_backward_on_device(Activation::silu, x, b, dy, offset);
      const std::string what = std::to_string(rows) + "x" + std::to_string(channels) + " offset " + std::to_string(offset);
      const validation::Comparison dx = validation::compare(
          dtype, got.dx.data(), dx_ref.data(), dy.data(), n, validation::tolerance(Activation::silu, dtype, Pass::backward, Backend::cuda));
      EXPECT_TRUE(dx.passed()) << what << " dx: " << dx.failures << " off";
      std::vector<double> sum_abs(static_cast<std::size_t>(channels), 0.0);
      for (std::int64_t i = 0; i < n; ++i) sum_abs[i % channels] += std::fabs(dx_ref.at(i));
      const validation::Comparison db =
          validation::compare_sums(dtype, got.dbias.data(), db_ref.data(), sum_abs, channels, rows);
      EXPECT_TRUE(db.passed()) << what << " dbias: " << db.failures << " off";
    }
  }
}

TEST_P(Structured, ReductionsAreBitIdenticalForAnyGridAndAlignment) {
  const DType dtype = GetParam();
  for (std::int64_t channels : {3, 1000}) {
    const std::int64_t rows = channels == 3 ? 300001 : 2003, n = rows * channels;
    const HostBuffer x = random_buffer(dtype, n, 4), b = random_buffer(dtype, channels, 5), dy = random_buffer(dtype, n, 6);
    const BiasRun first = bias_backward_on_device(Activation::gelu, x, b, dy, 0);
    for (unsigned blocks : {0u, 1u, 7u, 100u}) {
      const BlockLimit limit(blocks);
      for (std::int64_t offset : {0, 1}) {  // the vector path and the scalar path
        const BiasRun again = bias_backward_on_device(Activation::gelu, x, b, dy, offset);
        EXPECT_TRUE(again.dbias == first.dbias) << "C=" << channels << " blocks " << blocks << " offset " << offset;
        EXPECT_TRUE(again.dx == first.dx) << "C=" << channels << " blocks " << blocks << " offset " << offset;
      }
    }
  }
  // PReLU's weight gradient, NCHW-like and channels last.
  for (const PreluShape shape : {PreluShape{16, 3, 4001}, PreluShape{5000, 24, 1}}) {
    const std::int64_t n = shape.rows * shape.channels * shape.inner;
    const HostBuffer x = random_buffer(dtype, n, 7), dy = random_buffer(dtype, n, 8);
    const HostBuffer w = random_buffer(dtype, shape.channels, 9, -0.5, 0.5);
    std::vector<HostBuffer> results;
    for (unsigned blocks : {0u, 0u, 3u, 64u}) {
      const BlockLimit limit(blocks);
      const std::int64_t offset = blocks == 3 ? 1 : 0;  // one run on the scalar path
      const DeviceBuffer x_d(x, offset), dy_d(dy, offset), w_d(w, offset);
      DeviceBuffer dx_d(dtype, n, offset), dw_d(dtype, shape.channels, offset);
      prelu_backward(x_d.view(), w_d.view(), dy_d.view(), dx_d.view(), dw_d.view(), shape, on(Backend::cuda));
      results.push_back(dw_d.to_host());
    }
    for (std::size_t i = 1; i < results.size(); ++i) EXPECT_TRUE(results[i] == results[0]) << "run " << i;
  }
}

TEST_P(Structured, PreluShapesMatchTheReference) {
  const DType dtype = GetParam();
  const struct {
    PreluShape shape;
    bool per_channel;
  } cases[] = {{{2, 3, 5}, true}, {{7, 4, 1}, true}, {{3, 5, 129}, false}, {{0, 3, 4}, true},
               {{1, 1, 1}, true}, {{65, 2, 33}, true}, {{2, 80, 3}, true}, {{1, 64, 3000}, true}};
  for (const auto& c : cases) {
    const std::int64_t n = c.shape.rows * c.shape.channels * c.shape.inner;
    const std::int64_t weights = c.per_channel ? c.shape.channels : 1;
    const HostBuffer x = random_buffer(dtype, n, 10), dy = random_buffer(dtype, n, 11);
    const HostBuffer w = random_buffer(dtype, weights, 12, -0.5, 0.5);
    HostBuffer y_ref(dtype, n), dx_ref(dtype, n), dw_ref(dtype, weights);
    prelu_forward(x.view(), w.view(), y_ref.view(), c.shape, on(Backend::reference));
    prelu_backward(x.view(), w.view(), dy.view(), dx_ref.view(), dw_ref.view(), c.shape, on(Backend::reference));
    const DeviceBuffer x_d(x), dy_d(dy), w_d(w);
    DeviceBuffer y_d(dtype, n), dx_d(dtype, n), dw_d(dtype, weights);
    prelu_forward(x_d.view(), w_d.view(), y_d.view(), c.shape, on(Backend::cuda));
    prelu_backward(x_d.view(), w_d.view(), dy_d.view(), dx_d.view(), dw_d.view(), c.shape, on(Backend::cuda));
    synchronize();
    const std::string what = std::to_string(c.shape.rows) + "x" + std::to_string(c.shape.channels) + "x" +
                             std::to_string(c.shape.inner);
    // One product in the compute type, rounded once, as the cpu backend computes it; the f64
    // reference rounds it twice (long double, then double), so it is judged by the tolerance.
    HostBuffer y_cpu(dtype, n);
    prelu_forward(x.view(), w.view(), y_cpu.view(), c.shape, on(Backend::cpu));
    const HostBuffer y = y_d.to_host();
    EXPECT_TRUE(y == y_cpu) << what << ": y differs from the cpu backend's";
    EXPECT_TRUE(validation::compare(dtype, y.data(), y_ref.data(), nullptr, n,
                                    validation::tolerance(Activation::leaky_relu, dtype, Pass::forward, Backend::cuda))
                    .passed())
        << what << ": y against the reference";
    const HostBuffer dx = dx_d.to_host();
    const validation::Comparison cdx = validation::compare(
        dtype, dx.data(), dx_ref.data(), dy.data(), n, validation::tolerance(Activation::leaky_relu, dtype, Pass::backward, Backend::cuda));
    EXPECT_TRUE(cdx.passed()) << what << " dx";
    std::vector<double> sum_abs(static_cast<std::size_t>(weights), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      if (!(x.at(i) > 0)) sum_abs[c.per_channel ? (i / c.shape.inner) % c.shape.channels : 0] += std::fabs(x.at(i) * dy.at(i));
    }
    const HostBuffer dw = dw_d.to_host();
    EXPECT_TRUE(validation::compare_sums(dtype, dw.data(), dw_ref.data(), sum_abs, weights, n / weights).passed()) << what << " dweight";
  }
}

TEST_P(Structured, MaxoutShapesTiesAndIndices) {
  const DType dtype = GetParam();
  for (const MaxoutShape shape : {MaxoutShape{12, 3}, MaxoutShape{7, 7}, MaxoutShape{5, 1}, MaxoutShape{1024, 2}}) {
    const std::int64_t n = 37 * shape.width, groups = n / shape.k;
    HostBuffer x = random_buffer(dtype, n, 13);
    if (n > 3) x = HostBuffer(dtype, [&] {  // a tie in the first group
      std::vector<double> v(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) v[i] = i < shape.k ? 1.0 : x.at(i);
      return v;
    }());
    HostBuffer y_ref(dtype, groups);
    std::vector<std::int32_t> indices_ref(groups);
    maxout_forward(x.view(), y_ref.view(), shape, {indices_ref.data(), groups}, on(Backend::reference));
    const DeviceBuffer x_d(x);
    DeviceBuffer y_d(dtype, groups);
    thrust::device_vector<std::int32_t> indices_d(groups);
    maxout_forward(x_d.view(), y_d.view(), shape, {thrust::raw_pointer_cast(indices_d.data()), groups}, on(Backend::cuda));
    synchronize();
    EXPECT_TRUE(y_d.to_host() == y_ref) << "width " << shape.width << " k " << shape.k;
    std::vector<std::int32_t> indices(groups);
    thrust::copy(indices_d.begin(), indices_d.end(), indices.begin());
    EXPECT_EQ(indices, indices_ref) << "width " << shape.width << " k " << shape.k;

    const HostBuffer dy = random_buffer(dtype, groups, 14);
    HostBuffer dx_ref(dtype, n);
    maxout_backward(x.view(), {}, dy.view(), dx_ref.view(), shape, on(Backend::reference));
    const DeviceBuffer dy_d(dy);
    DeviceBuffer from_x(dtype, n), from_indices(dtype, n);
    maxout_backward(x_d.view(), {}, dy_d.view(), from_x.view(), shape, on(Backend::cuda));
    maxout_backward({}, {thrust::raw_pointer_cast(indices_d.data()), groups}, dy_d.view(), from_indices.view(), shape,
                    on(Backend::cuda));
    synchronize();
    EXPECT_TRUE(from_x.to_host() == dx_ref) << "from x, width " << shape.width;
    EXPECT_TRUE(from_indices.to_host() == dx_ref) << "from indices, width " << shape.width;
  }
}

TEST_P(Structured, GatedInPlaceAndMisalignedViewsMatchTheReference) {
  const DType dtype = GetParam();
  const std::size_t size = dtype_size(dtype);
  // H = 1024 takes the vector path; H = 1027 (odd strides) and a one-element offset the scalar one.
  for (std::int64_t hidden : {1024, 1027}) {
    for (std::int64_t offset : {0, 1}) {
      const std::int64_t rows = 5;
      const HostBuffer projection = random_buffer(dtype, rows * 2 * hidden, 15), dy = random_buffer(dtype, rows * hidden, 16);
      HostBuffer grads_ref(dtype, rows * 2 * hidden);
      auto halves = [&](void* base) {
        auto* p = static_cast<unsigned char*>(base);
        return std::make_pair(MatrixView(p, dtype, rows, hidden, 2 * hidden),
                              MatrixView(p + hidden * size, dtype, rows, hidden, 2 * hidden));
      };
      const auto [gate, up] = halves(const_cast<void*>(projection.data()));
      const auto [dgate_ref, dup_ref] = halves(grads_ref.data());
      gated_backward(Activation::swiglu, gate, up, {dy.data(), dtype, rows, hidden, hidden}, dgate_ref, dup_ref,
                     on(Backend::reference));

      DeviceBuffer io(projection, offset);
      const DeviceBuffer dy_d(dy, offset);
      const auto [gate_d, up_d] = halves(io.data());
      gated_backward(Activation::swiglu, gate_d, up_d, {dy_d.view().data, dtype, rows, hidden, hidden}, gate_d, up_d,
                     on(Backend::cuda));  // in place: the gradients overwrite gate and up
      synchronize();
      EXPECT_TRUE(io.guards_intact());
      std::vector<double> upstream(static_cast<std::size_t>(rows * 2 * hidden));
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < hidden; ++c) {
          upstream[r * 2 * hidden + c] = dy.at(r * hidden + c) * projection.at(r * 2 * hidden + hidden + c);
          upstream[r * 2 * hidden + hidden + c] = dy.at(r * hidden + c);
        }
      }
      const HostBuffer scale(dtype, upstream);
      const HostBuffer got = io.to_host();
      const validation::Comparison c = validation::compare(
          dtype, got.data(), grads_ref.data(), scale.data(), got.count(),
          validation::tolerance(Activation::swiglu, dtype, Pass::backward, Backend::cuda));
      EXPECT_TRUE(c.passed()) << "H " << hidden << " offset " << offset << ": " << c.failures << " off";
    }
  }
}

// Accumulating twice into zeros gives exactly twice one plain call where the compute type is the
// storage type (0 + g = g, then g + g = 2g, both exact): bias, PReLU, gated and Maxout backward.
TEST_P(Structured, AccumulateAddsToEveryGradient) {
  const DType dtype = GetParam();
  if (dtype == DType::f16 || dtype == DType::bf16) GTEST_SKIP() << "exact doubling needs a compute-width store";
  const std::int64_t rows = 300, channels = 77, n = rows * channels;
  const HostBuffer x = random_buffer(dtype, n, 17), b = random_buffer(dtype, channels, 18), dy = random_buffer(dtype, n, 19);
  const DeviceBuffer x_d(x), b_d(b), dy_d(dy);
  Options accumulate = on(Backend::cuda);
  accumulate.accumulate = true;
  // Runs `call(options, outputs...)` once plainly and twice accumulating into zeros.
  auto expect_doubled = [&](const char* what, std::vector<std::int64_t> counts,
                            const std::function<void(const Options&, std::vector<DeviceBuffer>&)>& call) {
    std::vector<DeviceBuffer> once, twice;
    for (std::int64_t count : counts) {
      once.emplace_back(HostBuffer(dtype, count));
      twice.emplace_back(HostBuffer(dtype, count));
    }
    call(on(Backend::cuda), once);
    call(accumulate, twice);
    call(accumulate, twice);
    synchronize();
    for (std::size_t o = 0; o < counts.size(); ++o) {
      const HostBuffer single = once[o].to_host(), doubled = twice[o].to_host();
      for (std::int64_t i = 0; i < counts[o]; ++i) {
        ASSERT_EQ(doubled.at(i), 2 * single.at(i)) << what << " output " << o << " at " << i;
      }
    }
  };
  expect_doubled("bias", {n, channels}, [&](const Options& o, std::vector<DeviceBuffer>& out) {
    backward_bias(Activation::tanh, x_d.view(), b_d.view(), dy_d.view(), out[0].view(), out[1].view(), o);
  });
  expect_doubled("prelu", {n, channels}, [&](const Options& o, std::vector<DeviceBuffer>& out) {
    prelu_backward(x_d.view(), b_d.view(), dy_d.view(), out[0].view(), out[1].view(), {rows, channels, 1}, o);
  });
  expect_doubled("geglu", {n, n}, [&](const Options& o, std::vector<DeviceBuffer>& out) {
    gated_backward(Activation::geglu, {x_d.view().data, dtype, rows, channels, channels},
                   {dy_d.view().data, dtype, rows, channels, channels}, {x_d.view().data, dtype, rows, channels, channels},
                   {out[0].data(), dtype, rows, channels, channels}, {out[1].data(), dtype, rows, channels, channels}, o);
  });
  expect_doubled("maxout", {n}, [&](const Options& o, std::vector<DeviceBuffer>& out) {
    maxout_backward(x_d.view(), {}, {dy_d.view().data, dtype, n / 7}, out[0].view(), {channels, 7}, o);
  });
}

// The cpu backend's fuzz findings, on the device. Gated forward: act(gate) below the smallest
// normal float times a large up keeps the product's precision (in f64 there is no wider type:
// not checked). Accumulating near the top of the range rounds once: dy * f' past the range, added
// to an old value of the other sign, is finite (bias, PReLU and gated backward).
TEST_P(Structured, TinyGatesAndAccumulationNearTheTopMatchTheReference) {
  const DType dtype = GetParam();
  auto matrix = [&](const void* data, std::int64_t n) { return ConstMatrixView(data, dtype, 1, n, n); };
  auto out = [&](void* data, std::int64_t n) { return MatrixView(data, dtype, 1, n, n); };
  if (dtype != DType::f64) {
    const std::vector<double> gates = {1e-40, -3e-42, 1e-44, -88, -95, -103, -110, -12, 0.0, 2.0};
    const auto n = static_cast<std::int64_t>(gates.size());
    const HostBuffer gate(dtype, gates), up(dtype, std::vector<double>(gates.size(), dtype == DType::f16 ? 6e4 : 3e38));
    const DeviceBuffer gate_d(gate), up_d(up);
    for (const ActivationInfo& entry : catalogue(ActivationKind::gated)) {
      HostBuffer want(dtype, n);
      gated_forward(entry.activation, matrix(gate.data(), n), matrix(up.data(), n), out(want.data(), n),
                    on(Backend::reference));
      DeviceBuffer y_d(HostBuffer(dtype, n));
      gated_forward(entry.activation, matrix(gate_d.view().data, n), matrix(up_d.view().data, n), out(y_d.data(), n),
                    on(Backend::cuda));
      synchronize();
      const HostBuffer got = y_d.to_host();
      const validation::Comparison c =
          validation::compare(dtype, got.data(), want.data(), nullptr, n,
                              validation::tolerance(entry.activation, dtype, Pass::forward, Backend::cuda));
      EXPECT_TRUE(c.passed()) << entry.name << " y: " << c.failures << " off, worst at " << c.worst_index;
    }
  }
  const double top = dtype == DType::f16 ? 65504 : dtype == DType::bf16 ? 0x1.fep127
                   : dtype == DType::f32 ? 0x1.fffffep127 : 0x1.fffffffffffffp1023;
  Options accumulate = on(Backend::cuda), reference = on(Backend::reference);
  accumulate.accumulate = reference.accumulate = true;
  const HostBuffer old(dtype, std::vector<double>{-0.75 * top, -0.75 * top}), zeros(dtype, 2);
  const HostBuffer dy(dtype, std::vector<double>{0.6 * top, 0.6 * top});
  // The outputs checked start as `old`; dy times its factor is past the range: 0.6 top x 2 (PReLU's
  // weight for x = -1, reglu's act(gate) = 2 for dup), 0.99 top x 1.05 (selu' at x + b = 2).
  const HostBuffer minus_one(dtype, std::vector<double>{-1, -1}), two(dtype, std::vector<double>{2, 2});
  const HostBuffer w(dtype, std::vector<double>{2}), b(dtype, std::vector<double>{0, 0});
  const HostBuffer big_dy(dtype, std::vector<double>{0.99 * top, 0.99 * top});
  auto check = [&](const char* what, const HostBuffer& got, const HostBuffer& want, const HostBuffer& upstream,
                   Activation judged) {
    EXPECT_TRUE(std::isfinite(got.at(0)) && std::isfinite(got.at(1))) << what << ": " << got.at(0);
    const validation::Comparison c = validation::compare(dtype, got.data(), want.data(), upstream.data(), 2,
                                                         validation::tolerance(judged, dtype, Pass::backward, Backend::cuda));
    EXPECT_TRUE(c.passed()) << what << ": " << c.failures << " off";
  };
  {
    HostBuffer dx_ref = old, dw_ref = zeros;
    prelu_backward(minus_one.view(), w.view(), dy.view(), dx_ref.view(), dw_ref.view(), {1, 1, 2}, reference);
    const DeviceBuffer x_d(minus_one), w_d(w), dy_d(dy);
    DeviceBuffer dx_d(old), dw_d(zeros);
    prelu_backward(x_d.view(), w_d.view(), dy_d.view(), dx_d.view(), dw_d.view(), {1, 1, 2}, accumulate);
    synchronize();
    check("prelu dx", dx_d.to_host(), dx_ref, dy, Activation::leaky_relu);
  }
  {
    HostBuffer dx_ref = old, db_ref = zeros;
    backward_bias(Activation::selu, two.view(), b.view(), big_dy.view(), dx_ref.view(), db_ref.view(), reference);
    const DeviceBuffer x_d(two), b_d(b), dy_d(big_dy);
    DeviceBuffer dx_d(old), db_d(zeros);
    backward_bias(Activation::selu, x_d.view(), b_d.view(), dy_d.view(), dx_d.view(), db_d.view(), accumulate);
    synchronize();
    check("bias dx", dx_d.to_host(), dx_ref, big_dy, Activation::selu);
  }
  {
    const HostBuffer half(dtype, std::vector<double>{0.5, 0.5});
    HostBuffer dgate_ref = old, dup_ref = old;
    gated_backward(Activation::reglu, matrix(two.data(), 2), matrix(half.data(), 2), matrix(dy.data(), 2),
                   out(dgate_ref.data(), 2), out(dup_ref.data(), 2), reference);
    const DeviceBuffer gate_d(two), up_d(half), dy_d(dy);
    DeviceBuffer dgate_d(old), dup_d(old);
    gated_backward(Activation::reglu, matrix(gate_d.view().data, 2), matrix(up_d.view().data, 2),
                   matrix(dy_d.view().data, 2), out(dgate_d.data(), 2), out(dup_d.data(), 2), accumulate);
    synchronize();
    check("reglu dup", dup_d.to_host(), dup_ref, dy, Activation::reglu);
  }
}

// dbias and dweight near the top of the range, as on the CPU backends: added to an old value of
// the other sign (1.3 top - 0.6 top) in double before rounding, and a running total past the top
// (0.9 top + 0.9 top - 0.9 top, one row after another) that ends inside it; in f64 the double
// sums hold such totals because their terms are scaled (math::kSumTermScale).
TEST_P(Structured, SumsNearTheTopAreFinite) {
  const DType dtype = GetParam();
  const double top = dtype == DType::f16 ? 65504 : dtype == DType::bf16 ? 0x1.fep127
                   : dtype == DType::f32 ? 0x1.fffffep127 : 0x1.fffffffffffffp1023;
  const HostBuffer x(dtype, std::vector<double>{-1, -1, -1}), zero(dtype, std::vector<double>{0});
  const HostBuffer w(dtype, std::vector<double>{0.25});
  const DeviceBuffer x_d(x), zero_d(zero), w_d(w);
  Options accumulate = on(Backend::cuda);
  accumulate.accumulate = true;
  struct Sums {
    std::vector<double> dy;
    double old;
    Options options;
  };
  for (const Sums& sums : {Sums{{0.9 * top, 0.9 * top, -0.5 * top}, -0.6 * top, accumulate},
                           Sums{{0.9 * top, 0.9 * top, -0.9 * top}, 0.0, on(Backend::cuda)}}) {
    const HostBuffer dy(dtype, sums.dy), old(dtype, std::vector<double>{sums.old});
    std::vector<double> minus(sums.dy);
    for (double& v : minus) v = -v;
    const DeviceBuffer dy_d(dy), minus_d(HostBuffer(dtype, minus));
    DeviceBuffer dx_d(dtype, 3), db_d(old), dw_d(old);
    backward_bias(Activation::identity, x_d.view(), zero_d.view(), dy_d.view(), dx_d.view(), db_d.view(), sums.options);
    prelu_backward(x_d.view(), w_d.view(), minus_d.view(), dx_d.view(), dw_d.view(), {3, 1, 1}, sums.options);
    synchronize();
    // The exact total, rounded once (in long double the sum of these values is exact).
    const long double total = static_cast<long double>(old.at(0)) + dy.at(0) + dy.at(1) + dy.at(2);
    const double want = HostBuffer(dtype, std::vector<double>{static_cast<double>(total)}).at(0);
    EXPECT_EQ(db_d.to_host().at(0), want) << "dbias, old " << sums.old;
    EXPECT_EQ(dw_d.to_host().at(0), want) << "dweight, old " << sums.old;
  }
}

// In place (dx == dy) gives the bits of the out-of-place call, for bias fusion and PReLU.
TEST_P(Structured, InPlaceMatchesOutOfPlace) {
  const DType dtype = GetParam();
  const std::int64_t rows = 129, channels = 40, n = rows * channels;
  const HostBuffer x = random_buffer(dtype, n, 23), b = random_buffer(dtype, channels, 24), dy = random_buffer(dtype, n, 25);
  const DeviceBuffer x_d(x), b_d(b), dy_d(dy);
  DeviceBuffer dx_d(dtype, n), db_d(dtype, channels), io(dy), db_io(dtype, channels);
  backward_bias(Activation::mish, x_d.view(), b_d.view(), dy_d.view(), dx_d.view(), db_d.view(), on(Backend::cuda));
  backward_bias(Activation::mish, x_d.view(), b_d.view(), io.view(), io.view(), db_io.view(), on(Backend::cuda));
  synchronize();
  EXPECT_TRUE(io.to_host() == dx_d.to_host() && db_io.to_host() == db_d.to_host()) << "bias";
  DeviceBuffer prelu_io(dy), dw_io(dtype, channels);
  prelu_backward(x_d.view(), b_d.view(), dy_d.view(), dx_d.view(), db_d.view(), {rows, channels, 1}, on(Backend::cuda));
  prelu_backward(x_d.view(), b_d.view(), prelu_io.view(), prelu_io.view(), dw_io.view(), {rows, channels, 1}, on(Backend::cuda));
  synchronize();
  EXPECT_TRUE(prelu_io.to_host() == dx_d.to_host() && dw_io.to_host() == db_d.to_host()) << "prelu";
}

INSTANTIATE_TEST_SUITE_P(Cuda, Structured, ::testing::ValuesIn(testing::all_dtypes()), dtype_case_name);

// The workspace of a reduction is stream-ordered (cudaMallocAsync), so a backward pass with a
// bias gradient can be captured into a CUDA graph and replayed.
TEST_F(CudaTest, BiasBackwardInAGraph) {
  const std::int64_t rows = 1000, channels = 96, n = rows * channels;
  const HostBuffer x = random_buffer(DType::f32, n, 20), b = random_buffer(DType::f32, channels, 21);
  const HostBuffer dy = random_buffer(DType::f32, n, 22);
  const BiasRun direct = bias_backward_on_device(Activation::gelu, x, b, dy, 0);
  const DeviceBuffer x_d(x), b_d(b), dy_d(dy);
  DeviceBuffer dx_d(DType::f32, n), db_d(DType::f32, channels);
  const Stream stream;
  Options options = on(Backend::cuda);
  options.stream = stream.get();
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaSuccess, cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeThreadLocal));
  backward_bias(Activation::gelu, x_d.view(), b_d.view(), dy_d.view(), dx_d.view(), db_d.view(), options);
  ASSERT_EQ(cudaSuccess, cudaStreamEndCapture(stream.get(), &graph));
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaSuccess, cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 2; ++i) ASSERT_EQ(cudaSuccess, cudaGraphLaunch(exec, stream.get()));
  ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream.get()));
  EXPECT_TRUE(dx_d.to_host() == direct.dx);
  EXPECT_TRUE(db_d.to_host() == direct.dbias);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

// 8 host threads, each on a stream of its own, run bias, PReLU and gated backward at once, 8
// times each; the first two take their reductions' workspace from the pool that every stream of
// the device shares. Every result has the bits of the same call made serially on the default
// stream.
TEST_F(CudaTest, EightThreadsOnTheirOwnStreamsMatchSerialCalls) {
  constexpr int kThreads = 8;
  constexpr std::int64_t rows = 256, channels = 2048, n = rows * channels;
  struct Job {
    int kind;
    DeviceBuffer x, parameter, dy;
  };
  std::vector<Job> jobs;
  for (int t = 0; t < kThreads; ++t) {
    const DType d = testing::all_dtypes()[t % 2];  // kind and dtype repeat: streams share kernels
    jobs.push_back({t % 3, DeviceBuffer(random_buffer(d, n, 10 + t)), DeviceBuffer(random_buffer(d, channels, 20 + t)),
                    DeviceBuffer(random_buffer(d, n, 30 + t))});
  }
  // One call of a job on `stream`, waited for: the outputs (dx or dgate, then dbias, dweight or dup).
  auto run = [&](const Job& j, cudaStream_t stream) {
    const DType d = j.x.view().dtype;
    Options options = on(Backend::cuda);
    options.stream = stream;
    DeviceBuffer first(d, n), second(d, j.kind == 2 ? n : channels);
    if (j.kind == 0) {
      backward_bias(Activation::gelu, j.x.view(), j.parameter.view(), j.dy.view(), first.view(), second.view(), options);
    } else if (j.kind == 1) {
      prelu_backward(j.x.view(), j.parameter.view(), j.dy.view(), first.view(), second.view(), {rows, channels, 1},
                     options);
    } else {
      const std::int64_t h = channels;
      gated_backward(Activation::swiglu, {j.x.view().data, d, rows, h, h}, {j.dy.view().data, d, rows, h, h},
                     {j.x.view().data, d, rows, h, h}, {first.data(), d, rows, h, h}, {second.data(), d, rows, h, h},
                     options);
    }
    EXPECT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
    return std::vector<HostBuffer>{first.to_host(), second.to_host()};
  };
  std::vector<std::vector<HostBuffer>> serial;
  for (const Job& j : jobs) serial.push_back(run(j, nullptr));
  std::vector<std::vector<std::vector<HostBuffer>>> concurrent(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Stream stream;
      for (int repeat = 0; repeat < 8; ++repeat) concurrent[t].push_back(run(jobs[t], stream.get()));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (const std::vector<HostBuffer>& outputs : concurrent[t]) {
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        EXPECT_TRUE(outputs[o] == serial[t][o]) << "thread " << t << " (kind " << jobs[t].kind << ") output " << o;
      }
    }
  }
}

TEST_F(CudaTest, MaxoutIndexOutsideTheGroupRoutesNothing) {
  const HostBuffer dy(DType::f32, std::vector<double>{5.0, 7.0});
  const std::vector<std::int32_t> indices = {1, 9};
  thrust::device_vector<std::int32_t> indices_d(indices.begin(), indices.end());
  const DeviceBuffer dy_d(dy);
  DeviceBuffer dx_d(DType::f32, 6);
  maxout_backward({}, {thrust::raw_pointer_cast(indices_d.data()), 2}, dy_d.view(), dx_d.view(), {3, 3}, on(Backend::cuda));
  synchronize();
  const HostBuffer dx = dx_d.to_host();
  const double want[] = {0, 5, 0, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(dx.at(i), want[i]) << i;
}

}  // namespace
}  // namespace actk
