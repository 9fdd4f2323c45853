// Every bad input raises actk::Error naming the call, the activation, the argument and the reason,
// and leaves every output untouched (canary bytes).
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support.hpp"

namespace actk {
namespace {

using validation::HostBuffer;
constexpr unsigned char kCanary = 0xA5;

struct Buffers {
  HostBuffer x{DType::f32, std::vector<double>(64, 0.5)};
  HostBuffer dy{DType::f32, std::vector<double>(64, 1.0)};
  HostBuffer y{DType::f32, 64};
  HostBuffer dx{DType::f32, 64};
  Buffers() {
    y.fill_bytes(kCanary);
    dx.fill_bytes(kCanary);
  }
  bool outputs_untouched() const {
    HostBuffer canary(DType::f32, 64);
    canary.fill_bytes(kCanary);
    return y == canary && dx == canary;
  }
};

void expect_error(const std::function<void()>& call, const Buffers& buffers, const std::string& call_name,
                  const std::string& argument, const std::string& reason_part) {
  try {
    call();
    ADD_FAILURE() << "no error for " << call_name << " " << argument << " (" << reason_part << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.call(), call_name) << e.what();
    EXPECT_EQ(e.argument(), argument) << e.what();
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("actk::" + call_name + "("), std::string::npos) << e.what();
    EXPECT_TRUE(buffers.outputs_untouched()) << "an output was written before the error: " << e.what();
  }
}

class Errors : public ::testing::TestWithParam<Activation> {};

TEST_P(Errors, NullPointers) {
  const Activation a = GetParam();
  Buffers b;
  expect_error([&] { forward(a, ConstTensorView(nullptr, DType::f32, 64), b.y.view()); }, b, "forward", "x",
               "null pointer");
  expect_error([&] { forward(a, b.x.view(), TensorView(nullptr, DType::f32, 64)); }, b, "forward", "y",
               "null pointer");
  expect_error([&] { backward(a, b.x.view(), ConstTensorView(nullptr, DType::f32, 64), b.dx.view()); }, b,
               "backward", "dy", "null pointer");
  expect_error([&] { forward_backward(a, b.x.view(), b.dy.view(), b.y.view(), TensorView(nullptr, DType::f32, 64)); },
               b, "forward_backward", "dx", "null pointer");
}

TEST_P(Errors, CountAndDtypeMismatch) {
  const Activation a = GetParam();
  Buffers b;
  expect_error([&] { forward(a, b.x.view(), TensorView(b.y.data(), DType::f32, 63)); }, b, "forward", "y",
               "does not match x's count 64");
  expect_error([&] { backward(a, b.x.view(), ConstTensorView(b.dy.data(), DType::f32, 65), b.dx.view()); }, b,
               "backward", "dy", "does not match x's count");
  expect_error([&] { forward(a, b.x.view(), TensorView(b.y.data(), DType::bf16, 64)); }, b, "forward", "y",
               "dtype bf16 does not match x's dtype f32");
  expect_error([&] { forward(a, ConstTensorView(b.x.data(), DType::f32, -1), TensorView(b.y.data(), DType::f32, -1)); },
               b, "forward", "x", "negative");
  expect_error([&] { forward(a, b.x.view(), TensorView(b.y.data(), static_cast<DType>(9), 64)); }, b, "forward",
               "y", "unknown dtype");
  expect_error([&] { forward(a, ConstTensorView(static_cast<const char*>(b.x.data()) + 2, DType::f32, 8), TensorView(b.y.data(), DType::f32, 8)); },
               b, "forward", "x", "not a multiple of 4 bytes");
}

TEST_P(Errors, PartialOverlap) {
  const Activation a = GetParam();
  Buffers b;
  HostBuffer shared(DType::f32, 128);
  shared.fill_bytes(kCanary);
  auto* base = static_cast<float*>(shared.data());
  const HostBuffer before = shared;
  try {
    forward(a, ConstTensorView(base, 64), TensorView(base + 1, 64));
    ADD_FAILURE() << "no error for a partial overlap";
  } catch (const Error& e) {
    EXPECT_EQ(e.argument(), "y");
    EXPECT_NE(e.reason().find("partially overlaps x"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(shared == before);
  expect_error([&] { forward_backward(a, b.x.view(), b.dy.view(), b.y.view(), b.y.view()); }, b, "forward_backward",
               "y", "overlaps the other output dx");
}

TEST_P(Errors, BackwardFromOutputWhereTheCatalogueForbidsIt) {
  const Activation a = GetParam();
  Buffers b;
  if (supports_backward_from_output(a, ActivationParams{})) {
    EXPECT_NO_THROW(backward_from_output(a, b.x.view(), b.dy.view(), b.dx.view(), {Backend::reference}));
  } else {
    expect_error([&] { backward_from_output(a, b.x.view(), b.dy.view(), b.dx.view()); }, b, "backward_from_output",
                 "y", "does not determine the derivative");
  }
}

TEST_P(Errors, NonFiniteParameters) {
  const Activation a = GetParam();
  const ActivationInfo& entry = info(a);
  for (const Param p : kAllParams) {
    if (!entry.uses(p)) continue;
    Buffers b;
    Options options;
    set_param_value(options.params, p, std::numeric_limits<double>::quiet_NaN());
    expect_error([&] { forward(a, b.x.view(), b.y.view(), options); }, b, "forward", param_name(p), "finite");
  }
}

TEST_P(Errors, ZeroCountIsANoOpEvenWithNullPointers) {
  const Activation a = GetParam();
  EXPECT_NO_THROW(forward(a, ConstTensorView(nullptr, DType::f16, 0), TensorView(nullptr, DType::f16, 0)));
  EXPECT_NO_THROW(backward(a, ConstTensorView(nullptr, DType::f64, 0), ConstTensorView(nullptr, DType::f64, 0),
                           TensorView(nullptr, DType::f64, 0)));
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, Errors, ::testing::ValuesIn(testing::all_activations()),
                         [](const auto& param) { return std::string(activation_name(param.param)); });

TEST(ErrorsParameters, OutOfRange) {
  Buffers b;
  Options options;
  options.params.beta = 0.0f;
  expect_error([&] { forward(Activation::softplus, b.x.view(), b.y.view(), options); }, b, "forward", "beta",
               "non-zero");
  options = {};
  options.params.alpha = 0.0f;
  expect_error([&] { forward(Activation::celu, b.x.view(), b.y.view(), options); }, b, "forward", "alpha",
               "must be > 0 for celu");
  options = {};
  options.params.min_val = 2.0f;
  expect_error([&] { forward(Activation::hardtanh, b.x.view(), b.y.view(), options); }, b, "forward", "min_val",
               "greater than max_val");
  options = {};
  options.params.alpha = std::numeric_limits<float>::infinity();
  expect_error([&] { forward(Activation::elu, b.x.view(), b.y.view(), options); }, b, "forward", "alpha", "finite");
  options = {};
  options.params.negative_slope = 0.0f;
  expect_error([&] { backward_from_output(Activation::leaky_relu, b.x.view(), b.dy.view(), b.dx.view(), options); },
               b, "backward_from_output", "y", "parameter is > 0");
  options = {};
  options.params.sigmoid_scale = 0x1p-9;
  expect_error([&] { forward(Activation::quick_gelu, b.x.view(), b.y.view(), options); }, b, "forward",
               "sigmoid_scale", "must be >= 2^-8");
  options.params.sigmoid_scale = 0x1p-8;  // the smallest allowed
  EXPECT_NO_THROW(forward(Activation::quick_gelu, b.x.view(), b.y.view(), options));
  options = {};
  options.params.threshold = std::numeric_limits<double>::infinity();  // never linear: allowed
  EXPECT_NO_THROW(forward(Activation::softplus, b.x.view(), b.y.view(), options));
}

// Parameters are judged as the call computes with them: rounded to f32 for f32/f16/bf16 data.
TEST(ErrorsParameters, JudgedInTheComputeType) {
  Buffers b;
  Options options;
  options.params.beta = 1e-50;  // non-zero in double, 0 in f32
  expect_error([&] { forward(Activation::softplus, b.x.view(), b.y.view(), options); }, b, "forward", "beta",
               "must be non-zero, got 1e-50 (0 in f32)");
  options = {};
  options.params.alpha = 1e300;
  expect_error([&] { forward(Activation::elu, b.x.view(), b.y.view(), options); }, b, "forward", "alpha",
               "must be finite, got 1e+300 (inf in f32)");
  options = {};
  options.params.negative_slope = 1e-50;
  expect_error([&] { backward_from_output(Activation::leaky_relu, b.x.view(), b.dy.view(), b.dx.view(), options); },
               b, "backward_from_output", "y", "parameter is > 0 in f32");
  // The same values are valid for f64 data, which computes with them as given.
  HostBuffer x(DType::f64, std::vector<double>(8, -0.5)), y(DType::f64, 8), dy(DType::f64, std::vector<double>(8, 1.0)),
      dx(DType::f64, 8);
  options = {};
  options.params.beta = 1e-50;
  EXPECT_NO_THROW(forward(Activation::softplus, x.view(), y.view(), options));
  options = {};
  options.params.negative_slope = 1e-50;
  EXPECT_NO_THROW(backward_from_output(Activation::leaky_relu, x.view(), dy.view(), dx.view(), options));
}

TEST(ErrorsParameters, UnknownActivationAndBackend) {
  Buffers b;
  expect_error([&] { forward(static_cast<Activation>(200), b.x.view(), b.y.view()); }, b, "forward", "activation",
               "not an entry of the catalogue");
  expect_error([&] { forward(Activation::swiglu, b.x.view(), b.y.view()); }, b, "forward", "activation",
               "does not take swiglu; use gated_forward, gated_backward");
  Options options;
  options.backend = static_cast<Backend>(42);
  expect_error([&] { forward(Activation::relu, b.x.view(), b.y.view(), options); }, b, "forward", "options.backend",
               "unknown backend");
}

TEST(ErrorsBackends, CudaUnavailableIsAClearError) {
  std::string why;
  if (backend_available(Backend::cuda, &why)) GTEST_SKIP() << "a CUDA device is present; covered by the gpu suite";
  Buffers b;
  Options options;
  options.backend = Backend::cuda;
  expect_error([&] { forward(Activation::gelu, b.x.view(), b.y.view(), options); }, b, "forward", "options.backend",
               "the cuda backend is unavailable");
  // auto falls back to the CPU for host memory.
  EXPECT_EQ(forward(Activation::gelu, b.x.view(), b.y.view()), Backend::cpu);
}

}  // namespace
}  // namespace actk
