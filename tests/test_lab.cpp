// The lab's claims, on short seeded runs (seconds): what `actk lab` reports must hold for these
// nets, and each assertion fails if the activation's forward or backward on the cpu backend is
// wrong in the way the claim is about (no nonlinearity, a vanishing or missing derivative, a
// derivative that is zero where it must not be).
#include <gtest/gtest.h>

#include <cmath>

#include "host/lab/lab.hpp"

namespace {

using namespace actk;
using namespace actk::lab;

class Lab : public ::testing::Test {
 protected:
  void SetUp() override { device = make_device(Backend::cpu); }

  MlpShape shape(Activation activation, std::uint64_t seed = 1) const {
    MlpShape s;
    s.activation = activation;
    s.seed = seed;
    return s;
  }
  double spirals_accuracy(Activation activation, Device& on) {
    Mlp net(on, shape(activation), spirals.count());
    return train(net, spirals, 600, 0.05f, 0.9f, 0.1, 0).accuracy;
  }
  double first_layer_gradient(Activation activation, int depth, Init init) {
    MlpShape s = shape(activation);
    s.depth = depth;
    s.init = init;
    return gradient_norms_at_init(*device, s, spirals).front();
  }

  std::unique_ptr<Device> device;
  Points spirals = make_points(DataSet::spirals, 512, 1);
};

TEST_F(Lab, TheIdentityCannotFitTheSpiralsAndNonlinearNetsDo) {
  // Stacked linear layers are one linear map: a line through the spirals.
  EXPECT_LT(spirals_accuracy(Activation::identity, *device), 0.75);
  for (const Activation a : {Activation::relu, Activation::tanh, Activation::gelu, Activation::prelu,
                             Activation::maxout, Activation::swiglu}) {
    EXPECT_GT(spirals_accuracy(a, *device), 0.95) << activation_name(a);
  }
}

TEST_F(Lab, SaturatingActivationsLoseTheGradientWithDepth) {
  const double relu_he = first_layer_gradient(Activation::relu, 16, Init::he);
  ASSERT_GT(relu_he, 1e-3);
  // sigmoid' <= 1/4: under the init that keeps ReLU's gradient, sigmoid's first layer at depth 16
  // gets less than 1e-6 of it.
  EXPECT_LT(first_layer_gradient(Activation::sigmoid, 16, Init::he), 1e-6 * relu_he);
  EXPECT_LT(first_layer_gradient(Activation::sigmoid, 16, Init::he),
            1e-4 * first_layer_gradient(Activation::sigmoid, 2, Init::he));
  // tanh'(0) = 1: under He init tanh keeps its gradient (measured: within 10x of ReLU's) ...
  EXPECT_GT(first_layer_gradient(Activation::tanh, 16, Init::he), 0.1 * relu_he);
  // ... and loses it once the init saturates it: under N(0, 1), orders of magnitude below ReLU's.
  EXPECT_LT(first_layer_gradient(Activation::tanh, 16, Init::standard_normal),
            1e-3 * first_layer_gradient(Activation::relu, 16, Init::standard_normal));
}

// Some ReLU units start dead (He init: a second-layer unit negative on every point); training
// at the large rate kills more, at the small rate it revives some. Leaky ReLU's never die.
TEST_F(Lab, ReluUnitsDieAtALargeLearningRateAndLeakyReluUnitsDoNot) {
  double at_init = 0, after_small_rate = 0, after_large_rate = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    for (const float rate : {0.05f, 0.3f}) {
      for (const Activation a : {Activation::relu, Activation::leaky_relu}) {
        MlpShape s = shape(a, seed);
        s.bias_init = 0.1f;
        Mlp net(*device, s, spirals.count());
        const TrainResult run = train(net, spirals, 1000, rate, 0.9f, 0.1, 50);
        ASSERT_FALSE(run.diverged) << activation_name(a);
        if (a == Activation::leaky_relu) {
          for (const double f : run.dead_fraction) EXPECT_EQ(f, 0.0) << "seed " << seed << ", lr " << rate;
          continue;
        }
        if (rate == 0.05f) at_init += run.dead_fraction.front();
        (rate == 0.05f ? after_small_rate : after_large_rate) += run.dead_fraction.back();
      }
    }
  }
  EXPECT_GT(after_large_rate, at_init);
  EXPECT_GT(after_large_rate, after_small_rate);
}

TEST_F(Lab, SigmoidOutputsAreNotZeroCentredAndTanhOutputsAre) {
  Mlp sigmoid(*device, shape(Activation::sigmoid), spirals.count());
  Mlp tanh(*device, shape(Activation::tanh), spirals.count());
  EXPECT_GT(sigmoid.mean_activation(spirals.x.data(), spirals.count()), 0.3);
  EXPECT_LT(std::fabs(tanh.mean_activation(spirals.x.data(), spirals.count())), 0.1);
}

TEST_F(Lab, TheReportHasEveryEntryOfTheCatalogue) {
  LabOptions options;
  options.backends = {Backend::cpu};
  options.steps = 20;
  options.easy_steps = 5;
  options.depths = {2};
  options.gradient_seeds = 1;
  options.dead_seeds = 1;
  options.grid = 8;
  options.sign_examples = 4;
  const LabReport report = run_lab(options);
  ASSERT_EQ(static_cast<int>(report.results.size()), kActivationCount);
  for (const ActivationResult& r : report.results) {
    EXPECT_EQ(r.dead.size(), 4u) << activation_name(r.activation);
    EXPECT_EQ(r.boundary.size(), 64u);
    EXPECT_EQ(r.gradients.size(), 2u);
    EXPECT_GT(r.step_times.front().seconds, 0.0);
  }
}

TEST_F(Lab, TheCudaNetsTrainAsTheCpuNetsDo) {
  std::string why;
  std::unique_ptr<Device> cuda = make_device(Backend::cuda, &why);
  if (!cuda) GTEST_SKIP() << why;
  for (const Activation a : {Activation::relu, Activation::prelu, Activation::maxout, Activation::swiglu}) {
    // The same gradients at init (the GEMMs sum in other orders: f32 rounding apart) ...
    const std::vector<double> on_cuda = gradient_norms_at_init(*cuda, shape(a), spirals);
    const std::vector<double> on_cpu = gradient_norms_at_init(*device, shape(a), spirals);
    ASSERT_EQ(on_cuda.size(), on_cpu.size());
    for (std::size_t l = 0; l < on_cpu.size(); ++l) {
      EXPECT_NEAR(on_cuda[l], on_cpu[l], 1e-4 * on_cpu[l]) << activation_name(a) << ", layer " << l;
    }
    // ... and the same outcome of training.
    EXPECT_NEAR(spirals_accuracy(a, *cuda), spirals_accuracy(a, *device), 0.02) << activation_name(a);
  }
}

}  // namespace
