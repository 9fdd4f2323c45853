#include "host/lab/lab.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

namespace actk::lab {
namespace {

using Clock = std::chrono::steady_clock;

double accuracy_of(Mlp& net, const Points& points) {
  const std::vector<int> predicted = net.predict(points.x.data(), points.count());
  int right = 0;
  for (int i = 0; i < points.count(); ++i) right += predicted[i] == points.label[i];
  return double(right) / points.count();
}

// Of the layers fed by an activation (all but the first), the rows of each single-example weight
// gradient dW = delta x^T that have a nonzero entry, and of those the ones whose nonzero entries
// all share one sign: every row when the layer's inputs are all >= 0 (sigmoid, relu), which makes
// all of a unit's weights move the same way in one update.
double same_sign_fraction(Mlp& net, const Points& points, int examples) {
  long same = 0, rows = 0;
  for (int e = 0; e < examples && e < points.count(); ++e) {
    net.gradients(&points.x[2 * std::size_t(e)], &points.label[e], 1);
    for (int l = 1; l < net.layers(); ++l) {
      const std::vector<float> dw = net.weight_gradient(l);
      const std::size_t inputs = dw.size() / net.pre_units(l);
      for (std::size_t r = 0; r < dw.size(); r += inputs) {
        bool positive = false, negative = false;
        for (std::size_t i = r; i < r + inputs; ++i) positive |= dw[i] > 0, negative |= dw[i] < 0;
        if (!positive && !negative) continue;
        ++rows;
        same += !(positive && negative);
      }
    }
  }
  return rows ? double(same) / rows : 0.0;
}

std::vector<int> decision_boundary(Mlp& net, int grid) {
  std::vector<float> x;
  x.reserve(2 * std::size_t(grid) * grid);
  for (int i = 0; i < grid; ++i) {
    for (int j = 0; j < grid; ++j) {
      x.push_back(static_cast<float>(-1.25 + 2.5 * (j + 0.5) / grid));
      x.push_back(static_cast<float>(1.25 - 2.5 * (i + 0.5) / grid));
    }
  }
  return net.predict(x.data(), grid * grid);
}

}  // namespace

TrainResult train(Mlp& net, const Points& points, int steps, float learning_rate, float momentum,
                  double target_loss, int record_every) {
  TrainResult result;
  std::vector<double> step_seconds;
  step_seconds.reserve(steps);
  for (int step = 0; step <= steps; ++step) {
    if (record_every > 0 && step % record_every == 0) {
      result.recorded_steps.push_back(step);
      result.dead_fraction.push_back(net.dead_fraction(points.x.data(), points.count()));
    }
    if (step == steps) break;
    const Clock::time_point start = Clock::now();
    const double loss = net.gradients(points.x.data(), points.label.data(), points.count());
    net.step(learning_rate, momentum);
    step_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (record_every > 0 && step % record_every == 0) result.loss.push_back(loss);
    if (!std::isfinite(loss)) {
      result.diverged = true;
      break;
    }
    if (result.steps_to_target < 0 && loss <= target_loss) result.steps_to_target = step;
    result.final_loss = loss;
  }
  result.diverged = result.diverged || net.diverged();
  // The median: a step is a tenth of a millisecond, and a preempted one would move a mean.
  std::nth_element(step_seconds.begin(), step_seconds.begin() + step_seconds.size() / 2, step_seconds.end());
  result.seconds_per_step = step_seconds.empty() ? 0.0 : step_seconds[step_seconds.size() / 2];
  result.accuracy = accuracy_of(net, points);
  return result;
}

std::vector<double> gradient_norms_at_init(Device& device, const MlpShape& shape, const Points& points) {
  Mlp net(device, shape, points.count());
  net.gradients(points.x.data(), points.label.data(), points.count());
  std::vector<double> norms;
  for (int l = 0; l < net.layers(); ++l) norms.push_back(net.weight_gradient_norm(l));
  return norms;
}

LabReport run_lab(const LabOptions& options, const LabProgress& progress) {
  const Clock::time_point start = Clock::now();
  LabReport report;
  report.options = options;
  std::vector<std::unique_ptr<Device>> devices;
  for (const Backend backend : options.backends) {
    std::string why;
    if (std::unique_ptr<Device> device = make_device(backend, &why)) {
      devices.push_back(std::move(device));
    } else {
      report.unavailable.push_back(std::string(backend_name(backend)) + ": " + why);
    }
  }
  if (devices.empty()) throw std::runtime_error("actk lab: none of the backends asked for can run here");
  Device& device = *devices.front();

  std::vector<Activation> activations = options.activations;
  if (activations.empty()) {
    for (const ActivationInfo& entry : catalogue()) activations.push_back(entry.activation);
  }
  std::vector<Points> data;
  for (const DataSet set : kDataSets) data.push_back(make_points(set, options.points, options.seed));
  const Points& spirals = data[0];
  report.spirals = spirals;

  int done = 0;
  for (const Activation activation : activations) {
    if (progress) progress(done, static_cast<int>(activations.size()), activation_name(activation));
    ActivationResult result;
    result.activation = activation;
    MlpShape shape;
    shape.activation = activation;
    shape.width = options.width;
    shape.depth = options.depth;
    shape.seed = options.seed;

    // The dying-unit study; its first run (small learning rate, zero bias, the first seed) is the
    // main spirals run, which the other measurements use.
    for (const float learning_rate : {options.learning_rate, options.large_learning_rate}) {
      for (const float bias : {0.0f, options.positive_bias}) {
        DeadRun study{learning_rate, bias, {}, {}, 0, 0.0};
        int finite = 0;
        for (int s = 0; s < options.dead_seeds; ++s) {
          MlpShape run_shape = shape;
          run_shape.bias_init = bias;
          run_shape.seed = options.seed + s;
          Mlp net(device, run_shape, std::max(options.points, options.grid * options.grid));
          const TrainResult run = train(net, spirals, options.steps, learning_rate, options.momentum,
                                        options.target_loss, options.record_every);
          if (result.dead.empty() && s == 0) {
            result.accuracy[0] = run.accuracy;
            result.steps_to_target = run.steps_to_target;
            result.final_loss = run.final_loss;
            result.loss = run.loss;
            result.step_times.push_back({device.backend(), run.seconds_per_step, run.accuracy});
            result.mean_activation = net.mean_activation(spirals.x.data(), spirals.count());
            result.boundary = decision_boundary(net, options.grid);
            result.same_sign_fraction = same_sign_fraction(net, spirals, options.sign_examples);
          }
          if (run.diverged) {
            ++study.diverged;
            continue;
          }
          if (study.fraction.empty()) {
            study.steps = run.recorded_steps;
            study.fraction.assign(run.dead_fraction.size(), 0.0);
          }
          for (std::size_t i = 0; i < study.fraction.size(); ++i) study.fraction[i] += run.dead_fraction[i];
          study.accuracy += run.accuracy;
          ++finite;
        }
        for (double& f : study.fraction) f /= finite;
        if (finite) study.accuracy /= finite;
        result.dead.push_back(std::move(study));
      }
    }
    for (std::size_t d = 1; d < data.size(); ++d) {
      Mlp net(device, shape, options.points);
      result.accuracy[d] =
          train(net, data[d], options.easy_steps, options.learning_rate, options.momentum, 0.0, 0).accuracy;
    }
    // The other backends: the same spirals run, for its time per step and its own accuracy.
    for (std::size_t b = 1; b < devices.size(); ++b) {
      Mlp net(*devices[b], shape, options.points);
      const TrainResult run = train(net, spirals, options.steps, options.learning_rate, options.momentum,
                                    options.target_loss, 0);
      result.step_times.push_back({devices[b]->backend(), run.seconds_per_step, run.accuracy});
    }
    // Gradient norms at init by depth, under each init.
    for (const Init init : {Init::he, Init::standard_normal}) {
      GradientDepths depths{init, {}};
      for (const int depth : options.depths) {
        MlpShape deep = shape;
        deep.depth = depth;
        deep.init = init;
        // A geometric mean: the norms span tens of orders of magnitude. An overflowed net (inf or
        // NaN) makes its layer's mean infinite.
        std::vector<double> log_sum(depth + 1, 0.0);
        for (int s = 0; s < options.gradient_seeds; ++s) {
          deep.seed = options.seed + 1000 * (s + 1);
          const std::vector<double> norms = gradient_norms_at_init(device, deep, spirals);
          for (int l = 0; l <= depth; ++l) {
            log_sum[l] += std::isfinite(norms[l]) ? std::log(norms[l]) : HUGE_VAL;
          }
        }
        for (double& v : log_sum) v = std::exp(v / options.gradient_seeds);
        depths.norms.push_back(log_sum);
      }
      result.gradients.push_back(depths);
    }
    report.results.push_back(std::move(result));
    ++done;
  }
  if (progress) progress(done, done, "done");
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

}  // namespace actk::lab
