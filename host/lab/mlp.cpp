#include "host/lab/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "actk/structured.hpp"
#include "host/lab/data.hpp"

namespace actk::lab {

const char* init_name(Init init) noexcept { return init == Init::he ? "he" : "standard_normal"; }

namespace {

template <class T>
std::vector<T> fetch(Device& device, const Buffer<T>& buffer, std::size_t count) {
  std::vector<T> host(count);
  device.download(host.data(), buffer.data(), count * sizeof(T));
  return host;
}

template <class T>
void store(Device& device, const Buffer<T>& buffer, const std::vector<T>& host) {
  device.upload(buffer.data(), host.data(), host.size() * sizeof(T));
}

}  // namespace

Mlp::Mlp(Device& device, const MlpShape& shape, int max_batch)
    : device_(device), shape_(shape), max_batch_(max_batch), x_(device, std::size_t(max_batch) * shape.inputs) {
  const ActivationKind hidden_kind = info(shape.activation).kind;
  Random random(shape.seed);
  const std::size_t batch = static_cast<std::size_t>(max_batch);
  for (int l = 0; l <= shape.depth; ++l) {
    Layer layer;
    layer.hidden = l < shape.depth;
    layer.inputs = l == 0 ? shape.inputs : shape.width;
    layer.units = layer.hidden ? shape.width : shape.classes;
    // The output layer is linear: an elementwise identity.
    layer.kind = layer.hidden ? hidden_kind : ActivationKind::elementwise;
    layer.fused = layer.hidden && layer.kind == ActivationKind::elementwise ? shape.activation : Activation::identity;
    layer.pre = layer.kind == ActivationKind::gated    ? 2 * layer.units
                : layer.kind == ActivationKind::maxout ? shape.maxout_k * layer.units
                                                       : layer.units;
    const std::size_t weights = std::size_t(layer.pre) * layer.inputs, pre = layer.pre;
    layer.w = Buffer<float>(device, weights);
    layer.dw = Buffer<float>(device, weights);
    layer.vw = Buffer<float>(device, weights);
    layer.b = Buffer<float>(device, pre);
    layer.db = Buffer<float>(device, pre);
    layer.vb = Buffer<float>(device, pre);
    layer.z = Buffer<float>(device, batch * pre);
    layer.dz = Buffer<float>(device, batch * pre);
    layer.a = Buffer<float>(device, batch * layer.units);
    layer.da = Buffer<float>(device, batch * layer.units);
    if (layer.kind != ActivationKind::elementwise) {
      layer.u = Buffer<float>(device, batch * pre);
      layer.du = Buffer<float>(device, batch * pre);
    }
    if (layer.kind == ActivationKind::prelu) {
      layer.prelu_w = Buffer<float>(device, layer.units);
      layer.prelu_dw = Buffer<float>(device, layer.units);
      layer.prelu_vw = Buffer<float>(device, layer.units);
      store(device, layer.prelu_w, std::vector<float>(layer.units, 0.25f));  // PyTorch's default slope
    }
    if (layer.kind == ActivationKind::maxout) layer.argmax = Buffer<std::int32_t>(device, batch * layer.units);

    const double deviation = shape.init == Init::he ? std::sqrt(2.0 / layer.inputs) : 1.0;
    std::vector<float> w(weights);
    for (float& value : w) value = static_cast<float>(deviation * random.normal());
    store(device, layer.w, w);
    store(device, layer.b, std::vector<float>(pre, layer.hidden ? shape.bias_init : 0.0f));
    layers_.push_back(std::move(layer));
  }
}

const float* Mlp::input_of(int layer) const { return layer == 0 ? x_.data() : layers_[layer - 1].a.data(); }

void Mlp::forward(const float* x, int rows) {
  if (rows < 1 || rows > max_batch_) {
    throw std::invalid_argument("lab: a batch of " + std::to_string(rows) + " rows, the net has room for 1 to " +
                                std::to_string(max_batch_));
  }
  device_.upload(x_.data(), x, sizeof(float) * std::size_t(rows) * shape_.inputs);
  const Options options = device_.options();
  const float* input = x_.data();
  for (Layer& layer : layers_) {
    const std::int64_t n = std::int64_t(rows) * layer.pre, units = layer.units;
    device_.gemm(false, true, rows, layer.pre, layer.inputs, input, layer.inputs, layer.w.data(), layer.inputs,
                 layer.z.data(), layer.pre);
    const ConstTensorView z(layer.z.data(), n), b(layer.b.data(), layer.pre);
    if (layer.kind == ActivationKind::elementwise) {
      forward_bias(layer.fused, z, b, {layer.a.data(), n}, options);
    } else {
      forward_bias(Activation::identity, z, b, {layer.u.data(), n}, options);
      const TensorView a(layer.a.data(), rows * units);
      float* u = layer.u.data();
      switch (layer.kind) {
        case ActivationKind::prelu:
          prelu_forward({u, n}, {layer.prelu_w.data(), units}, a, {rows, units, 1}, options);
          break;
        case ActivationKind::maxout:
          maxout_forward({u, n}, a, {layer.pre, shape_.maxout_k}, {layer.argmax.data(), rows * units}, options);
          break;
        case ActivationKind::gated:
          gated_forward(shape_.activation, {u, rows, units, layer.pre}, {u + units, rows, units, layer.pre},
                        {layer.a.data(), rows, units, units}, options);
          break;
        case ActivationKind::elementwise: break;
      }
    }
    input = layer.a.data();
  }
}

void Mlp::local_backward(Layer& layer, int rows) {
  const Options options = device_.options();
  const std::int64_t n = std::int64_t(rows) * layer.pre, units = layer.units;
  const ConstTensorView z(layer.z.data(), n), b(layer.b.data(), layer.pre);
  const TensorView dz(layer.dz.data(), n), db(layer.db.data(), layer.pre);
  if (layer.kind == ActivationKind::elementwise) {
    backward_bias(layer.fused, z, b, {layer.da.data(), rows * units}, dz, db, options);
    return;
  }
  const ConstTensorView da(layer.da.data(), rows * units);
  float* u = layer.u.data();
  float* du = layer.du.data();
  switch (layer.kind) {
    case ActivationKind::prelu:
      prelu_backward({u, n}, {layer.prelu_w.data(), units}, da, {du, n}, {layer.prelu_dw.data(), units},
                     {rows, units, 1}, options);
      break;
    case ActivationKind::maxout:
      maxout_backward({}, {layer.argmax.data(), rows * units}, da, {du, n}, {layer.pre, shape_.maxout_k}, options);
      break;
    case ActivationKind::gated:
      gated_backward(shape_.activation, {u, rows, units, layer.pre}, {u + units, rows, units, layer.pre},
                     {layer.da.data(), rows, units, units}, {du, rows, units, layer.pre},
                     {du + units, rows, units, layer.pre}, options);
      break;
    case ActivationKind::elementwise: break;
  }
  backward_bias(Activation::identity, z, b, {du, n}, dz, db, options);
}

void Mlp::backward_layer(Layer& layer, const float* input, int rows, float* dx) {
  local_backward(layer, rows);
  device_.gemm(true, false, layer.pre, layer.inputs, rows, layer.dz.data(), layer.pre, input, layer.inputs,
               layer.dw.data(), layer.inputs);
  if (dx) {
    device_.gemm(false, false, rows, layer.inputs, layer.pre, layer.dz.data(), layer.pre, layer.w.data(),
                 layer.inputs, dx, layer.inputs);
  }
}

double Mlp::gradients(const float* x, const int* labels, int rows) {
  forward(x, rows);
  Layer& out = layers_.back();
  const int classes = out.units;
  std::vector<float> logits = fetch(device_, out.a, std::size_t(rows) * classes);
  // Softmax cross-entropy, mean over the rows; its gradient (p - onehot) / rows goes back as da.
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    float* row = &logits[std::size_t(r) * classes];
    const double top = *std::max_element(row, row + classes);
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(row[c] - top);
    loss += std::log(sum) + top - row[labels[r]];
    for (int c = 0; c < classes; ++c) {
      row[c] = static_cast<float>((std::exp(row[c] - top) / sum - (c == labels[r])) / rows);
    }
  }
  device_.upload(out.da.data(), logits.data(), logits.size() * sizeof(float));
  for (int l = layers() - 1; l >= 0; --l) {
    backward_layer(layers_[l], input_of(l), rows, l > 0 ? layers_[l - 1].da.data() : nullptr);
  }
  return loss / rows;
}

void Mlp::step(float learning_rate, float momentum) {
  const auto update = [&](Buffer<float>& parameter, const Buffer<float>& gradient, Buffer<float>& velocity) {
    const int n = static_cast<int>(parameter.count());
    device_.scale(n, momentum, velocity.data());
    device_.axpy(n, 1.0f, gradient.data(), velocity.data());
    device_.axpy(n, -learning_rate, velocity.data(), parameter.data());
  };
  for (Layer& layer : layers_) {
    update(layer.w, layer.dw, layer.vw);
    update(layer.b, layer.db, layer.vb);
    if (layer.prelu_w.count()) update(layer.prelu_w, layer.prelu_dw, layer.prelu_vw);
  }
  device_.synchronize();  // a timed step ends when its update has (on cuda, too)
}

std::vector<int> Mlp::predict(const float* x, int rows) {
  forward(x, rows);
  const int classes = layers_.back().units;
  const std::vector<float> logits = fetch(device_, layers_.back().a, std::size_t(rows) * classes);
  std::vector<int> predicted(rows);
  for (int r = 0; r < rows; ++r) {
    const float* row = &logits[std::size_t(r) * classes];
    predicted[r] = static_cast<int>(std::max_element(row, row + classes) - row);
  }
  return predicted;
}

std::vector<float> Mlp::weight_gradient(int layer) const {
  return fetch(device_, layers_[layer].dw, layers_[layer].dw.count());
}

double Mlp::weight_gradient_norm(int layer) const {
  double sum = 0;
  for (const float g : weight_gradient(layer)) sum += double(g) * g;
  return std::sqrt(sum);
}

double Mlp::dead_fraction(const float* x, int rows) {
  forward(x, rows);
  int dead = 0, units = 0;
  for (Layer& layer : layers_) {
    if (!layer.hidden) continue;
    // With da = 1 the local backward leaves in dz each pre-activation's f'; a unit reads the
    // columns j (elementwise, prelu), j and units + j (gated), or k j .. k j + k - 1 (maxout).
    store(device_, layer.da, std::vector<float>(std::size_t(rows) * layer.units, 1.0f));
    local_backward(layer, rows);
    const std::vector<float> dz = fetch(device_, layer.dz, std::size_t(rows) * layer.pre);
    std::vector<char> alive(layer.units, 0);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < layer.pre; ++c) {
        if (dz[std::size_t(r) * layer.pre + c] == 0.0f) continue;
        const int unit = layer.kind == ActivationKind::gated    ? c % layer.units
                         : layer.kind == ActivationKind::maxout ? c / shape_.maxout_k
                                                                : c;
        alive[unit] = 1;
      }
    }
    dead += static_cast<int>(std::count(alive.begin(), alive.end(), 0));
    units += layer.units;
  }
  return units ? double(dead) / units : 0.0;
}

double Mlp::mean_activation(const float* x, int rows) {
  forward(x, rows);
  double sum = 0;
  std::size_t count = 0;
  for (const Layer& layer : layers_) {
    if (!layer.hidden) continue;
    for (const float a : fetch(device_, layer.a, std::size_t(rows) * layer.units)) sum += a;
    count += std::size_t(rows) * layer.units;
  }
  return count ? sum / count : 0.0;
}

bool Mlp::diverged() const {
  for (const Layer& layer : layers_) {
    for (const Buffer<float>* p : {&layer.w, &layer.b, &layer.prelu_w}) {
      for (const float v : fetch(device_, *p, p->count())) {
        if (!std::isfinite(v)) return true;
      }
    }
  }
  return false;
}

}  // namespace actk::lab
