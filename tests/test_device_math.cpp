// The functors of kernels/activation_math.hpp, the math the CUDA kernels run, evaluated on the
// host in their compute type (float for f32, f16 and bf16 data, double for f64) and compared with
// the reference backend under the accuracy contract of validation::tolerance: every f16 and bf16
// input, and for f32 and f64 the special values, the kinks, a dense sweep and random inputs.
//
// This is the accuracy evidence for the kernels where there is no GPU. In float compute the
// functors are the shared math of kernels/math/ on the scalar lane, built from IEEE operations
// only, and the kernels are compiled without implicit fma contraction (--fmad=false), as the host
// is (-ffp-contract=off): the GPU performs exactly the host's arithmetic, so these results are the
// kernels' bits (tests/test_bit_identity.cpp shows that every cpu ISA gives them too). In double
// compute the functors call the math library (glibc here, libdevice on the GPU, whose documented
// bounds are looser: erfc 5 ulp); the GPU suite (tests/gpu) checks the kernels themselves against
// the same reference.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "actk/structured.hpp"
#include "kernels/activation_math.hpp"
#include "kernels/channel_tiling.hpp"
#include "kernels/vector_split.hpp"
#include "tests/support.hpp"

namespace actk {
namespace {

using testing::PassResult;
using validation::HostBuffer;

// One pass over host buffers with the functor in compute type C, converting as the kernels do:
// storage widens exactly to C, and each result is rounded once to the storage type.
template <template <class> class Functor, class C, Pass kPass>
PassResult evaluate(const HostBuffer& x, const HostBuffer& dy, const HostBuffer* dx_init,
                    const ActivationParams& params) {
  const Functor<C> op(params);
  const std::int64_t n = x.count();
  std::vector<double> y(static_cast<std::size_t>(n)), dx(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const math::ElementResult<C> r = math::apply_pass<kPass>(op, static_cast<C>(x.at(i)), static_cast<C>(dy.at(i)),
                                                             dx_init ? static_cast<C>(dx_init->at(i)) : C(0),
                                                             dx_init != nullptr);
    y[i] = r.y;
    dx[i] = r.dx;
  }
  return {HostBuffer(x.dtype(), y), HostBuffer(x.dtype(), dx)};
}

template <template <class> class Functor, class C>
PassResult evaluate(Pass pass, const HostBuffer& x, const HostBuffer& dy, const HostBuffer* dx_init,
                    const ActivationParams& params) {
  switch (pass) {
    case Pass::forward: return evaluate<Functor, C, Pass::forward>(x, dy, dx_init, params);
    case Pass::backward: return evaluate<Functor, C, Pass::backward>(x, dy, dx_init, params);
    case Pass::forward_backward: return evaluate<Functor, C, Pass::forward_backward>(x, dy, dx_init, params);
    case Pass::backward_from_output:
      if constexpr (math::HasDerivativeFromOutput<Functor<C>>::value) {
        return evaluate<Functor, C, Pass::backward_from_output>(x, dy, dx_init, params);
      }
      break;
  }
  ADD_FAILURE() << "no such pass for this functor";
  return {HostBuffer(x.dtype(), 0), HostBuffer(x.dtype(), 0)};
}

PassResult evaluate(Activation activation, Pass pass, const HostBuffer& x, const HostBuffer& dy,
                    const HostBuffer* dx_init, const ActivationParams& params) {
  const bool wide = x.dtype() == DType::f64;
  switch (activation) {
#define ACTK_EVALUATE_CASE(id, Functor, param_mask, from_output)                                     \
  case Activation::id:                                                                               \
    return wide ? evaluate<math::Functor, double>(pass, x, dy, dx_init, params)                      \
                : evaluate<math::Functor, float>(pass, x, dy, dx_init, params);
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_EVALUATE_CASE)
#undef ACTK_EVALUATE_CASE
    default: break;
  }
  ADD_FAILURE() << activation_name(activation) << " is not elementwise";
  return {HostBuffer(x.dtype(), 0), HostBuffer(x.dtype(), 0)};
}

struct MathCase {
  Activation activation;
  DType dtype;
  Pass pass;
};

// What ctest shows after a test's name ("# GetParam() = gelu f32 forward").
void PrintTo(const MathCase& c, std::ostream* out) {
  *out << activation_name(c.activation) << " " << dtype_name(c.dtype) << " " << pass_name(c.pass);
}

std::vector<MathCase> math_cases() {
  std::vector<MathCase> cases;
  for (Activation a : testing::all_activations()) {
    for (DType t : testing::all_dtypes()) {
      for (Pass p : testing::all_passes()) {
        if (testing::pass_applies(a, p)) cases.push_back({a, t, p});
      }
    }
  }
  return cases;
}

class Functors : public ::testing::TestWithParam<MathCase> {
 protected:
  // Compares one output under the contract and returns the largest ulp distance among the
  // elements the absolute floor does not cover (what the contract's ulp bound is about).
  // y is judged under the forward tolerance in every pass, dx under its pass's.
  static double check(const char* output, const MathCase& c, Pass pass, const HostBuffer& x, const HostBuffer& got,
                      const HostBuffer& want, const HostBuffer* dy) {
    const validation::Tolerance tol = validation::tolerance(c.activation, c.dtype, pass, Backend::cuda);
    const validation::Comparison r =
        validation::compare(c.dtype, got.data(), want.data(), dy ? dy->data() : nullptr, x.count(), tol);
    EXPECT_TRUE(r.passed()) << output << ": " << r.failures << " of " << r.checked << " outside " << tol.max_ulp
                            << " ulp (floor " << tol.abs_floor << "), first: "
                            << validation::describe_element(c.dtype, x.data(), got.data(), want.data(), r.worst_index);
    const std::size_t size = dtype_size(c.dtype);
    double max_ulp = 0;
    for (std::int64_t i = 0; i < x.count(); ++i) {
      const double g = got.at(i);
      const double w = want.at(i);
      const double scale = dy ? std::fmax(1.0, std::fabs(dy->at(i))) : 1.0;
      if (!std::isfinite(g) || !std::isfinite(w) || std::fabs(g - w) <= tol.abs_floor * scale) continue;
      const auto* g_bytes = static_cast<const unsigned char*>(got.data()) + i * size;
      const auto* w_bytes = static_cast<const unsigned char*>(want.data()) + i * size;
      max_ulp = std::fmax(max_ulp, validation::ulp_distance(c.dtype, g_bytes, w_bytes));
    }
    return max_ulp;
  }
};

TEST_P(Functors, MatchReference) {
  const MathCase c = GetParam();
  const ActivationParams params{};
  const bool sixteen_bit = c.dtype == DType::f16 || c.dtype == DType::bf16;
  const std::int64_t random_count = c.dtype == DType::f32 ? (1 << 20) : (1 << 16);
  const HostBuffer x = validation::battery(c.activation, params, c.dtype, random_count, sixteen_bit);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const HostBuffer dx_init = validation::gradients(c.dtype, x.count(), 0xacc);

  Options reference;
  reference.backend = Backend::reference;
  // backward_from_output takes y = f(x), as a caller would pass it.
  const HostBuffer input =
      c.pass == Pass::backward_from_output ? testing::run_pass(c.activation, Pass::forward, x, dy, reference).y : x;

  const PassResult want = testing::run_pass(c.activation, c.pass, input, dy, reference);
  const PassResult got = evaluate(c.activation, c.pass, input, dy, nullptr, params);
  std::string summary;
  char text[64];
  if (c.pass == Pass::forward || c.pass == Pass::forward_backward) {
    std::snprintf(text, sizeof text, " y %.0f", check("y", c, Pass::forward, input, got.y, want.y, nullptr));
    summary += text;
  }
  if (c.pass != Pass::forward) {
    std::snprintf(text, sizeof text, " dx %.0f", check("dx", c, c.pass, input, got.dx, want.dx, &dy));
    summary += text;
    reference.accumulate = true;
    const PassResult want_sum = testing::run_pass(c.activation, c.pass, input, dy, reference, &dx_init);
    const PassResult got_sum = evaluate(c.activation, c.pass, input, dy, &dx_init, params);
    std::snprintf(text, sizeof text, " dx+= %.0f", check("dx (accumulate)", c, c.pass, input, got_sum.dx, want_sum.dx, &dy));
    summary += text;
  }
  RecordProperty("max_ulp", summary);
  std::printf("[ math     ] %-11s %-4s %-20s max ulp above the floor:%s (%lld inputs)\n", activation_name(c.activation),
              dtype_name(c.dtype), pass_name(c.pass), summary.c_str(), static_cast<long long>(x.count()));
}

INSTANTIATE_TEST_SUITE_P(DeviceMath, Functors, ::testing::ValuesIn(math_cases()),
                         [](const ::testing::TestParamInfo<MathCase>& param) {
                           return testing::case_name(param.param.activation, param.param.dtype, param.param.pass);
                         });

// softplus with a small beta: in the tail beta x < -87, e^(beta x) is subnormal in f32 while
// e^(beta x) / beta is normal (a fuzz finding: beta = 1.25 2^-55, 4 ulp off in bf16, 0 in f32 for
// 1.7e-29); and a negative beta, whose tail is at large positive x.
TEST(DeviceMathTails, SoftplusWithSmallOrNegativeBeta) {
  for (const float beta : {0x1.4041bep-55f, 1e-30f, -1.0f, -0x1p-40f}) {
    ActivationParams params;
    params.beta = beta;
    for (const DType dtype : {DType::f32, DType::f64, DType::bf16}) {
      std::vector<double> values;
      for (double bx = -220; bx < -20; bx += 0.173) values.push_back(static_cast<double>(static_cast<float>(bx / beta)));
      const HostBuffer x(dtype, values);
      const HostBuffer dy = validation::gradients(dtype, x.count());
      Options reference;
      reference.backend = Backend::reference;
      reference.params = params;
      const PassResult want = testing::run_pass(Activation::softplus, Pass::forward, x, dy, reference);
      const PassResult got = evaluate(Activation::softplus, Pass::forward, x, dy, nullptr, params);
      const validation::Tolerance tol = validation::tolerance(Activation::softplus, dtype, Pass::forward, Backend::cuda);
      const validation::Comparison r = validation::compare(dtype, got.y.data(), want.y.data(), nullptr, x.count(), tol);
      EXPECT_TRUE(r.passed()) << "beta " << beta << " " << dtype_name(dtype) << ": " << r.failures << " off, first "
                              << validation::describe_element(dtype, x.data(), got.y.data(), want.y.data(), r.worst_index);
    }
  }
}

// One element of a gated pass with the kernels' math (math::GateClamp for the clamped entries,
// math::gated_forward: the functor in float, its slow path in double; math::gated_gate_gradient),
// the entry chosen at run time, with the defaults rounded to the compute type as the dispatcher
// hands them to the kernels (the double slow path too: quick_geglu's 1.702 unrounded moves
// e^(a gate) by 2e-6 relative at gate = -88).
template <class C>
C gated_element(const ActivationInfo& entry, bool backward, C gate, C up, C dy) {
  const ActivationParams params = params_for_compute({}, std::is_same_v<C, double> ? DType::f64 : DType::f32);
  const math::GateClamp<C> clamp{entry.uses(Param::limit), static_cast<C>(params.limit)};
  const C gate_in = clamp.gate(gate), up_in = clamp.up(up);
  switch (entry.gate) {
#define ACTK_GATED_ELEMENT_CASE(id, Functor, param_mask, from_output)                                         \
  case Activation::id:                                                                                        \
    if (backward) {                                                                                           \
      const C derivative = math::apply_pass<Pass::forward_backward>(math::Functor<C>(params), gate_in, C(1),   \
                                                                    C(0), false).dx;                          \
      return math::gated_gate_gradient<false>(dy, up_in, clamp.gate_gradient(gate, derivative), C(0));        \
    }                                                                                                         \
    return math::gated_forward(math::Functor<C>(params), math::Functor<double>(params), gate_in, up_in);
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_GATED_ELEMENT_CASE)
#undef ACTK_GATED_ELEMENT_CASE
    default: break;
  }
  ADD_FAILURE() << activation_name(entry.gate) << " is not elementwise";
  return 0;
}

// The kernels' gated forward, or dgate, against the reference backend's, for every gated entry.
void expect_gated_elements_agree(DType dtype, bool backward, const std::vector<double>& gates, double up_value,
                                 double dy_value) {
  const auto n = static_cast<std::int64_t>(gates.size());
  const HostBuffer gate(dtype, gates), up(dtype, std::vector<double>(gates.size(), up_value));
  const HostBuffer dy(dtype, std::vector<double>(gates.size(), dy_value));
  Options reference;
  reference.backend = Backend::reference;
  auto view = [&](const void* data) { return ConstMatrixView(data, dtype, 1, n, n); };
  auto out = [&](void* data) { return MatrixView(data, dtype, 1, n, n); };
  for (const ActivationInfo& entry : catalogue(ActivationKind::gated)) {
    // dgate's floor scales with its upstream gradient dy * up' (up' = up unless clamped).
    const math::GateClamp<double> clamp{entry.uses(Param::limit), ActivationParams{}.limit};
    std::vector<double> upstream(gates.size());
    for (std::int64_t i = 0; i < n; ++i) upstream[i] = dy.at(i) * clamp.up(up.at(i));
    const HostBuffer scale(dtype, upstream);
    std::vector<double> got(gates.size());
    for (std::int64_t i = 0; i < n; ++i) {
      got[i] = dtype == DType::f64 ? gated_element<double>(entry, backward, gate.at(i), up.at(i), dy.at(i))
                                   : gated_element<float>(entry, backward, static_cast<float>(gate.at(i)),
                                                          static_cast<float>(up.at(i)), static_cast<float>(dy.at(i)));
    }
    const HostBuffer result(dtype, got);  // rounded once to the storage type, as the kernels store
    HostBuffer want(dtype, n), other(dtype, n);
    if (backward) {
      gated_backward(entry.activation, view(gate.data()), view(up.data()), view(dy.data()), out(want.data()),
                     out(other.data()), reference);
    } else {
      gated_forward(entry.activation, view(gate.data()), view(up.data()), out(want.data()), reference);
    }
    const Pass pass = backward ? Pass::backward : Pass::forward;
    const validation::Tolerance tol = validation::tolerance(entry.activation, dtype, pass, Backend::cuda);
    const validation::Comparison r =
        validation::compare(dtype, result.data(), want.data(), backward ? scale.data() : nullptr, n, tol);
    EXPECT_TRUE(r.passed()) << entry.name << " " << dtype_name(dtype) << (backward ? " dgate" : " y") << ", up "
                            << up_value << ": " << r.failures << " off, first "
                            << validation::describe_element(dtype, gate.data(), result.data(), want.data(),
                                                            r.worst_index);
  }
}

TEST(DeviceMathTails, GatedForwardWhereTheGateIsTiny) {
  // The cpu backend's fuzz finding, for the CUDA kernels' math: act(gate) below the smallest normal
  // float (subnormal, or 0 where it underflows), or a factor of it (silu = gate e^gate near
  // gate = -91), times a large up lost the product's precision (swiglu at gate = -110, up = 3e38:
  // 0 for -2e-8; at -91.75: 52 ulp); an infinite up made NaN of the reference's infinity.
  const std::vector<double> gates = {1e-40, -3e-42, 1e-44, -20,  -88,   -89.5, -91, -91.75,
                                     -95,   -103,   -110,  -150, -10.1, -12,   0.0, 2.0};
  for (const DType dtype : {DType::f32, DType::bf16, DType::f16}) {
    const double up = dtype == DType::f16 ? 6e4 : 3e38;
    for (const double u : {up, -up, static_cast<double>(INFINITY)}) expect_gated_elements_agree(dtype, false, gates, u, 1);
  }
}

TEST(DeviceMathTails, GatedGateGradientDoesNotOverflowWhereItIsFinite) {
  // The review's finding: the kernels formed up * act'(gate) first, which overflows for an up near
  // the top of the range and act' > 1 (silu' = 1.0998 at 2.4, gelu' = 1.129 at 1.4142) while
  // dy * up * act' is finite for dy < 0.9.
  const std::vector<double> gates = {2.4, 1.4142, 1.5, 1.0, 0.5, -1.0, -3.0};
  for (const DType dtype : {DType::f32, DType::bf16, DType::f64}) {
    const double top = dtype == DType::f64 ? 0x1.fffffffffffffp1023 : dtype == DType::bf16 ? 0x1.fep127 : 0x1.fffffep127;
    for (const double dy : {0.5, 0.85, -0.7}) {
      expect_gated_elements_agree(dtype, true, gates, 0.99 * top, dy);
      expect_gated_elements_agree(dtype, true, gates, -0.99 * top, dy);
    }
  }
}

// The split constants (a value rounded to T plus its rounding error) add up to the constant they
// stand for: hi is the constant rounded to T, and hi + tail is within `bound` of it, relatively.
template <class T>
void expect_split(T hi, T tail, long double exact, long double bound) {
  const long double sum = static_cast<long double>(hi) + static_cast<long double>(tail);
  EXPECT_EQ(hi, static_cast<T>(exact));
  EXPECT_LE(std::fabs(sum - exact), bound * exact) << static_cast<double>(exact);
}

template <class T>
void expect_splits(long double bound) {
  expect_split(math::Gelu<T>::kInvSqrt2, math::Gelu<T>::kInvSqrt2Tail, 0.70710678118654752440084436210484903928L,
               bound);
  expect_split(math::GeluTanh<T>::kLinear, math::GeluTanh<T>::kLinearTail, 1.59576912160573071175978423973752747L,
               bound);
  expect_split(math::GeluTanh<T>::kCubic, math::GeluTanh<T>::kCubicTail, 0.071354816272600248776338752279863541L,
               bound);
  expect_split(math::Selu<T>::kScaleAlpha, math::Selu<T>::kScaleAlphaTail, 1.7580993408473768599402175208123193L,
               bound);
}

TEST(DeviceMathConstants, SplitConstantsAddUp) { expect_splits<double>(0x1p-60L); }

// The shared exp, which replaces the library's expf on every backend, is within 1 ulp of the
// correctly rounded e^x (0.6 by its error bound; here every 61st bit pattern), and gives the
// limits: inf above 88.72, 0 far below. NaN inputs are the callers' (every functor's NaN rule).
TEST(DeviceMathConstants, SharedExpWithinOneUlp) {
  for (std::uint64_t b = 0; b < (std::uint64_t{1} << 32); b += 61) {
    const auto bits = static_cast<std::uint32_t>(b);
    float x;
    std::memcpy(&x, &bits, sizeof x);
    const float got = lanes::scalar::exp(x);
    const float want = static_cast<float>(std::exp(static_cast<double>(x)));
    if (std::isnan(x)) continue;
    if (!std::isfinite(want) || want < 0x1p-126f) {
      ASSERT_TRUE(got == want || std::fabs(got - want) <= 0x1p-149f) << x;  // inf, 0, subnormal
    } else {
      ASSERT_LE(validation::ulp_distance(DType::f32, &got, &want), 1.0) << x;
    }
  }
}

// The launcher's head / vectors / tail split, against a brute-force search, for every element
// size, every misalignment of up to four buffers (absent ones included), and counts around the
// vector width.
// The per-channel sums' last step, shared by the cuda and cpu backends (math::sum_plus_old).
TEST(DeviceMathSums, SumPlusOldKeepsWhatTheTotalKeeps) {
  constexpr double scale = math::kSumTermScale<double>;
  // f64 terms 1.5 x 2^1023, 1.5 x 2^1023 and -2^1023 scaled and summed: 2^1024, past the range
  // unscaled; with an old -2^1022 the total is 1.5 x 2^1023 (every step exact).
  const double scaled = 0x1.8p1023 * scale + 0x1.8p1023 * scale - 0x1p1023 * scale;
  EXPECT_EQ(math::sum_plus_old<double>(scaled, -0x1p1022, true), 0x1.8p1023);
  EXPECT_EQ(math::sum_plus_old<double>(scaled, 0.0, false), HUGE_VAL);
  EXPECT_EQ(math::sum_plus_old<double>(scaled, 0.0, true), HUGE_VAL);
  // A subnormal old value survives a sum of nothing and joins a small sum exactly.
  EXPECT_EQ(math::sum_plus_old<double>(0.0, 0x1p-1074, true), 0x1p-1074);
  EXPECT_EQ(math::sum_plus_old<double>(0x1p-1000 * scale, 0x1p-1074, true), 0x1p-1000 + 0x1p-1074);
  // Non-finite sums stay what they are; float compute is unscaled: old + sum, one rounding.
  EXPECT_TRUE(std::isnan(math::sum_plus_old<double>(NAN, 1.0, true)));
  EXPECT_EQ(math::sum_plus_old<double>(-HUGE_VAL, 1.0, true), -HUGE_VAL);
  EXPECT_EQ(math::kSumTermScale<float>, 1.0);
  EXPECT_EQ(math::sum_plus_old<float>(0x1.8p128, -0x1p127, true), 0x1p128);
}

TEST(VectorSplit, EveryMisalignment) {
  using cuda::detail::kVectorBytes;
  using cuda::detail::split_for_vectors;
  constexpr std::uintptr_t kBase = 0x10000;  // 16-byte aligned
  for (std::size_t size : {2u, 4u, 8u}) {
    const auto width = static_cast<std::int64_t>(kVectorBytes / size);
    // Offsets in bytes of each buffer from kBase; 16 stands for an absent buffer (address 0).
    for (unsigned code = 0; code < 17u * 17u * 17u * 17u; ++code) {
      std::uintptr_t addresses[4];
      unsigned rest = code;
      for (std::uintptr_t& a : addresses) {
        const unsigned offset = rest % 17;
        rest /= 17;
        a = offset == 16 ? 0 : kBase + 64 * (&a - addresses) + offset;
      }
      for (std::int64_t count = 0; count <= 3 * width + 1; ++count) {
        const cuda::detail::VectorSplit split = split_for_vectors(addresses, 4, count, size);
        // Brute force: the first element at which every present buffer is 16-byte aligned.
        std::int64_t head = -1;
        for (std::int64_t h = 0; h < width && head < 0; ++h) {
          bool aligned = true;
          for (std::uintptr_t a : addresses) aligned = aligned && (a == 0 || (a + h * size) % kVectorBytes == 0);
          if (aligned) head = h;
        }
        const std::int64_t want_head = head < 0 ? count : std::min(head, count);
        const std::int64_t want_vectors = head < 0 ? 0 : (count - want_head) / width;
        ASSERT_EQ(split.head, want_head) << "size " << size << " code " << code << " count " << count;
        ASSERT_EQ(split.vectors, want_vectors) << "size " << size << " code " << code << " count " << count;
        ASSERT_LT(count - split.head - split.vectors * width, head < 0 ? count + 1 : width);
      }
    }
  }
}

// The per-channel kernels' tiling (PReLU, bias fusion), walked as the kernel walks it: every element
// of the matrix is visited by exactly one thread of one tile, for narrow, wide, empty and tall
// shapes and every element size.
TEST(ChannelTiling, EveryElementExactlyOnce) {
  using cuda::detail::ChannelShape;
  using cuda::detail::ChannelThread;
  using cuda::detail::ChannelTiling;
  constexpr int kThreads = 256;
  const std::int64_t shapes[][2] = {{0, 5}, {5, 0}, {1, 1}, {1, 7}, {3, 4}, {1000, 3}, {17, 64}, {4099, 8},
                                    {3, 5000}, {70000, 2}, {2, 123457}};
  for (std::size_t size : {2u, 4u, 8u}) {
    for (const auto& s : shapes) {
      const ChannelShape shape{s[0], s[1], 1, s[1]};
      const ChannelTiling t = cuda::detail::channel_tiling(shape, size, kThreads);
      ASSERT_LE(t.row_slots * t.column_threads, kThreads);
      ASSERT_GE(t.row_slots, 1);
      std::vector<unsigned char> seen(static_cast<std::size_t>(shape.rows * shape.width), 0);
      for (std::int64_t tile = 0; tile < t.tiles(); ++tile) {
        for (int index = 0; index < kThreads; ++index) {
          const ChannelThread me = t.thread(index);
          if (me.slot >= t.row_slots) continue;
          const std::int64_t column = t.first_column(tile, me);
          const int valid = t.valid_lanes(column);
          for (std::int64_t row = t.first_row(tile, me); row < t.row_end(tile); row += t.row_slots) {
            for (int k = 0; k < valid; ++k) ++seen[static_cast<std::size_t>(row * shape.width + column + k)];
          }
        }
      }
      for (std::size_t i = 0; i < seen.size(); ++i) {
        ASSERT_EQ(seen[i], 1) << "size " << size << " shape " << shape.rows << "x" << shape.width << " element " << i;
      }
    }
  }
}

// Stage 2's walk over a channel's terms, as the kernel runs it (segments of kSegmentTerms terms,
// each thread striding by the block size from its own first term), against the direct address of
// each term: every term of the channel once, no other address.
TEST(ChannelTiling, StageTwoVisitsEveryTermOnce) {
  using cuda::detail::ChannelTerms;
  using cuda::detail::TermCursor;
  constexpr int kThreads = 256;
  const ChannelTerms layouts[] = {{3, 7, 1, 7}, {2, 12, 4, 3}, {5, 300, 300, 1}, {1, 64 * 3000, 3000, 64},
                                  {70, 5000, 1, 5000}, {2, 40000, 40000, 1}, {0, 5, 1, 5}};
  for (const ChannelTerms& terms : layouts) {
    const std::int64_t segments = cuda::detail::segments_per_channel(terms);
    for (std::int64_t c = 0; c < terms.channels; ++c) {
      std::vector<int> seen(static_cast<std::size_t>(terms.row_tiles * terms.width), 0);
      for (std::int64_t segment = 0; segment < segments; ++segment) {
        const std::int64_t segment_end = (segment + 1) * cuda::detail::kSegmentTerms;
        const std::int64_t end = segments == 1 || segment_end > terms.terms() ? terms.terms() : segment_end;
        for (int t = 0; t < kThreads; ++t) {
          const std::int64_t first = segment * cuda::detail::kSegmentTerms + t;
          if (first >= end) continue;
          TermCursor cursor(terms, c, first, kThreads);
          for (std::int64_t k = first; k < end; k += kThreads, cursor.advance()) {
            ASSERT_EQ(cursor.offset(), (k / terms.inner) * terms.width + c * terms.inner + k % terms.inner);
            ++seen[static_cast<std::size_t>(cursor.offset())];
          }
        }
      }
      for (std::int64_t r = 0; r < terms.row_tiles; ++r) {
        for (std::int64_t j = 0; j < terms.width; ++j) {
          const bool mine = j / terms.inner == c;
          ASSERT_EQ(seen[static_cast<std::size_t>(r * terms.width + j)], mine ? 1 : 0) << "channel " << c << " term " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace actk
