// `actk lab`: small MLPs trained with actk's own forward and backward calls on 2-D data, measuring
// what is claimed about activations: whether a nonlinearity is needed (can the identity fit the
// spirals), whether saturating activations lose the gradient with depth, how many ReLU units die
// at two learning rates and two bias inits, whether sigmoid is zero-centred, and what a step
// costs on each backend.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "actk/ops.hpp"
#include "host/lab/data.hpp"
#include "host/lab/mlp.hpp"

namespace actk::lab {

struct LabOptions {
  std::vector<Activation> activations;  ///< empty: every entry of the catalogue
  std::vector<Backend> backends = {Backend::cpu, Backend::cuda};  ///< the first that runs measures everything
  int points = 512;          ///< per data set
  int width = 32;
  int depth = 2;             ///< hidden layers of the trained nets
  int steps = 1000;          ///< full-batch SGD steps on the spirals
  int easy_steps = 300;      ///< on xor and circles
  float learning_rate = 0.05f;
  float large_learning_rate = 0.3f;
  float momentum = 0.9f;
  float positive_bias = 0.1f;  ///< the second bias init of the dying-unit runs (the first is 0)
  int dead_seeds = 3;          ///< nets per dying-unit configuration; the fractions are their mean
  double target_loss = 0.1;
  std::vector<int> depths = {2, 4, 8, 16};
  int gradient_seeds = 3;    ///< nets per depth and init; the norms are their geometric mean
  int record_every = 25;     ///< steps between dead-fraction samples
  int grid = 64;             ///< decision boundary: grid x grid points over [-1.25, 1.25]^2
  int sign_examples = 64;    ///< single-example gradients for the same-sign fraction
  std::uint64_t seed = 1;
};

/// One configuration of the dying-unit study: spirals runs from LabOptions::dead_seeds inits,
/// sampled every LabOptions::record_every steps; the fraction is the mean over the runs that did
/// not diverge (empty when all did).
struct DeadRun {
  float learning_rate = 0;
  float bias_init = 0;
  std::vector<int> steps;
  std::vector<double> fraction;
  int diverged = 0;     ///< runs whose loss or parameters stopped being finite
  double accuracy = 0;  ///< mean over the runs that did not diverge
};

struct GradientDepths {
  Init init = Init::he;
  /// [depth index][layer]: the geometric mean over seeds of |dL/dW| of each layer at init (layer 0
  /// the first hidden layer, the last the linear output layer); infinity where a net overflowed.
  std::vector<std::vector<double>> norms;
};

struct StepTime {
  Backend backend;
  double seconds = 0;    ///< per training step (forward, backward, update), full batch: the median
  double accuracy = 0;   ///< of that backend's own spirals run
};

struct ActivationResult {
  Activation activation;
  double accuracy[3] = {};     ///< per DataSet (kDataSets order), on the training points
  int steps_to_target = -1;    ///< spirals: first step with loss <= target (-1: never)
  double final_loss = 0;       ///< spirals
  std::vector<double> loss;    ///< spirals, every record_every steps
  std::vector<GradientDepths> gradients;  ///< he, then standard_normal
  std::vector<DeadRun> dead;   ///< (lr, 0), (lr, positive bias), (large lr, 0), (large lr, positive bias)
  double mean_activation = 0;  ///< of the trained spirals net's hidden units, over the points
  double same_sign_fraction = 0;  ///< rows of single-example dW (layers fed by an activation) whose nonzero entries share one sign
  std::vector<StepTime> step_times;
  std::vector<int> boundary;   ///< grid x grid predicted classes of the trained spirals net, row-major, y up
};

struct LabReport {
  LabOptions options;
  Points spirals;  ///< the training points of the spirals runs
  std::vector<ActivationResult> results;
  std::vector<std::string> unavailable;  ///< "cuda: <why>" for each backend that could not run
  double seconds = 0;
};

using LabProgress = std::function<void(int done, int total, const std::string& now)>;

LabReport run_lab(const LabOptions& options, const LabProgress& progress = {});
void print_report(const LabReport& report, std::ostream& out);
void write_json(const LabReport& report, std::ostream& out);

/// Trains one net on one backend; the building block of run_lab (and of its test).
struct TrainResult {
  double accuracy = 0;
  double final_loss = 0;
  int steps_to_target = -1;
  bool diverged = false;
  double seconds_per_step = 0;  ///< the median step
  std::vector<int> recorded_steps;
  std::vector<double> loss, dead_fraction;
};
TrainResult train(Mlp& net, const Points& points, int steps, float learning_rate, float momentum,
                  double target_loss, int record_every);

/// |dL/dW| per layer of a fresh net (first hidden layer first) on the points.
std::vector<double> gradient_norms_at_init(Device& device, const MlpShape& shape, const Points& points);

}  // namespace actk::lab
