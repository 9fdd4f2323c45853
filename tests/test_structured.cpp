// The structured activations (PReLU, Maxout, the gated family, bias fusion) on the CPU backends:
// the reference against finite differences and direct formulas, the cpu backend against the
// reference, deterministic reductions (run to run and across thread counts), layouts, in place,
// and every error case with a canary.
#include <omp.h>

#include <algorithm>
#include <array>
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

using testing::on;
using testing::random_buffer;

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
    // Past kGrainElements per thread: the forward's threads split a row mid-channel-run
    // (channels last) or a channel's stretch mid-way (inner > 1).
    {{301, 257, 1}, true},
    {{5, 3, 9001}, true},
    // f16/bf16 run through f32 copies of 1024 elements: row blocks (16 rows or more) whose rows
    // take several copies, channels last, with one weight per channel and with a shared one.
    {{17, 2500, 1}, true},
    {{17, 2500, 1}, false},
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
    // Accumulating into old dx and dweight values: each dx rounds once, each sum adds the old value.
    Options accumulate = on(backend()), accumulate_ref = on(Backend::reference);
    accumulate.accumulate = accumulate_ref.accumulate = true;
    HostBuffer dx_acc = random_buffer(dtype(), n, 4), dw_acc = random_buffer(dtype(), weights, 5);
    HostBuffer dx_acc_ref = dx_acc, dw_acc_ref = dw_acc;
    for (std::int64_t c = 0; c < weights; ++c) sum_abs[c] += std::fabs(dw_acc.at(c));
    prelu_backward(x.view(), w.view(), dy.view(), dx_acc.view(), dw_acc.view(), pc.shape, accumulate);
    prelu_backward(x.view(), w.view(), dy.view(), dx_acc_ref.view(), dw_acc_ref.view(), pc.shape, accumulate_ref);
    expect_agree(dx_acc, dx_acc_ref, &dy, Activation::leaky_relu, Pass::backward, backend(), "prelu dx, accumulating");
    expect_sums_agree(dw_acc, dw_acc_ref, sum_abs, n / weights + 1, "prelu dweight, accumulating");
  }
}

TEST_P(Structured, ReductionsOverNoRows) {
  // No rows (the fuzzer's findings): dweight and dbias are sums of no terms, 0, or unchanged when
  // accumulating, also when x, dy and dx are null empty views. The backends took a null dx (dy)
  // for a forward call and wrote no sums; and the cpu backend's row split divided by the row
  // count when there was an inner axis (undefined behaviour: the sanitize preset reports it).
  const HostBuffer w = random_buffer(dtype(), 3, 17);
  // The last old value is the type's smallest subnormal: f64 sums that scaled the old value with
  // their terms (kSumTermScale) lost it.
  const double tiny = dtype() == DType::f16 ? 0x1p-24 : dtype() == DType::bf16 ? 0x1p-133
                    : dtype() == DType::f32 ? 0x1p-149 : 0x1p-1074;
  const HostBuffer old(dtype(), std::vector<double>{1.5, -2.0, tiny}), zeros(dtype(), 3);
  Options accumulate = on(backend());
  accumulate.accumulate = true;
  const ConstTensorView none(nullptr, dtype(), 0);
  const TensorView none_out(nullptr, dtype(), 0);
  HostBuffer scratch(dtype(), 24), grad(dtype(), 24);
  for (const Options& options : {on(backend()), accumulate}) {
    const HostBuffer& want = options.accumulate ? old : zeros;
    for (const bool null_views : {true, false}) {
      const ConstTensorView x = null_views ? none : ConstTensorView(scratch.data(), dtype(), 0);
      const TensorView dx = null_views ? none_out : TensorView(grad.data(), dtype(), 0);
      const std::string what = std::string(options.accumulate ? "accumulating" : "overwriting") +
                               (null_views ? ", null views" : ", empty views");
      HostBuffer dw = old;
      prelu_backward(x, w.view(), x, dx, dw.view(), {0, 3, 4}, options);
      EXPECT_TRUE(dw == want) << "prelu dweight, " << what;
      HostBuffer db = old;
      backward_bias(Activation::gelu, x, w.view(), x, dx, db.view(), options);
      EXPECT_TRUE(db == want) << "dbias, " << what;
      // No elements, a huge channel count and one weight: the backends looped over rows x
      // channels (2^42 iterations of nothing), and the cpu backend allocated per-channel sums.
      for (const PreluShape& huge : {PreluShape{4, std::int64_t{1} << 40, 0}, PreluShape{0, std::int64_t{1} << 40, 4}}) {
        HostBuffer dw1(dtype(), std::vector<double>{1.5});
        prelu_backward(x, ConstTensorView(w.data(), dtype(), 1), x, dx, dw1.view(), huge, options);
        EXPECT_EQ(dw1.at(0), options.accumulate ? 1.5 : 0.0) << "prelu dweight, huge empty shape, " << what;
      }
    }
  }
}

TEST_P(Structured, AccumulatedSumsAreAddedBeforeRounding) {
  // The fuzzer's findings: the cpu backend rounded dbias and dweight (sums formed in double) to the
  // compute type before adding the old value: 1.3 x the largest f32 added to -0.6 x it gave inf;
  // in f64 the double running sum itself overflowed (until terms were scaled, kSumTermScale).
  const double top = dtype() == DType::f16 ? 65504 : dtype() == DType::bf16 ? 0x1.fep127
                   : dtype() == DType::f32 ? 0x1.fffffep127 : 0x1.fffffffffffffp1023;
  Options accumulate = on(backend());
  accumulate.accumulate = true;
  const HostBuffer x(dtype(), std::vector<double>{-1, -1, -1}), zero(dtype(), std::vector<double>{0});
  const HostBuffer dy(dtype(), std::vector<double>{0.9 * top, 0.9 * top, -0.5 * top});
  const HostBuffer old(dtype(), std::vector<double>{-0.6 * top}), w(dtype(), std::vector<double>{0.25});
  const std::vector<double> sum_abs = {2.3 * top};
  HostBuffer dx(dtype(), 3), dx_ref(dtype(), 3), db = old, db_ref = old;
  backward_bias(Activation::identity, x.view(), zero.view(), dy.view(), dx.view(), db.view(), accumulate);
  Options reference = accumulate;
  reference.backend = Backend::reference;
  backward_bias(Activation::identity, x.view(), zero.view(), dy.view(), dx_ref.view(), db_ref.view(), reference);
  EXPECT_TRUE(std::isfinite(db.at(0))) << db.at(0);
  expect_sums_agree(db, db_ref, sum_abs, 3, "dbias");
  HostBuffer dw = old, dw_ref = old;
  const HostBuffer minus_dy(dtype(), std::vector<double>{-0.9 * top, -0.9 * top, 0.5 * top});
  prelu_backward(x.view(), w.view(), minus_dy.view(), dx.view(), dw.view(), {1, 1, 3}, accumulate);
  prelu_backward(x.view(), w.view(), minus_dy.view(), dx_ref.view(), dw_ref.view(), {1, 1, 3}, reference);
  EXPECT_TRUE(std::isfinite(dw.at(0))) << dw.at(0);
  expect_sums_agree(dw, dw_ref, sum_abs, 3, "dweight");
}

TEST_P(Structured, SumsWhoseRunningTotalPassesTheTopAreFinite) {
  // 0.9 top + 0.9 top - 0.9 top, in that order (one row after another): 0.9 top, where a running
  // sum in the storage type would be inf (in f64 the double sums need kSumTermScale).
  const double top = dtype() == DType::f16 ? 65504 : dtype() == DType::bf16 ? 0x1.fep127
                   : dtype() == DType::f32 ? 0x1.fffffep127 : 0x1.fffffffffffffp1023;
  const HostBuffer x(dtype(), std::vector<double>{-1, -1, -1}), zero(dtype(), std::vector<double>{0});
  const HostBuffer w(dtype(), std::vector<double>{0.25});
  const HostBuffer dy(dtype(), std::vector<double>{0.9 * top, 0.9 * top, -0.9 * top});
  const HostBuffer minus_dy(dtype(), std::vector<double>{-0.9 * top, -0.9 * top, 0.9 * top});
  const double want = HostBuffer(dtype(), std::vector<double>{0.9 * top}).at(0);
  HostBuffer dx(dtype(), 3), db(dtype(), 1), dw(dtype(), 1);
  backward_bias(Activation::identity, x.view(), zero.view(), dy.view(), dx.view(), db.view(), on(backend()));
  prelu_backward(x.view(), w.view(), minus_dy.view(), dx.view(), dw.view(), {3, 1, 1}, on(backend()));
  EXPECT_EQ(db.at(0), want);
  EXPECT_EQ(dw.at(0), want);
}

TEST_P(Structured, AccumulatedGradientsRoundOnce) {
  // The fuzzer's finding: the cpu backend's structured calls formed dy * f' (dy * w, dy * act) in
  // the compute type and then added the old dx, where the elementwise kernels fma: a product past
  // the range, added to an old value of the other sign, gave inf for a finite result.
  const double top = dtype() == DType::f16 ? 65504 : dtype() == DType::bf16 ? 0x1.fep127
                   : dtype() == DType::f32 ? 0x1.fffffep127 : 0x1.fffffffffffffp1023;
  Options accumulate = on(backend()), reference = on(Backend::reference);
  accumulate.accumulate = reference.accumulate = true;
  const HostBuffer old(dtype(), std::vector<double>{-0.75 * top, -0.75 * top});
  auto agree = [&](const HostBuffer& got, const HostBuffer& want, const HostBuffer& dy, Activation judged,
                   const std::string& what) {
    EXPECT_TRUE(std::isfinite(got.at(0)) && std::isfinite(got.at(1))) << what << ": " << got.at(0) << " " << got.at(1);
    expect_agree(got, want, &dy, judged, Pass::backward, backend(), what);
  };
  // Bias: selu' = 1.0507 for x > 0.
  const HostBuffer x(dtype(), std::vector<double>{1, 2}), b(dtype(), std::vector<double>{0, 0});
  const HostBuffer dy(dtype(), std::vector<double>{0.99 * top, 0.99 * top});
  HostBuffer dx = old, dx_ref = old, db(dtype(), 2), db_ref(dtype(), 2);
  backward_bias(Activation::selu, x.view(), b.view(), dy.view(), dx.view(), db.view(), accumulate);
  backward_bias(Activation::selu, x.view(), b.view(), dy.view(), dx_ref.view(), db_ref.view(), reference);
  agree(dx, dx_ref, dy, Activation::selu, "bias dx");
  // PReLU: dy * w with w = 2 for x <= 0.
  const HostBuffer negative(dtype(), std::vector<double>{-1, -2}), w(dtype(), std::vector<double>{2});
  const HostBuffer half(dtype(), std::vector<double>{0.6 * top, 0.6 * top});
  HostBuffer px = old, px_ref = old, dw(dtype(), 1), dw_ref(dtype(), 1);
  prelu_backward(negative.view(), w.view(), half.view(), px.view(), dw.view(), {1, 1, 2}, accumulate);
  prelu_backward(negative.view(), w.view(), half.view(), px_ref.view(), dw_ref.view(), {1, 1, 2}, reference);
  agree(px, px_ref, half, Activation::leaky_relu, "prelu dx");
  // Gated: dup = dy * act(gate) with act(gate) = 2 (reglu).
  const HostBuffer gate(dtype(), std::vector<double>{2, 2}), up(dtype(), std::vector<double>{0.5, 0.5});
  HostBuffer dgate = old, dup = old, dgate_ref = old, dup_ref = old;
  auto view = [&](const HostBuffer& m) { return ConstMatrixView(m.data(), dtype(), 1, 2, 2); };
  auto out = [&](HostBuffer& m) { return MatrixView(m.data(), dtype(), 1, 2, 2); };
  gated_backward(Activation::reglu, view(gate), view(up), view(half), out(dgate), out(dup), accumulate);
  gated_backward(Activation::reglu, view(gate), view(up), view(half), out(dgate_ref), out(dup_ref), reference);
  agree(dup, dup_ref, half, Activation::reglu, "reglu dup");
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

std::vector<Activation> gated_entries() {
  std::vector<Activation> entries;
  for (const ActivationInfo& entry : catalogue(ActivationKind::gated)) entries.push_back(entry.activation);
  return entries;
}
const std::vector<Activation> kGated = gated_entries();

// GPT-OSS's swiglu (gpt_oss/torch/model.py): the gate clamped above at limit, up to [-limit,
// limit], out = gate sigma(alpha gate) (up + 1); autograd's gradients through torch.clamp are 0
// where a clamp binds and pass on its bounds. Without the clamps (limit = inf) and with up as the
// factor (shift = 0) it is quick_geglu, SwiGLU with a scaled gate. In long double: alpha gate
// rounded in double would cost |alpha gate| ulp in e^(alpha gate), 50 at gate = -30.
struct ScaledSwiglu {
  using R = long double;
  R alpha = 1.702, limit = 7.0, shift = 1;
  static R sigmoid(R v) { return 1 / (1 + std::exp(-v)); }
  double y(R gate, R up) const {
    const R g = std::min(gate, limit), u = std::clamp(up, -limit, limit);
    return static_cast<double>(g * sigmoid(alpha * g) * (u + shift));
  }
  double dgate(R gate, R up, R dy) const {
    if (gate > limit) return 0;
    const R s = sigmoid(alpha * gate), u = std::clamp(up, -limit, limit);
    return static_cast<double>(dy * (u + shift) * (s + alpha * gate * s * (1 - s)));
  }
  double dup(R gate, R up, R dy) const {
    if (up > limit || up < -limit) return 0;
    const R g = std::min(gate, limit);
    return static_cast<double>(dy * g * sigmoid(alpha * g));
  }
};

// `activation` (swiglu_clamped or quick_geglu) against ScaledSwiglu at sigmoid_scale alpha and,
// for swiglu_clamped, `limit`; returns y, dgate and dup. Judged by the cpu backend's bounds on
// every backend: the formula is a second evaluation.
std::array<HostBuffer, 3> expect_scaled_swiglu(Activation activation, const HostBuffer& gate, const HostBuffer& up,
                                               const HostBuffer& dy, double alpha, double limit, Options options) {
  const DType dtype = gate.dtype();
  const bool clamped = info(activation).uses(Param::limit);
  options.params.sigmoid_scale = alpha;
  options.params.limit = limit;
  // The formula at the parameters the call computes with (rounded to f32 for f32/f16/bf16).
  const ActivationParams computed = params_for_compute(options.params, dtype);
  const ScaledSwiglu formula{computed.sigmoid_scale, clamped ? computed.limit : INFINITY, clamped ? 1.0 : 0.0};
  const std::int64_t n = gate.count();
  std::vector<double> y_want(n), dgate_want(n), dup_want(n), upstream(n);
  for (std::int64_t i = 0; i < n; ++i) {
    y_want[i] = formula.y(gate.at(i), up.at(i));
    dgate_want[i] = formula.dgate(gate.at(i), up.at(i), dy.at(i));
    dup_want[i] = formula.dup(gate.at(i), up.at(i), dy.at(i));
    upstream[i] = dy.at(i) * static_cast<double>(std::clamp<long double>(up.at(i), -formula.limit, formula.limit) + formula.shift);
  }
  auto view = [&](const HostBuffer& b) { return ConstMatrixView(b.data(), dtype, 1, n, n); };
  auto out = [&](HostBuffer& b) { return MatrixView(b.data(), dtype, 1, n, n); };
  std::array<HostBuffer, 3> got{HostBuffer(dtype, n), HostBuffer(dtype, n), HostBuffer(dtype, n)};
  gated_forward(activation, view(gate), view(up), out(got[0]), options);
  gated_backward(activation, view(gate), view(up), view(dy), out(got[1]), out(got[2]), options);
  const std::string what = std::string(activation_name(activation)) + ", alpha " + std::to_string(alpha) +
                           (clamped ? ", limit " + std::to_string(limit) : "");
  expect_agree(got[0], HostBuffer(dtype, y_want), nullptr, activation, Pass::forward, Backend::cpu, what + " y");
  const HostBuffer upstream_scale(dtype, upstream);
  expect_agree(got[1], HostBuffer(dtype, dgate_want), &upstream_scale, activation, Pass::backward, Backend::cpu,
               what + " dgate");
  expect_agree(got[2], HostBuffer(dtype, dup_want), &dy, activation, Pass::backward, Backend::cpu, what + " dup");
  for (std::int64_t i = 0; i < n && clamped; ++i) {
    if (gate.at(i) > computed.limit) EXPECT_EQ(got[1].at(i), 0.0) << what << ", gate " << gate.at(i);
    if (std::fabs(up.at(i)) > computed.limit) EXPECT_EQ(got[2].at(i), 0.0) << what << ", up " << up.at(i);
  }
  return got;
}

// Gates and ups on both sides of swiglu_clamped's clamps and on them (±7 pass the gradient).
const std::vector<double> kScaledGates = {-30, -9, -7, -3.5, -1, -0.25, 0, 0.5, 2.5, 3, 6.99, 7, 7.01, 12, 300};
const std::vector<double> kScaledUps = {-40, -7.5, -7, -2.5, -1, 0, 0.75, 1, 2.5, 2.6, 6, 7, 8, 60, -0.5};

TEST_P(Structured, SwigluClampedFollowsGptOss) {
  // At the defaults and with alpha = 1, limit = 2.5.
  const HostBuffer gate(dtype(), kScaledGates), up(dtype(), kScaledUps);
  const HostBuffer dy = random_buffer(dtype(), gate.count(), 21);
  for (const auto& [alpha, limit] : {std::pair{1.702, 7.0}, std::pair{1.0, 2.5}}) {
    expect_scaled_swiglu(Activation::swiglu_clamped, gate, up, dy, alpha, limit, on(backend()));
  }
}

TEST_P(Structured, QuickGegluIsSwigluWithAScaledGate) {
  const HostBuffer gate(dtype(), kScaledGates), up(dtype(), kScaledUps);
  const HostBuffer dy = random_buffer(dtype(), gate.count(), 22);
  for (const double alpha : {1.702, 0.5, 1.0}) {
    const std::array<HostBuffer, 3> got = expect_scaled_swiglu(Activation::quick_geglu, gate, up, dy, alpha, 7.0, on(backend()));
    if (alpha != 1.0) continue;
    // At alpha = 1 it is swiglu's formula (silu's math path gives the other evaluation).
    const std::int64_t n = gate.count();
    auto view = [&](const HostBuffer& b) { return ConstMatrixView(b.data(), dtype(), 1, n, n); };
    auto out = [&](HostBuffer& b) { return MatrixView(b.data(), dtype(), 1, n, n); };
    HostBuffer y(dtype(), n), dgate(dtype(), n), dup(dtype(), n);
    gated_forward(Activation::swiglu, view(gate), view(up), out(y), on(backend()));
    gated_backward(Activation::swiglu, view(gate), view(up), view(dy), out(dgate), out(dup), on(backend()));
    std::vector<double> upstream_values(n);
    for (std::int64_t i = 0; i < n; ++i) upstream_values[i] = dy.at(i) * up.at(i);
    const HostBuffer upstream(dtype(), upstream_values);
    expect_agree(got[0], y, nullptr, Activation::quick_geglu, Pass::forward, Backend::cpu, "alpha 1 vs swiglu y");
    expect_agree(got[1], dgate, &upstream, Activation::quick_geglu, Pass::backward, Backend::cpu, "alpha 1 vs swiglu dgate");
    expect_agree(got[2], dup, &dy, Activation::quick_geglu, Pass::backward, Backend::cpu, "alpha 1 vs swiglu dup");
  }
}

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

TEST_P(Structured, GatedGateGradientIsFiniteWhereItsProductIs) {
  // The fuzzer's finding: the f32 kernels' act' far in a gate's negative tail is a stand-in within
  // the contract's absolute floor (silu' = -1.4e-36 for every gate below -87, where the true value
  // underflows), and dy * up, up to 1e77, made dgate = -inf of it where the product is finite (0).
  const double top = dtype() == DType::f16 ? 65504 : dtype() == DType::f64 ? 1e300 : 3e38;
  const std::vector<double> gates = {-top, -1e4, -200, -104, -95, -88, -86, -20, -1, 0.5, 3};
  const std::int64_t n = static_cast<std::int64_t>(gates.size());
  const HostBuffer gate(dtype(), gates);
  const HostBuffer up(dtype(), std::vector<double>(gates.size(), -top / 2)), dy(dtype(), std::vector<double>(gates.size(), -top));
  std::vector<double> upstream(gates.size());
  for (std::int64_t i = 0; i < n; ++i) upstream[i] = dy.at(i) * up.at(i);
  const HostBuffer scale(dtype(), upstream);
  for (Activation a : kGated) {
    HostBuffer dgate(dtype(), n), dup(dtype(), n), dgate_ref(dtype(), n), dup_ref(dtype(), n);
    auto view = [&](const HostBuffer& b) { return ConstMatrixView(b.data(), dtype(), 1, n, n); };
    auto out = [&](HostBuffer& b) { return MatrixView(b.data(), dtype(), 1, n, n); };
    gated_backward(a, view(gate), view(up), view(dy), out(dgate), out(dup), on(backend()));
    gated_backward(a, view(gate), view(up), view(dy), out(dgate_ref), out(dup_ref), on(Backend::reference));
    expect_agree(dgate, dgate_ref, &scale, a, Pass::backward, backend(), std::string(activation_name(a)) + " dgate");
    expect_agree(dup, dup_ref, &dy, a, Pass::backward, backend(), std::string(activation_name(a)) + " dup");
  }
  // Accumulating: the stand-in times dy * up stays finite (-2e38) but takes the sum with the old
  // dgate (-1.7e38) past the range.
  if (dtype() != DType::f32 && dtype() != DType::bf16) return;
  const HostBuffer factor(dtype(), std::vector<double>(gates.size(), 1.2e37));
  const HostBuffer old(dtype(), std::vector<double>(gates.size(), -1.7e38));
  for (std::int64_t i = 0; i < n; ++i) upstream[i] = factor.at(i) * factor.at(i);
  const HostBuffer factor_scale(dtype(), upstream);
  Options accumulate = on(backend()), reference = on(Backend::reference);
  accumulate.accumulate = reference.accumulate = true;
  for (Activation a : kGated) {
    HostBuffer dgate = old, dup = old, dgate_ref = old, dup_ref = old;
    auto view = [&](const HostBuffer& b) { return ConstMatrixView(b.data(), dtype(), 1, n, n); };
    auto out = [&](HostBuffer& b) { return MatrixView(b.data(), dtype(), 1, n, n); };
    gated_backward(a, view(gate), view(factor), view(factor), out(dgate), out(dup), accumulate);
    gated_backward(a, view(gate), view(factor), view(factor), out(dgate_ref), out(dup_ref), reference);
    expect_agree(dgate, dgate_ref, &factor_scale, a, Pass::backward, backend(),
                 std::string(activation_name(a)) + " dgate, accumulating");
  }
  // The fuzzer's finding, in place (dgate over gate): bf16 data computes in f32, where the stand-in
  // times dy * up plus the old dgate is finite (past bf16's range, not f32's); stored, it was -inf
  // for a dgate that is the old value (act' of a gate of 1.9e38 is 0).
  const HostBuffer huge_gate(dtype(), std::vector<double>{0x1.1cp127}), huge_up(dtype(), std::vector<double>{-0x1p127});
  for (Activation a : kGated) {
    HostBuffer dgate = huge_gate, dup = huge_up, dgate_ref = huge_gate, dup_ref = huge_up;
    auto out = [&](HostBuffer& b) { return MatrixView(b.data(), dtype(), 1, 1, 1); };
    gated_backward(a, out(dgate), out(dup), {huge_gate.data(), dtype(), 1, 1, 1}, out(dgate), out(dup), accumulate);
    gated_backward(a, {huge_gate.data(), dtype(), 1, 1, 1}, {huge_up.data(), dtype(), 1, 1, 1},
                   {huge_gate.data(), dtype(), 1, 1, 1}, out(dgate_ref), out(dup_ref), reference);
    const HostBuffer scale(dtype(), std::vector<double>{huge_gate.at(0) * huge_up.at(0)});
    expect_agree(dgate, dgate_ref, &scale, a, Pass::backward, backend(),
                 std::string(activation_name(a)) + " dgate, in place, accumulating");
  }
}

TEST_P(Structured, GatedOutputIsAccurateWhereTheGateIsTiny) {
  // The fuzzer's finding: act(gate) below the smallest normal value of the compute type (subnormal,
  // or 0 where it underflows) times a large up lost the product's precision (geglu in f64 at
  // gate = 1e-309, up = 1e289: 28 ulp off), or all of it (swiglu at gate = -110, up = 1e38: 0).
  // The review's findings: act(gate) normal but a factor of it subnormal (silu = gate e^gate at
  // gate = -91.75: 52 ulp off in the portable kernels), and an infinite up, where the reference's
  // product is infinite and act(gate) rounded to 0 made it NaN.
  const bool f64 = dtype() == DType::f64;
  const double up_value = dtype() == DType::f16 ? 6e4 : f64 ? 1e300 : 3e38;
  const std::vector<double> gates =
      f64 ? std::vector<double>{1e-309, -1e-310, 3e-320, -700, -705, -709, -745, -30, -37.7, 0.0, 2.0}
          : std::vector<double>{1e-40, -3e-42, 1e-44, -88, -89.5, -91, -91.75, -95, -103, -110, -10.1, -12, 0.0, 2.0};
  const std::int64_t n = static_cast<std::int64_t>(gates.size());
  const HostBuffer gate(dtype(), gates);
  for (const double u : {up_value, -up_value, static_cast<double>(INFINITY)}) {
    const HostBuffer up(dtype(), std::vector<double>(gates.size(), u));
    for (Activation a : kGated) {
      HostBuffer y(dtype(), n), y_ref(dtype(), n);
      gated_forward(a, {gate.data(), dtype(), 1, n, n}, {up.data(), dtype(), 1, n, n}, {y.data(), dtype(), 1, n, n},
                    on(backend()));
      gated_forward(a, {gate.data(), dtype(), 1, n, n}, {up.data(), dtype(), 1, n, n},
                    {y_ref.data(), dtype(), 1, n, n}, on(Backend::reference));
      expect_agree(y, y_ref, nullptr, a, Pass::forward, backend(),
                   std::string(activation_name(a)) + " y, up " + std::to_string(u));
    }
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

TEST_P(Structured, BiasBackwardInPlaceWhereATermPassesTheRange) {
  // The fuzzer's findings: relu_squared's f'(z) = 2z past the range (z near the top) in place.
  // With dx over dy the cpu backend read dy again after writing dx over it; with dx over x it
  // formed z again from x after writing dx over it. Either way the wider slow path saw the new dx:
  // NaN for dx = 0 + 0 * 2z (the reference's 0, or x when accumulating) and the rounded infinite
  // term in the sums.
  const bool f64 = dtype() == DType::f64;
  const double top = dtype() == DType::f16 ? 6e4 : f64 ? 1e308 : 3e38;
  const std::int64_t channels = 3, rows = 4, n = rows * channels;
  const std::vector<double> small = {1e-39, 0.5, -1, 1e-40, 2, 0.25, 0, -3, 1, 1e-39, 0.5, 4};
  std::vector<double> near_top(small.size());  // the same z with the top in x, not in the bias
  for (std::size_t i = 0; i < small.size(); ++i) near_top[i] = small[i] + (i % 3 == 0 ? top : i % 3 == 1 ? 0.5 * top : 0);
  const HostBuffer dy(dtype(), {0, 0.25, -0.5, 0.25, 0, 1, -0.5, -0.25, 2, 0, 0.125, -1});
  for (const bool over_dy : {true, false}) {
    const HostBuffer x(dtype(), over_dy ? small : near_top);
    const HostBuffer b(dtype(), over_dy ? std::vector<double>{top, 0.5 * top, -0.5} : std::vector<double>{0, 0, -0.5});
    for (const bool accumulate : {false, true}) {
      Options options = on(backend()), reference = on(Backend::reference);
      options.accumulate = reference.accumulate = accumulate;
      HostBuffer grad = over_dy ? dy : x, db(dtype(), std::vector<double>(channels, 0.0));
      HostBuffer dx_ref = grad, db_ref = db;
      backward_bias(Activation::relu_squared, (over_dy ? x : grad).view(), b.view(), (over_dy ? grad : dy).view(), grad.view(),
                    db.view(), options);
      backward_bias(Activation::relu_squared, x.view(), b.view(), dy.view(), dx_ref.view(), db_ref.view(), reference);
      const std::string what = std::string(over_dy ? "dx over dy, " : "dx over x, ") + (accumulate ? "accumulate" : "overwrite");
      expect_agree(grad, dx_ref, &dy, Activation::relu_squared, Pass::backward, backend(), what + " dx");
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

TEST(StructuredSums, ManyChannelsKeepOnePartialSumPerChannel) {
  // The review's finding: with few rows and many channels the cpu backend split the channels into
  // 64 blocks but gave every block partial sums for all channels, 64 x 8 bytes per channel: 64 GiB
  // here (bad_alloc), for 768 MiB of f16 data. Each block now keeps sums for its own channels.
  const std::int64_t channels = std::int64_t{1} << 27;
  std::vector<Half> x(static_cast<std::size_t>(channels), half_from_double(-1)), grad(x.size(), half_from_double(0.5));
  std::vector<Half> parameter(x.size(), half_from_double(0.25)), sums(x.size());
  const Options cpu = on(Backend::cpu);
  backward_bias(Activation::relu, ConstTensorView(x.data(), channels), ConstTensorView(parameter.data(), channels),
                ConstTensorView(grad.data(), channels), TensorView(grad.data(), channels),
                TensorView(sums.data(), channels), cpu);
  EXPECT_EQ(to_float(sums[0]), 0.0f);  // relu'(-1 + 0.25) = 0
  EXPECT_EQ(to_float(sums[channels - 1]), 0.0f);
  std::vector<Half> dy(x.size(), half_from_double(0.5));
  prelu_backward(ConstTensorView(x.data(), channels), ConstTensorView(parameter.data(), channels),
                 ConstTensorView(dy.data(), channels), TensorView(grad.data(), channels),
                 TensorView(sums.data(), channels), {1, channels, 1}, cpu);
  EXPECT_EQ(to_float(sums[0]), -0.5f);  // dy x
  EXPECT_EQ(to_float(sums[channels - 1]), -0.5f);
  EXPECT_EQ(to_float(grad[channels - 1]), 0.125f);  // dy w
}

TEST(StructuredSums, InfinityIsOneUlpPastTheLargestFiniteValue) {
  // The fuzzer's findings in compare_sums: a cpu dbias that rounded past the top of bf16's range
  // (-inf where the reference's sum rounded to the largest finite value: 1 ulp, as compare()
  // counts it) failed, and a non-finite mismatch left worst_index at -1.
  const HostBuffer top(DType::bf16, std::vector<double>{1.0, -0x1.fep127});
  const HostBuffer inf(DType::bf16, std::vector<double>{1.0, -INFINITY}), nan(DType::bf16, std::vector<double>{1.0, NAN});
  const std::vector<double> sum_abs = {1.0, 0x1.fep127};
  EXPECT_TRUE(validation::compare_sums(DType::bf16, inf.data(), top.data(), sum_abs, 2, 1).passed());
  const validation::Comparison c = validation::compare_sums(DType::bf16, nan.data(), top.data(), sum_abs, 2, 1);
  EXPECT_FALSE(c.passed());
  EXPECT_EQ(c.worst_index, 1);
}

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
  // swiglu_clamped's parameters: limit > 0, sigmoid_scale >= 2^-8.
  Options clamp_options;
  clamp_options.params.limit = 0.0;
  expect_error([&] { gated_forward(Activation::swiglu_clamped, gate, gate, MatrixView(op, 2, 4, 4), clamp_options); }, out,
               "gated_forward", "limit", "must be > 0");
  clamp_options = {};
  clamp_options.params.sigmoid_scale = 1e-3;
  expect_error([&] { gated_forward(Activation::swiglu_clamped, gate, gate, MatrixView(op, 2, 4, 4), clamp_options); }, out,
               "gated_forward", "sigmoid_scale", "must be >= 2^-8");
  // Shapes whose extent does not fit in 64-bit offsets (the fuzzer's finding: rows x cols
  // overflowed in the validation itself): rows x cols, (rows - 1) x row_stride + cols, and its bytes.
  for (const ConstMatrixView& huge : {ConstMatrixView(xp, std::int64_t{1} << 33, std::int64_t{1} << 31, std::int64_t{1} << 31),
                                      ConstMatrixView(xp, 3, 4, std::int64_t{1} << 62),
                                      ConstMatrixView(xp, 3, 4, std::int64_t{1} << 61)}) {
    const MatrixView huge_out(op, huge.rows, huge.cols, huge.row_stride);
    expect_error([&] { gated_forward(Activation::swiglu, huge, huge, huge_out); }, out, "gated_forward", "gate",
                 "spans more than 2^63 bytes");
  }

  expect_error([&] { forward_bias(Activation::relu, x.view(), ConstTensorView(xp, 5), out.view()); }, out,
               "forward_bias", "x", "not a multiple of the channel count 5");
  expect_error([&] { backward_bias(Activation::relu, x.view(), w.view(), x.view(), out.view(), TensorView(op, 4)); },
               out, "backward_bias", "dbias", "does not match bias's count 3");
  expect_error([&] { forward_bias(Activation::prelu, x.view(), w.view(), out.view()); }, out, "forward_bias",
               "activation", "use prelu_forward");
}

}  // namespace
}  // namespace actk
