// A small multilayer perceptron whose hidden layers are actk's activations on a Device: every
// layer is z = x W^T (a GEMM), u = f(z + b) (forward_bias: the activation itself for an elementwise
// entry, the identity for a structured one), then prelu / maxout / gated on u; the backward pass
// is actk's backward calls and two GEMMs per layer. The output layer is linear, with a softmax
// cross-entropy loss computed on the host (a batch x 2 array).
#pragma once

#include <cstdint>
#include <vector>

#include "actk/catalogue.hpp"
#include "host/lab/device.hpp"

namespace actk::lab {

/// How the weights start: He (normal, variance 2 / fan_in: the init for ReLU nets, used for
/// every activation so they compare under the same init) or the standard normal (variance 1,
/// which saturates tanh and sigmoid).
enum class Init : std::uint8_t { he, standard_normal };
const char* init_name(Init init) noexcept;

struct MlpShape {
  Activation activation = Activation::relu;
  int inputs = 2;
  int width = 32;   ///< units per hidden layer (a gated layer projects to 2 x width, maxout to k x width)
  int depth = 2;    ///< hidden layers
  int classes = 2;
  int maxout_k = 2;
  Init init = Init::he;
  float bias_init = 0.0f;  ///< every hidden bias starts here (the output layer's at 0)
  std::uint64_t seed = 1;
};

class Mlp {
 public:
  /// Room for batches of up to `max_batch` rows.
  Mlp(Device& device, const MlpShape& shape, int max_batch);

  /// Forward and backward on a batch of host points (rows x inputs): fills every gradient and
  /// returns the mean cross-entropy.
  double gradients(const float* x, const int* labels, int rows);
  /// One step of SGD with momentum from the gradients of the last call to gradients() (not
  /// valid after dead_fraction(), which overwrites them); returns when the update is done.
  void step(float learning_rate, float momentum);
  /// The predicted class of each row.
  std::vector<int> predict(const float* x, int rows);

  int layers() const noexcept { return static_cast<int>(layers_.size()); }
  /// The width of a layer's pre-activation z (the rows of its weight matrix).
  int pre_units(int layer) const noexcept { return layers_[layer].pre; }
  /// Frobenius norm of the weight gradient of a layer (0 = the first hidden layer).
  double weight_gradient_norm(int layer) const;
  /// The weight gradient of a layer, rows = its pre-activation units, row-major.
  std::vector<float> weight_gradient(int layer) const;
  /// Of the hidden units, the fraction whose output has a zero gradient with respect to its every
  /// input (f' = 0 on every pre-activation it reads) for every row of x: units that cannot learn.
  /// Overwrites the gradients.
  double dead_fraction(const float* x, int rows);
  /// The mean of every hidden activation over the rows of x.
  double mean_activation(const float* x, int rows);
  /// True when any parameter is NaN or infinite (a diverged run).
  bool diverged() const;

 private:
  struct Layer {
    int inputs = 0, units = 0, pre = 0;  // pre: the width of z (units, 2 units or k units)
    bool hidden = true;
    ActivationKind kind = ActivationKind::elementwise;  // the output layer's is elementwise
    Activation fused = Activation::identity;  // what forward_bias applies: elementwise f, else the identity
    Buffer<float> w, b, dw, db, vw, vb;                  // parameters, gradients, momenta
    Buffer<float> prelu_w, prelu_dw, prelu_vw;           // PReLU's learned slopes
    Buffer<float> z, u, a, dz, du, da;                   // max_batch rows each
    Buffer<std::int32_t> argmax;                         // maxout
  };
  /// Forward on rows x inputs host points (copied to the net's input; an error beyond max_batch).
  void forward(const float* x, int rows);
  /// From da of a layer to dz (actk's backward calls), then to dW and (if given) dx.
  void backward_layer(Layer& layer, const float* input, int rows, float* dx);
  void local_backward(Layer& layer, int rows);
  const float* input_of(int layer) const;

  Device& device_;
  MlpShape shape_;
  int max_batch_;
  Buffer<float> x_;
  std::vector<Layer> layers_;
};

}  // namespace actk::lab
