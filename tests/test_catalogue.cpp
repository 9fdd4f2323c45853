// The catalogue: names, lookup, parameters and capabilities are consistent.
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "actk/actk.hpp"
#include "host/validation/golden.hpp"

namespace actk {
namespace {

TEST(Catalogue, ListsTheTwentyElementwiseActivations) {
  const std::set<std::string> expected = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                          "selu", "celu", "gelu", "gelu_tanh", "silu", "softplus", "mish",
                                          "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign",
                                          "relu_squared", "quick_gelu"};
  std::set<std::string> names;
  for (const ActivationInfo& entry : catalogue(ActivationKind::elementwise)) names.insert(entry.name);
  EXPECT_EQ(names, expected);
  EXPECT_EQ(kElementwiseActivationCount, 20);
}

TEST(Catalogue, ListsTheStructuredActivations) {
  EXPECT_EQ(info(Activation::prelu).kind, ActivationKind::prelu);
  EXPECT_EQ(info(Activation::maxout).kind, ActivationKind::maxout);
  const std::pair<Activation, Activation> gated[] = {{Activation::glu, Activation::sigmoid},
                                                     {Activation::reglu, Activation::relu},
                                                     {Activation::geglu, Activation::gelu},
                                                     {Activation::geglu_tanh, Activation::gelu_tanh},
                                                     {Activation::swiglu, Activation::silu},
                                                     {Activation::swiglu_clamped, Activation::quick_gelu},
                                                     {Activation::quick_geglu, Activation::quick_gelu}};
  for (const auto& [entry, gate] : gated) {
    EXPECT_EQ(info(entry).kind, ActivationKind::gated);
    EXPECT_EQ(info(entry).gate, gate);
  }
  int count = 0;
  for (const ActivationInfo& entry : catalogue()) count += entry.kind != ActivationKind::elementwise;
  EXPECT_EQ(count, 9);
  EXPECT_EQ(kActivationCount, 29);
}

std::string source_file(const char* path) {
  std::ifstream in(std::string(ACTK_SOURCE_DIR) + "/" + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// README.md's "Adding an activation": the catalogue line and the functors are checked by the
// compiler (every X-macro expansion names them); what it cannot see is checked here: the oracle's
// golden values (tests/data/gen_golden.py) for f32 and f64 calls, the README's table row and the
// ulp table of host/cpu/README.md.
TEST(Catalogue, EveryEntryHasGoldenValuesAndItsDocumentation) {
  const std::string readme = source_file("README.md"), cpu_readme = source_file("host/cpu/README.md");
  ASSERT_FALSE(readme.empty() || cpu_readme.empty()) << "README.md or host/cpu/README.md not found under " ACTK_SOURCE_DIR;
  for (const ActivationInfo& entry : catalogue()) {
    const std::string name = entry.name;
    if (entry.kind == ActivationKind::elementwise) {
      for (const DType dtype : {DType::f32, DType::f64}) {
        int points = 0;
        for (const validation::GoldenPoint& point : validation::golden_points()) {
          points += point.activation == entry.activation && validation::serves(point, dtype);
        }
        EXPECT_GE(points, 200) << name << ": golden values for " << dtype_name(dtype)
                               << " calls (add it to tests/data/gen_golden.py and re-run it)";
      }
      EXPECT_NE(readme.find("\n| " + name + " |"), std::string::npos) << name << ": no row in README.md's catalogue";
      EXPECT_NE(cpu_readme.find("\n| " + name + " |"), std::string::npos) << name << ": no row in host/cpu/README.md's ulp table";
    } else {
      EXPECT_NE(readme.find(name), std::string::npos) << name << ": not in README.md's structured table";
    }
  }
}

TEST(Catalogue, NameLookupRoundTrips) {
  for (const ActivationInfo& entry : catalogue()) {
    EXPECT_EQ(activation_from_name(entry.name), entry.activation);
    EXPECT_EQ(&info(entry.activation), &entry);
    EXPECT_STREQ(activation_name(entry.activation), entry.name);
  }
  EXPECT_EQ(activation_from_name("swish"), Activation::silu);
  EXPECT_FALSE(activation_from_name("gelu2").has_value());
  EXPECT_FALSE(activation_from_name("").has_value());
}

TEST(Catalogue, ParametersAndDefaultsFollowPyTorch) {
  EXPECT_TRUE(info(Activation::leaky_relu).uses(Param::negative_slope));
  EXPECT_EQ(param_default(Param::negative_slope), 0.01);  // in double, as PyTorch's scalars
  EXPECT_TRUE(info(Activation::softplus).uses(Param::beta));
  EXPECT_TRUE(info(Activation::softplus).uses(Param::threshold));
  EXPECT_EQ(param_default(Param::threshold), 20.0);
  EXPECT_TRUE(info(Activation::hardtanh).uses(Param::min_val));
  EXPECT_EQ(param_default(Param::min_val), -1.0);
  EXPECT_EQ(param_default(Param::max_val), 1.0);
  EXPECT_EQ(info(Activation::gelu).param_mask, 0u);
  EXPECT_STREQ(param_name(Param::alpha), "alpha");
  // CLIP's QuickGELU and GPT-OSS's clamped SwiGLU (alpha = 1.702, limit = 7.0).
  EXPECT_EQ(info(Activation::quick_gelu).param_mask, ACTK_PARAM_BIT(sigmoid_scale));
  EXPECT_EQ(info(Activation::swiglu_clamped).param_mask, ACTK_PARAM_BIT(sigmoid_scale) | ACTK_PARAM_BIT(limit));
  EXPECT_EQ(info(Activation::quick_geglu).param_mask, ACTK_PARAM_BIT(sigmoid_scale));
  EXPECT_EQ(param_default(Param::sigmoid_scale), 1.702);
  EXPECT_EQ(param_default(Param::limit), 7.0);
  for (const Param param : kAllParams) {
    ActivationParams p;
    set_param_value(p, param, 0.125);
    EXPECT_EQ(param_value(p, param), 0.125) << param_name(param);
  }
}

TEST(Catalogue, ParametersRoundOnceToTheComputeType) {
  ActivationParams given;
  given.negative_slope = 0.01;
  given.alpha = 1e300;
  given.beta = 1e-50;
  EXPECT_EQ(params_for_compute(given, DType::f64).negative_slope, 0.01);
  EXPECT_EQ(params_for_compute(given, DType::f64).beta, 1e-50);
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    const ActivationParams p = params_for_compute(given, dtype);
    EXPECT_EQ(p.negative_slope, static_cast<double>(0.01f));
    EXPECT_TRUE(std::isinf(p.alpha));
    EXPECT_EQ(p.beta, 0.0);
  }
}

TEST(Catalogue, BackwardFromOutputFollowsTheTable) {
  const ActivationParams defaults;
  for (const char* name : {"identity", "sigmoid", "tanh", "relu", "relu_squared", "leaky_relu", "elu", "selu", "celu"}) {
    EXPECT_TRUE(supports_backward_from_output(*activation_from_name(name), defaults)) << name;
  }
  for (const char* name :
       {"gelu", "gelu_tanh", "silu", "quick_gelu", "softplus", "mish", "hardtanh", "hardswish", "softsign"}) {
    EXPECT_FALSE(supports_backward_from_output(*activation_from_name(name), defaults)) << name;
  }
  ActivationParams flat;
  flat.negative_slope = 0.0f;
  EXPECT_FALSE(supports_backward_from_output(Activation::leaky_relu, flat));
  flat.alpha = -1.0f;
  EXPECT_FALSE(supports_backward_from_output(Activation::elu, flat));
}

TEST(Backends, NamesAndAvailability) {
  EXPECT_STREQ(backend_name(Backend::automatic), "auto");
  EXPECT_STREQ(pass_name(Pass::forward_backward), "forward_backward");
  EXPECT_TRUE(backend_available(Backend::reference));
  EXPECT_TRUE(backend_available(Backend::cpu));
  std::string why;
  if (!backend_available(Backend::cuda, &why)) EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace actk
