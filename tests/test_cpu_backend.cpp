// Backend `cpu` against the reference, on each of its instruction sets (avx512 and avx2 where the
// machine has them, and the portable fallback): every activation x pass x dtype on the validation battery
// (exhaustive for f16/bf16, 2^20 random values plus every special value for f32), then the
// properties that make it usable: sizes and offsets, in place, accumulate, forward_backward equal
// to the separate passes, the same bits for 1 and 2 threads.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "host/cpu/convert.hpp"
#include "host/cpu/cpu_kernels.hpp"
#include "tests/support.hpp"

namespace actk::testing {
namespace {

using validation::HostBuffer;

// Restores the process's instruction set after a test that forced one.
class IsaScope {
 public:
  explicit IsaScope(cpu::Isa isa) : saved_(cpu::active_isa()) { cpu::set_isa(isa); }
  ~IsaScope() { cpu::set_isa(saved_); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  cpu::Isa saved_;
};

#define ACTK_SKIP_UNLESS_SUPPORTED(isa)                                                                 \
  if (!cpu::isa_supported(isa)) GTEST_SKIP() << "this machine cannot run the " << cpu::isa_name(isa) \
                                             << " kernels (" << missing_features(isa) << ")"

// What a machine that cannot run `isa` lacks (or the build, where the compiler had no flags for it).
const char* missing_features(cpu::Isa isa) {
  switch (isa) {
    case cpu::Isa::avx512_bf16: return "no AVX-512 F/BW/DQ/VL and AVX512_BF16 with OS support, or a build without the flags";
    case cpu::Isa::avx512: return "no AVX-512 F/BW/DQ/VL with OS support, or a build without the flags";
    default: return "no AVX2/FMA/F16C, or a build without the flags";
  }
}

std::int64_t random_count(DType dtype) {
  // 2^20 random f32 values (plus specials, kinks and the sweep); f64 runs the portable functors
  // and a long double reference, so it gets fewer.
  return dtype == DType::f32 ? std::int64_t{1} << 20 : std::int64_t{1} << 15;
}

// The input of a pass: the battery, or for backward_from_output the reference's forward of it.
HostBuffer pass_input(Activation activation, DType dtype, Pass pass) {
  HostBuffer x = validation::battery(activation, ActivationParams{}, dtype, random_count(dtype), true);
  if (pass != Pass::backward_from_output) return x;
  HostBuffer y(dtype, x.count());
  forward(activation, x.view(), y.view(), on(Backend::reference));
  return y;
}

void expect_agreement(const char* what, Activation activation, DType dtype, Pass pass, const HostBuffer& input,
                      const HostBuffer& dy, const HostBuffer& got, const HostBuffer& want, bool is_gradient) {
  // y of forward_backward is judged as forward's y.
  const validation::Tolerance tol =
      validation::tolerance(activation, dtype, is_gradient ? pass : Pass::forward, Backend::cpu);
  const validation::Comparison c =
      validation::compare(dtype, got.data(), want.data(), is_gradient ? dy.data() : nullptr, got.count(), tol);
  // The ulp distance that the contract judges: over the elements not already within the absolute
  // floor (near zero and at roots of f', any ulp count is meaningless).
  double judged_ulp = 0;
  const std::size_t esize = dtype_size(dtype);
  for (std::int64_t i = 0; i < got.count(); ++i) {
    const double g = got.at(i), w = want.at(i);
    if (!std::isfinite(g) || !std::isfinite(w)) continue;
    const double scale = is_gradient ? std::max(1.0, std::fabs(dy.at(i))) : 1.0;
    if (std::fabs(g - w) <= tol.abs_floor * scale) continue;
    judged_ulp = std::max(judged_ulp, validation::ulp_distance(dtype, static_cast<const unsigned char*>(got.data()) + i * esize,
                                                               static_cast<const unsigned char*>(want.data()) + i * esize));
  }
  std::printf("[accuracy] %s %s %s %s %s: %.0f ulp beyond the floor (max %.0f overall; tolerance %.0f ulp, floor %g), "
              "%lld outside\n",
              cpu::isa_name(cpu::active_isa()), activation_name(activation), dtype_name(dtype), pass_name(pass), what,
              judged_ulp, c.max_ulp, tol.max_ulp, tol.abs_floor, static_cast<long long>(c.failures));
  EXPECT_TRUE(c.passed()) << what << ": " << c.failures << " of " << c.checked << " outside the tolerance ("
                          << c.nonfinite_mismatches << " non-finite mismatches); first: "
                          << validation::describe_element(dtype, input.data(), got.data(), want.data(),
                                                          c.worst_index);
}

using AgreementParam = std::tuple<cpu::Isa, Activation, DType, Pass>;

// Every activation x dtype x pass that exists (backward_from_output only where the catalogue
// allows it), on one instruction set; `with_forward` false leaves out the forward pass.
// avx512_bf16 differs from avx512 in the bf16 narrowing alone: its cases are the bf16 ones.
std::vector<AgreementParam> agreement_cases(cpu::Isa isa, bool with_forward = true) {
  std::vector<AgreementParam> cases;
  for (const Activation activation : all_activations()) {
    for (const DType dtype : all_dtypes()) {
      if (isa == cpu::Isa::avx512_bf16 && dtype != DType::bf16) continue;
      for (const Pass pass : all_passes()) {
        if (pass_applies(activation, pass) && (with_forward || pass != Pass::forward)) {
          cases.emplace_back(isa, activation, dtype, pass);
        }
      }
    }
  }
  return cases;
}

class CpuAgreement : public ::testing::TestWithParam<AgreementParam> {};
class CpuAccumulate : public ::testing::TestWithParam<AgreementParam> {};
class CpuFused : public ::testing::TestWithParam<AgreementParam> {};

std::vector<AgreementParam> fused_cases(cpu::Isa isa) {
  std::vector<AgreementParam> cases;
  for (const AgreementParam& c : agreement_cases(isa)) {
    if (std::get<3>(c) == Pass::forward_backward) cases.push_back(c);
  }
  return cases;
}

TEST_P(CpuAgreement, MatchesReference) {
  const auto [isa, activation, dtype, pass] = GetParam();
  ACTK_SKIP_UNLESS_SUPPORTED(isa);
  const IsaScope scope(isa);

  const HostBuffer input = pass_input(activation, dtype, pass);
  const HostBuffer dy = validation::gradients(dtype, input.count());
  const PassResult want = run_pass(activation, pass, input, dy, on(Backend::reference));
  const PassResult got = run_pass(activation, pass, input, dy, on(Backend::cpu));
  if (pass == Pass::forward || pass == Pass::forward_backward) {
    expect_agreement("y", activation, dtype, pass, input, dy, got.y, want.y, false);
  }
  if (pass != Pass::forward) expect_agreement("dx", activation, dtype, pass, input, dy, got.dx, want.dx, true);
}

TEST_P(CpuAccumulate, MatchesReference) {
  const auto [isa, activation, dtype, pass] = GetParam();
  ACTK_SKIP_UNLESS_SUPPORTED(isa);
  const IsaScope scope(isa);

  const HostBuffer input = pass_input(activation, dtype, pass);
  const HostBuffer dy = validation::gradients(dtype, input.count());
  const HostBuffer dx_init = validation::gradients(dtype, input.count(), 0xacc);
  Options options = on(Backend::reference);
  options.accumulate = true;
  const PassResult want = run_pass(activation, pass, input, dy, options, &dx_init);
  options.backend = Backend::cpu;
  const PassResult got = run_pass(activation, pass, input, dy, options, &dx_init);
  // Where dx_init cancels dy f'(x), the sum's relative error is the product's error over the
  // cancellation, which no ulp bound covers: judge by the product's magnitude there.
  HostBuffer scale(dtype, input.count());
  for (std::int64_t i = 0; i < input.count(); ++i) {
    const double dxi = dx_init.at(i);
    const double s = std::max({1.0, std::fabs(dy.at(i)), 4 * std::fabs(dxi)});
    HostBuffer one(dtype, std::vector<double>{s});
    std::memcpy(static_cast<unsigned char*>(scale.data()) + i * dtype_size(dtype), one.data(), dtype_size(dtype));
  }
  const validation::Tolerance tol = validation::tolerance(activation, dtype, pass, Backend::cpu);
  const validation::Tolerance floor_tol{tol.max_ulp, std::max(tol.abs_floor, dtype == DType::f64 ? 0x1p-50 : 0x1p-22)};
  const validation::Comparison c =
      validation::compare(dtype, got.dx.data(), want.dx.data(), scale.data(), input.count(), floor_tol);
  EXPECT_TRUE(c.passed()) << c.failures << " outside; first: "
                          << validation::describe_element(dtype, input.data(), got.dx.data(), want.dx.data(),
                                                          c.worst_index);
}

// forward_backward must equal forward and backward run separately on the same backend, bit for
// bit, with and without accumulate.
TEST_P(CpuFused, EqualsSeparatePasses) {
  const auto [isa, activation, dtype, pass] = GetParam();
  ACTK_SKIP_UNLESS_SUPPORTED(isa);
  const IsaScope scope(isa);
  const HostBuffer x = pass_input(activation, dtype, Pass::forward);
  const HostBuffer dy = validation::gradients(dtype, x.count());
  const HostBuffer dx_init = validation::gradients(dtype, x.count(), 0xacc);
  for (bool accumulate : {false, true}) {
    Options options = on(Backend::cpu);
    options.accumulate = accumulate;
    const PassResult fused = run_pass(activation, Pass::forward_backward, x, dy, options, &dx_init);
    const PassResult y = run_pass(activation, Pass::forward, x, dy, options);
    const PassResult dx = run_pass(activation, Pass::backward, x, dy, options, &dx_init);
    EXPECT_TRUE(fused.y == y.y) << "y differs from forward (accumulate " << accumulate << ")";
    EXPECT_TRUE(fused.dx == dx.dx) << "dx differs from backward (accumulate " << accumulate << ")";
  }
}

std::string agreement_name(const ::testing::TestParamInfo<AgreementParam>& info) {
  return case_name(std::get<1>(info.param), std::get<2>(info.param), std::get<3>(info.param));
}

// Prefixes: Avx512Bf16, Avx512, Agreement (avx2) and Portable.
INSTANTIATE_TEST_SUITE_P(Avx512Bf16, CpuAgreement, ::testing::ValuesIn(agreement_cases(cpu::Isa::avx512_bf16)),
                         agreement_name);
INSTANTIATE_TEST_SUITE_P(Avx512, CpuAgreement, ::testing::ValuesIn(agreement_cases(cpu::Isa::avx512)), agreement_name);
INSTANTIATE_TEST_SUITE_P(Agreement, CpuAgreement, ::testing::ValuesIn(agreement_cases(cpu::Isa::avx2)), agreement_name);
INSTANTIATE_TEST_SUITE_P(Portable, CpuAgreement, ::testing::ValuesIn(agreement_cases(cpu::Isa::portable)),
                         agreement_name);
INSTANTIATE_TEST_SUITE_P(Avx512Bf16, CpuAccumulate,
                         ::testing::ValuesIn(agreement_cases(cpu::Isa::avx512_bf16, false)), agreement_name);
INSTANTIATE_TEST_SUITE_P(Avx512, CpuAccumulate, ::testing::ValuesIn(agreement_cases(cpu::Isa::avx512, false)),
                         agreement_name);
INSTANTIATE_TEST_SUITE_P(Agreement, CpuAccumulate, ::testing::ValuesIn(agreement_cases(cpu::Isa::avx2, false)),
                         agreement_name);
INSTANTIATE_TEST_SUITE_P(Portable, CpuAccumulate, ::testing::ValuesIn(agreement_cases(cpu::Isa::portable, false)),
                         agreement_name);
INSTANTIATE_TEST_SUITE_P(Avx512Bf16, CpuFused, ::testing::ValuesIn(fused_cases(cpu::Isa::avx512_bf16)),
                         agreement_name);
INSTANTIATE_TEST_SUITE_P(Avx512, CpuFused, ::testing::ValuesIn(fused_cases(cpu::Isa::avx512)), agreement_name);
INSTANTIATE_TEST_SUITE_P(Agreement, CpuFused, ::testing::ValuesIn(fused_cases(cpu::Isa::avx2)), agreement_name);
INSTANTIATE_TEST_SUITE_P(Portable, CpuFused, ::testing::ValuesIn(fused_cases(cpu::Isa::portable)), agreement_name);

// Properties of the loop rather than of the math, per instruction set and dtype, for every
// activation and pass.
using LayoutParam = std::tuple<cpu::Isa, DType>;
class CpuLayout : public ::testing::TestWithParam<LayoutParam> {
 protected:
  void SetUp() override {
    ACTK_SKIP_UNLESS_SUPPORTED(std::get<0>(GetParam()));
    scope_ = std::make_unique<IsaScope>(std::get<0>(GetParam()));
  }
  DType dtype() const { return std::get<1>(GetParam()); }

  // Random inputs with every special value mixed in, and their gradients.
  HostBuffer inputs(std::int64_t count) const {
    HostBuffer b = validation::battery(Activation::gelu, ActivationParams{}, dtype(), count, false);
    HostBuffer out(dtype(), count);
    std::memcpy(out.data(), b.data(), static_cast<std::size_t>(count) * dtype_size(dtype()));
    return out;
  }

 private:
  std::unique_ptr<IsaScope> scope_;
};

std::size_t bytes_of(DType dtype, std::int64_t n) { return static_cast<std::size_t>(n) * dtype_size(dtype); }

// A result for elements [offset, offset + n) must be the same bits as those elements of one
// call over the whole array: no element depends on its position in a vector, a range or a tail.
TEST_P(CpuLayout, SizesAndOffsetsGiveTheSameBits) {
  const std::int64_t total = (std::int64_t{1} << 20) + 8;
  const HostBuffer x = inputs(total);
  const HostBuffer dy = validation::gradients(dtype(), total);
  const std::size_t esize = dtype_size(dtype());
  for (const Activation activation : all_activations()) {
    for (const Pass pass : {Pass::forward, Pass::backward}) {
      const PassResult whole = run_pass(activation, pass, x, dy, on(Backend::cpu));
      const HostBuffer& whole_out = pass == Pass::forward ? whole.y : whole.dx;
      for (const std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7}, std::int64_t{8}, std::int64_t{9},
                                   std::int64_t{4097}, (std::int64_t{1} << 20) + 3}) {
        for (const std::int64_t offset : {std::int64_t{0}, std::int64_t{1}}) {
          // One canary element after the end must survive.
          HostBuffer out(dtype(), n + 1);
          out.fill_bytes(0x5a);
          const auto* xp = static_cast<const unsigned char*>(x.data()) + offset * esize;
          const auto* dyp = static_cast<const unsigned char*>(dy.data()) + offset * esize;
          const ConstTensorView xv(xp, dtype(), n), dyv(dyp, dtype(), n);
          const TensorView ov(out.data(), dtype(), n);
          if (pass == Pass::forward) {
            forward(activation, xv, ov, on(Backend::cpu));
          } else {
            backward(activation, xv, dyv, ov, on(Backend::cpu));
          }
          const auto* want = static_cast<const unsigned char*>(whole_out.data()) + offset * esize;
          EXPECT_EQ(0, std::memcmp(out.data(), want, bytes_of(dtype(), n)))
              << activation_name(activation) << " " << pass_name(pass) << " n=" << n << " offset=" << offset;
          const auto* canary = static_cast<const unsigned char*>(out.data()) + n * esize;
          for (std::size_t b = 0; b < esize; ++b) ASSERT_EQ(canary[b], 0x5a) << "wrote past the end, n=" << n;
        }
      }
    }
  }
}

// y == x, dx == dy and dx == x give what separate buffers give.
TEST_P(CpuLayout, InPlaceGivesTheSameBits) {
  const std::int64_t n = 4099;
  const HostBuffer x = inputs(n);
  const HostBuffer dy = validation::gradients(dtype(), n);
  for (const Activation activation : all_activations()) {
    const PassResult want = run_pass(activation, Pass::forward_backward, x, dy, on(Backend::cpu));
    HostBuffer y_in_x = x;
    forward(activation, y_in_x.view(), y_in_x.view(), on(Backend::cpu));
    EXPECT_TRUE(y_in_x == want.y) << activation_name(activation) << " forward y == x";

    HostBuffer dx_in_dy = dy;
    backward(activation, x.view(), dx_in_dy.view(), dx_in_dy.view(), on(Backend::cpu));
    EXPECT_TRUE(dx_in_dy == want.dx) << activation_name(activation) << " backward dx == dy";

    HostBuffer dx_in_x = x;
    backward(activation, dx_in_x.view(), dy.view(), dx_in_x.view(), on(Backend::cpu));
    EXPECT_TRUE(dx_in_x == want.dx) << activation_name(activation) << " backward dx == x";

    HostBuffer both_x = x, both_dy = dy;
    forward_backward(activation, both_x.view(), both_dy.view(), both_x.view(), both_dy.view(), on(Backend::cpu));
    EXPECT_TRUE(both_x == want.y && both_dy == want.dx) << activation_name(activation) << " forward_backward in place";
  }
}

// The split between threads changes nothing: 1 and 2 threads (and an odd offset) give the same bits.
TEST_P(CpuLayout, ThreadCountDoesNotChangeTheBits) {
  const std::int64_t n = (std::int64_t{1} << 20) + 3;
  const HostBuffer x = inputs(n + 1);
  const HostBuffer dy = validation::gradients(dtype(), n + 1);
  const std::size_t esize = dtype_size(dtype());
  const int saved = omp_get_max_threads();
  for (const Activation activation : all_activations()) {
    HostBuffer outputs[2] = {HostBuffer(dtype(), n), HostBuffer(dtype(), n)};
    HostBuffer grads[2] = {HostBuffer(dtype(), n), HostBuffer(dtype(), n)};
    for (int threads = 1; threads <= 2; ++threads) {
      omp_set_num_threads(threads);
      const ConstTensorView xv(static_cast<const unsigned char*>(x.data()) + esize, dtype(), n);
      const ConstTensorView dyv(static_cast<const unsigned char*>(dy.data()) + esize, dtype(), n);
      forward_backward(activation, xv, dyv, outputs[threads - 1].view(), grads[threads - 1].view(), on(Backend::cpu));
    }
    EXPECT_TRUE(outputs[0] == outputs[1] && grads[0] == grads[1]) << activation_name(activation);
  }
  omp_set_num_threads(saved);
}

std::string layout_name(const ::testing::TestParamInfo<LayoutParam>& info) {
  return std::string(cpu::isa_name(std::get<0>(info.param))) + "_" + dtype_name(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Layout, CpuLayout,
                         ::testing::Combine(::testing::ValuesIn(cpu::kAllIsas),
                                            ::testing::ValuesIn(all_dtypes())),
                         layout_name);

// Accumulate is fma(dy, f'(x), dx): one rounding. Against the f32 sum of dx_init and the
// non-accumulating result (whose product was rounded once more), it differs by at most half an
// ulp of that product plus half an ulp of the sum.
class CpuAccumulateF32 : public ::testing::TestWithParam<cpu::Isa> {};

TEST_P(CpuAccumulateF32, AddsTheGradient) {
  ACTK_SKIP_UNLESS_SUPPORTED(GetParam());
  const IsaScope scope(GetParam());
  const std::int64_t n = 10007;
  const HostBuffer x = validation::battery(Activation::gelu, ActivationParams{}, DType::f32, n, false);
  const HostBuffer dy = validation::gradients(DType::f32, x.count());
  const HostBuffer dx_init = validation::gradients(DType::f32, x.count(), 0xacc);
  Options accumulate = on(Backend::cpu);
  accumulate.accumulate = true;
  for (const Activation activation : all_activations()) {
    const PassResult plain = run_pass(activation, Pass::backward, x, dy, on(Backend::cpu));
    const PassResult summed = run_pass(activation, Pass::backward, x, dy, accumulate, &dx_init);
    for (std::int64_t i = 0; i < x.count(); ++i) {
      const double g = plain.dx.at(i), got = summed.dx.at(i), want = dx_init.at(i) + g;
      if (std::isnan(want) || std::isinf(want)) continue;
      const double allowed = validation::ulp_size(DType::f32, g) / 2 + validation::ulp_size(DType::f32, want) / 2;
      ASSERT_LE(std::fabs(got - want), allowed) << activation_name(activation) << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layout, CpuAccumulateF32, ::testing::ValuesIn(cpu::kAllIsas),
                         [](const ::testing::TestParamInfo<cpu::Isa>& info) { return std::string(cpu::isa_name(info.param)); });

// Parameters are double: an f64 call computes with the value given, an f32 call with that value
// rounded once to f32. Before, every field was a float, and leaky_relu f64 with 0.01 multiplied
// by 0.0099999997764825821 (2 x 10^8 ulp off the exact product).
TEST(CpuParameters, F64CallsComputeWithTheDoubleValue) {
  const std::vector<double> negatives = {-1.0, -3.0, -0.7, -1e-300, -123456.789, -0x1.fffffffffffffp-1};
  const HostBuffer x64(DType::f64, negatives), x32(DType::f32, negatives);
  for (const Backend backend : {Backend::reference, Backend::cpu}) {
    Options options = on(backend);
    options.params.negative_slope = 0.01;
    options.params.min_val = 0.1;
    options.params.max_val = 0.3;
    HostBuffer y64(DType::f64, x64.count()), y32(DType::f32, x32.count());
    forward(Activation::leaky_relu, x64.view(), y64.view(), options);
    forward(Activation::leaky_relu, x32.view(), y32.view(), options);
    for (std::int64_t i = 0; i < x64.count(); ++i) {
      EXPECT_EQ(y64.at(i), x64.at(i) * 0.01) << backend_name(backend) << " f64 x=" << x64.at(i);
      EXPECT_EQ(y32.at(i), static_cast<double>(static_cast<float>(x32.at(i)) * 0.01f))
          << backend_name(backend) << " f32 x=" << x32.at(i);
    }
    forward(Activation::hardtanh, x64.view(), y64.view(), options);
    for (std::int64_t i = 0; i < x64.count(); ++i) EXPECT_EQ(y64.at(i), 0.1) << backend_name(backend);
    // elu's derivative from y <= 0 is y + alpha, with alpha = 0.3 in double.
    options.params.alpha = 0.3;
    const HostBuffer dy(DType::f64, std::vector<double>(negatives.size(), 1.0));
    HostBuffer dx(DType::f64, x64.count());
    backward_from_output(Activation::elu, x64.view(), dy.view(), dx.view(), options);
    for (std::int64_t i = 0; i < x64.count(); ++i) EXPECT_EQ(dx.at(i), x64.at(i) + 0.3) << backend_name(backend);
  }
}

// softplus with a small beta (a fuzz finding): below beta x = -87, e^(beta x) is subnormal, yet
// e^(beta x) / beta can be a normal number, which must not inherit the subnormal's rounding; a
// negative beta has that tail at large positive x. beta = 2^-128 (a fuzz finding): a power of two
// whose inverse is past f32's range, while log(2) / beta = 2.4e38 is not.
class CpuSoftplusSmallBeta : public ::testing::TestWithParam<cpu::Isa> {};

TEST_P(CpuSoftplusSmallBeta, MatchesReference) {
  ACTK_SKIP_UNLESS_SUPPORTED(GetParam());
  const IsaScope scope(GetParam());
  for (const float beta : {0x1.4041bep-55f, 0x1p-60f, 0x1p-120f, 0x1p-128f, 0x1p-149f, -1.0f, -0x1p-40f}) {
    for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      ActivationParams params;
      params.beta = beta;
      const HostBuffer x = validation::battery(Activation::softplus, params, dtype, 1 << 16, dtype != DType::f32);
      HostBuffer got(dtype, x.count()), want(dtype, x.count());
      Options options = on(Backend::cpu);
      options.params = params;
      forward(Activation::softplus, x.view(), got.view(), options);
      options.backend = Backend::reference;
      forward(Activation::softplus, x.view(), want.view(), options);
      const validation::Comparison c =
          validation::compare(dtype, got.data(), want.data(), nullptr, x.count(),
                              validation::tolerance(Activation::softplus, dtype, Pass::forward, Backend::cpu));
      EXPECT_TRUE(c.passed()) << "beta " << beta << " " << dtype_name(dtype) << ": " << c.failures << " outside; first: "
                              << validation::describe_element(dtype, x.data(), got.data(), want.data(), c.worst_index);
    }
  }
}

// softplus with a huge beta under a huge threshold (a fuzz finding: beta = 1.5 2^89, threshold
// 2^181, x = 1.7e22): beta x overflows f32 below the threshold, and the result is x, not
// infinity. A negative beta overflows at large negative x. Forward and backward, every ISA.
TEST_P(CpuSoftplusSmallBeta, HugeBetaBelowAHugeThreshold) {
  ACTK_SKIP_UNLESS_SUPPORTED(GetParam());
  const IsaScope scope(GetParam());
  for (const double beta : {0x1.833bf003f00ffp+89, -0x1p+100}) {
    ActivationParams params;
    params.beta = beta;
    params.threshold = 0x1.b4b4b3cb40cffp+181;
    for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      const HostBuffer x = validation::battery(Activation::softplus, params, dtype, 1 << 12, dtype != DType::f32);
      const HostBuffer dy = validation::gradients(dtype, x.count());
      for (const Pass pass : {Pass::forward, Pass::backward}) {
        HostBuffer got(dtype, x.count()), want(dtype, x.count());
        for (const Backend backend : {Backend::cpu, Backend::reference}) {
          Options options = on(backend);
          options.params = params;
          HostBuffer& out = backend == Backend::cpu ? got : want;
          if (pass == Pass::forward) forward(Activation::softplus, x.view(), out.view(), options);
          else backward(Activation::softplus, x.view(), dy.view(), out.view(), options);
        }
        const validation::Comparison c =
            validation::compare(dtype, got.data(), want.data(), pass == Pass::forward ? nullptr : dy.data(), x.count(),
                                validation::tolerance(Activation::softplus, dtype, pass, Backend::cpu));
        EXPECT_TRUE(c.passed()) << "beta " << beta << " " << dtype_name(dtype) << " " << pass_name(pass) << ": "
                                << c.failures << " outside; first: "
                                << validation::describe_element(dtype, x.data(), got.data(), want.data(), c.worst_index);
      }
    }
  }
}

// softplus's threshold test where beta x is below the smallest subnormal (a fuzz finding: beta =
// 2^-127, threshold 0, x = 2^-95): the exact product is positive, so the result is x, not
// log(2) / beta = 1.2e38. Forward and backward, every instruction set.
TEST_P(CpuSoftplusSmallBeta, ThresholdTestWhereTheProductVanishes) {
  ACTK_SKIP_UNLESS_SUPPORTED(GetParam());
  const IsaScope scope(GetParam());
  for (const float beta : {0x1.0043fcp-127f, -0x1p-140f}) {
    ActivationParams params;
    params.beta = beta;
    params.threshold = 0;
    const std::vector<double> values = {0x1p-95, -0x1p-95, 0x1p-130, -0x1p-20, 0.0, 3.0, -3.0};
    for (const DType dtype : {DType::f32, DType::bf16}) {
      const HostBuffer x(dtype, values);
      for (const Pass pass : {Pass::forward, Pass::backward}) {
        const HostBuffer dy(dtype, std::vector<double>(values.size(), 1.0));
        Options options = on(Backend::cpu);
        options.params = params;
        const testing::PassResult got = testing::run_pass(Activation::softplus, pass, x, dy, options);
        options.backend = Backend::reference;
        const testing::PassResult want = testing::run_pass(Activation::softplus, pass, x, dy, options);
        const HostBuffer& g = pass == Pass::forward ? got.y : got.dx;
        const HostBuffer& w = pass == Pass::forward ? want.y : want.dx;
        const validation::Comparison c = validation::compare(dtype, g.data(), w.data(), pass == Pass::forward ? nullptr : dy.data(),
                                                             x.count(), validation::tolerance(Activation::softplus, dtype, pass, Backend::cpu));
        EXPECT_TRUE(c.passed()) << "beta " << beta << " " << dtype_name(dtype) << " " << pass_name(pass) << ": "
                                << validation::describe_element(dtype, x.data(), g.data(), w.data(), c.worst_index);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layout, CpuSoftplusSmallBeta, ::testing::ValuesIn(cpu::kAllIsas),
                         [](const ::testing::TestParamInfo<cpu::Isa>& info) { return std::string(cpu::isa_name(info.param)); });

// ACTK_CPU_ISA=<name> forces an instruction set the machine supports for the whole process. CTest
// runs this test once more with each name (tests/CMakeLists.txt); without the variable, the best
// supported set is active.
TEST(CpuIsa, EnvironmentChoosesTheInstructionSet) {
  cpu::Isa best = cpu::Isa::portable;
  for (const cpu::Isa isa : cpu::kAllIsas) {
    if (cpu::isa_supported(isa)) best = isa;
  }
  const char* requested = std::getenv("ACTK_CPU_ISA");
  cpu::Isa want = best;
  for (const cpu::Isa isa : cpu::kAllIsas) {
    if (requested && std::string(requested) == cpu::isa_name(isa) && cpu::isa_supported(isa)) want = isa;
  }
  EXPECT_EQ(cpu::active_isa(), want) << "ACTK_CPU_ISA=" << (requested ? requested : "(unset)");
  // The active path computes, and agrees with the reference on a small battery.
  const HostBuffer x = validation::battery(Activation::gelu, ActivationParams{}, DType::f32, 1000, false);
  HostBuffer got(DType::f32, x.count()), want_y(DType::f32, x.count());
  forward(Activation::gelu, x.view(), got.view(), on(Backend::cpu));
  forward(Activation::gelu, x.view(), want_y.view(), on(Backend::reference));
  EXPECT_TRUE(validation::compare(DType::f32, got.data(), want_y.data(), nullptr, x.count(),
                                  validation::tolerance(Activation::gelu, DType::f32, Pass::forward, Backend::cpu))
                  .passed());
}

// set_isa() switches between the supported sets and ignores the others.
TEST(CpuIsa, SetIsaIgnoresUnsupportedSets) {
  const IsaScope scope(cpu::active_isa());
  for (const cpu::Isa isa : cpu::kAllIsas) {
    const cpu::Isa before = cpu::active_isa();
    cpu::set_isa(isa);
    EXPECT_EQ(cpu::active_isa(), cpu::isa_supported(isa) ? isa : before) << cpu::isa_name(isa);
  }
}

// The vector conversions of every supported set (the structured calls' f16/bf16 chunks) give
// convert.hpp's values: every 16-bit pattern widened, and f32 values at every exponent narrowed
// (a NaN to a NaN of the same sign, its payload aside), in lengths with a partial last vector and, streamed, from an
// output that is not vector-aligned.
template <class T>
void expect_conversions_agree(DType dtype) {
  std::vector<T> patterns(65536);
  for (std::uint32_t bits = 0; bits < 65536; ++bits) patterns[bits].bits = static_cast<std::uint16_t>(bits);
  std::vector<float> values;
  for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += 65521) {  // prime: all low bits
    float v;
    const auto b = static_cast<std::uint32_t>(bits);
    std::memcpy(&v, &b, sizeof v);
    values.push_back(v);
  }
  for (const cpu::Isa isa : cpu::kAllIsas) {
    if (!cpu::isa_supported(isa)) continue;
    const IsaScope scope(isa);
    const cpu::Conversion conversion = cpu::select_conversion(dtype);
    for (const std::int64_t skip : {0, 3}) {  // 3: odd lengths and an output off its alignment
      std::vector<float> wide(patterns.size());
      conversion.widen(patterns.data() + skip, wide.data(), static_cast<std::int64_t>(patterns.size()) - skip);
      for (std::size_t i = skip; i < patterns.size(); ++i) {
        const float want = cpu::widen(patterns[i]), got = wide[i - skip];
        if (std::isnan(want)) {  // the f16 hardware conversion quiets a signalling NaN
          ASSERT_TRUE(std::isnan(got) && std::signbit(got) == std::signbit(want)) << cpu::isa_name(isa) << " widens NaN " << i;
        } else {
          ASSERT_EQ(std::memcmp(&want, &got, sizeof got), 0) << cpu::isa_name(isa) << " widens pattern " << i;
        }
      }
      for (const bool stream : {false, true}) {
        std::vector<T> narrow(values.size() + 3);
        conversion.narrow(values.data(), narrow.data() + skip, static_cast<std::int64_t>(values.size()), stream);
        for (std::size_t i = 0; i < values.size(); ++i) {
          const T want = cpu::narrow<T>(values[i]), got = narrow[i + skip];
          if (std::isnan(values[i])) {
            ASSERT_TRUE(std::isnan(cpu::widen(got)) && std::signbit(cpu::widen(got)) == std::signbit(values[i]))
                << cpu::isa_name(isa) << " narrows NaN pattern " << i;
          } else {
            ASSERT_EQ(got.bits, want.bits) << cpu::isa_name(isa) << " narrows " << values[i] << (stream ? ", streamed" : "");
          }
        }
      }
    }
  }
}

TEST(CpuConversions, EverySetConvertsAsTheScalarCode) {
  expect_conversions_agree<Half>(DType::f16);
  expect_conversions_agree<BFloat16>(DType::bf16);
}

}  // namespace
}  // namespace actk::testing
