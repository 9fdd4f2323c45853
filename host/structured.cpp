// The structured activations' public calls: validate every argument, choose the backend, hand the
// call over. As for the elementwise passes, nothing is written before every check has passed.
#include <limits>
#include <string>

#include "actk/structured.hpp"
#include "host/backend.hpp"
#include "host/checks.hpp"
#ifdef ACTK_WITH_CUDA
#include "kernels/cuda_backend.hpp"
#endif

namespace actk {
namespace {

using detail::Arg;
using detail::CallChecker;

Arg matrix_arg(const char* name, ConstMatrixView m, bool output) {
  return {name, m.data, m.rows * m.cols, dtype_size(m.dtype), m.rows, m.cols, m.row_stride, output};
}

Arg index_arg(const char* name, const std::int32_t* data, std::int64_t count, bool output) {
  return {name, data, count, sizeof(std::int32_t), 1, count, count, output};
}

// a * b, or -1 when it does not fit in 63 bits (so that it matches no count).
std::int64_t checked_product(std::int64_t a, std::int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a) return -1;
  return a * b;
}

// Checks a view: its pointer against its count, its dtype against the reference view's.
void check_view(const CallChecker& check, const Arg& arg, DType dtype, const char* reference_name,
                DType reference_dtype) {
  check.check_pointer(arg);
  check.check_dtype(arg.name, dtype, reference_name, reference_dtype);
}

// The views of one call, each checked as it is added: pointer against count, dtype against the
// call's reference view, count against what the call's shape implies.
class ViewList {
 public:
  ViewList(const CallChecker& check, const char* reference_name, DType reference_dtype)
      : check_(check), reference_name_(reference_name), reference_dtype_(reference_dtype) {}

  void add(const char* name, ConstTensorView v, bool output, std::int64_t expected, const std::string& what) {
    args_[n_] = Arg::of(name, v, output);
    check_view(check_, args_[n_], v.dtype, reference_name_, reference_dtype_);
    check_.check_count(args_[n_++], expected, what);
  }
  void add_indices(const std::int32_t* data, std::int64_t count, bool output, std::int64_t expected) {
    args_[n_] = index_arg("indices", data, count, output);
    check_.check_pointer(args_[n_]);
    check_.check_count(args_[n_++], expected, "the number of groups");
  }
  // Overlaps, then the backend every pointer suits.
  Backend finish(const Options& options) const {
    check_.check_overlaps(args_, n_);
    return check_.choose_backend(options, args_, n_);
  }

 private:
  const CallChecker& check_;
  const char* reference_name_;
  DType reference_dtype_;
  Arg args_[6];
  int n_ = 0;
};

// Hands a validated call to its backend. `cuda` is only ever chosen when actk has it.
template <class Call, class Reference, class Cpu>
Backend run(const CallChecker& check, Backend backend, const Call& call, Reference reference, Cpu cpu) {
  switch (backend) {
    case Backend::reference: reference(call); break;
    case Backend::cuda:
#ifdef ACTK_WITH_CUDA
      check.check_launch(cuda::launch_structured(call));
#endif
      break;
    case Backend::cpu:
    case Backend::automatic: cpu(call); break;
  }
  return backend;
}

// ---- PReLU ----------------------------------------------------------------------------------

Backend prelu(const char* name, ConstTensorView x, ConstTensorView weight, ConstTensorView dy, TensorView dx,
              TensorView dweight, TensorView y, PreluShape shape, const Options& options, bool backward) {
  const CallChecker check(name, Activation::prelu);
  if (shape.rows < 0 || shape.channels < 1 || shape.inner < 0) {
    check.fail("shape", "rows " + std::to_string(shape.rows) + ", channels " + std::to_string(shape.channels) +
                            ", inner " + std::to_string(shape.inner) + ": need rows >= 0, channels >= 1, inner >= 0");
  }
  const std::int64_t count = checked_product(checked_product(shape.rows, shape.channels), shape.inner);
  ViewList views(check, "x", x.dtype);
  views.add("x", x, false, count, "rows x channels x inner of the shape,");
  if (weight.count != 1 && weight.count != shape.channels) {
    check.fail("weight", "count " + std::to_string(weight.count) + " is neither 1 nor the channel count " +
                             std::to_string(shape.channels));
  }
  views.add("weight", weight, false, weight.count, "");
  if (backward) {
    views.add("dy", dy, false, x.count, "x's count");
    views.add("dx", dx, true, x.count, "x's count");
    views.add("dweight", dweight, true, weight.count, "weight's count");
  } else {
    views.add("y", y, true, x.count, "x's count");
  }
  const Backend backend = views.finish(options);

  detail::PreluCall call{x.dtype, x.data, weight.data, dy.data, y.data, dx.data, dweight.data,
                         shape.rows, shape.channels, shape.inner, weight.count != 1, options.accumulate && backward,
                         options.stream};
  if (!backward) call.dy = call.dx = call.dweight = nullptr;
  // One weight ignores the layout: the backends see rows x 1 x (channels x inner), one channel, and
  // keep no per-channel partial sums (8 TiB of them for an empty call of 2^40 channels).
  if (!call.per_channel) {
    call.inner = x.count == 0 ? 0 : call.channels * call.inner;
    call.channels = 1;
  }
  // With no elements, dweight is still a (zero) sum: written unless accumulating.
  if (x.count == 0 && !(backward && weight.count > 0)) return backend;
  // No elements, only the zero sums to write. The backends tell backward from forward by a non-null
  // dx, which an empty view need not have: give them dweight's address (non-null, in the call's
  // memory space), never accessed as dx or dy then. And no rows: their loops run over rows x
  // channels, which an empty inner axis leaves as large as the shape says (2^40 channels).
  if (backward && x.count == 0) {
    call.dy = call.dx = call.dweight;
    call.rows = 0;
  }
  return run(check, backend, call, detail::reference_prelu, detail::cpu_prelu);
}

// ---- Maxout ---------------------------------------------------------------------------------

Backend maxout(const char* name, ConstTensorView x, ConstIndexView indices_in, IndexView indices_out,
               ConstTensorView dy, TensorView dx, TensorView y, MaxoutShape shape, const Options& options,
               bool backward) {
  const CallChecker check(name, Activation::maxout);
  if (shape.k < 1) check.fail("shape.k", "group size " + std::to_string(shape.k) + " must be >= 1");
  if (shape.width < 1) check.fail("shape.width", "width " + std::to_string(shape.width) + " must be >= 1");
  if (shape.width % shape.k != 0) {
    check.fail("shape.k", "group size " + std::to_string(shape.k) + " does not divide the width " +
                              std::to_string(shape.width));
  }
  // The input side: x (forward; backward without indices) fixes the element count.
  const ConstTensorView& wide = backward ? ConstTensorView(dx) : x;
  const char* wide_name = backward ? "dx" : "x";
  if (wide.count % shape.width != 0) {
    check.fail(wide_name, "count " + std::to_string(wide.count) + " is not a multiple of the width " +
                              std::to_string(shape.width));
  }
  const std::int64_t groups = wide.count / shape.k;
  ViewList views(check, wide_name, wide.dtype);
  if (!backward) {
    views.add("x", x, false, x.count, "");
    views.add("y", y, true, groups, "x's count / k,");
    if (indices_out.count != 0 || indices_out.data) views.add_indices(indices_out.data, indices_out.count, true, groups);
  } else {
    views.add("dx", dx, true, dx.count, "");
    views.add("dy", dy, false, groups, "dx's count / k,");
    if (indices_in.count != 0 || indices_in.data) {
      views.add_indices(indices_in.data, indices_in.count, false, groups);
    } else {
      views.add("x", x, false, dx.count, "dx's count (x is needed when no indices are given),");
    }
  }
  const Backend backend = views.finish(options);
  if (groups == 0) return backend;
  // Host indices are checked here; the cuda kernel routes an out-of-range index's gradient nowhere.
  if (backward && backend != Backend::cuda && indices_in.data) {
    for (std::int64_t g = 0; g < groups; ++g) {
      if (indices_in.data[g] < 0 || indices_in.data[g] >= shape.k) {
        check.fail("indices", "index " + std::to_string(indices_in.data[g]) + " at " + std::to_string(g) +
                                  " is outside the group [0, " + std::to_string(shape.k) + ")");
      }
    }
  }
  detail::MaxoutCall call{backward ? dx.dtype : x.dtype, x.data, backward ? indices_in.data : nullptr,
                          backward ? dy.data : nullptr, backward ? nullptr : y.data,
                          backward ? nullptr : indices_out.data, backward ? dx.data : nullptr, groups, shape.k,
                          options.accumulate && backward, options.stream};
  return run(check, backend, call, detail::reference_maxout, detail::cpu_maxout);
}

// ---- Gated ----------------------------------------------------------------------------------

Backend gated(const char* name, Activation activation, ConstMatrixView gate, ConstMatrixView up,
              ConstMatrixView dy, MatrixView y, MatrixView dgate, MatrixView dup, const Options& options,
              bool backward) {
  const CallChecker check(name, activation);
  check.check_activation(ActivationKind::gated);
  const ConstMatrixView views[] = {gate, up, dy, y, dgate, dup};
  const char* names[] = {"gate", "up", "dy", "y", "dgate", "dup"};
  const bool used[] = {true, true, backward, !backward, backward, backward};
  Arg args[6];
  int n = 0;
  for (int i = 0; i < 6; ++i) {
    if (!used[i]) continue;
    const ConstMatrixView& m = views[i];
    if (m.rows < 0 || m.cols < 0) {
      check.fail(names[i], "rows " + std::to_string(m.rows) + " and cols " + std::to_string(m.cols) + " must be >= 0");
    }
    if (m.rows != gate.rows || m.cols != gate.cols) {
      check.fail(names[i], "shape " + std::to_string(m.rows) + " x " + std::to_string(m.cols) +
                               " does not match gate's " + std::to_string(gate.rows) + " x " + std::to_string(gate.cols));
    }
    if (m.rows > 1 && m.row_stride < m.cols) {
      check.fail(names[i], "row_stride " + std::to_string(m.row_stride) + " is less than cols " + std::to_string(m.cols));
    }
    // rows x cols elements, spanning (rows - 1) x row_stride + cols, must have 64-bit byte offsets:
    // no larger view can exist, and the checks below would overflow computing its extent.
    const std::int64_t before_last = m.rows > 1 ? checked_product(m.rows - 1, m.row_stride) : 0;
    const std::int64_t span = before_last < 0 || before_last > std::numeric_limits<std::int64_t>::max() - m.cols
                                  ? -1
                                  : before_last + m.cols;
    if (checked_product(m.rows, m.cols) < 0 || span < 0 ||
        checked_product(span, static_cast<std::int64_t>(dtype_size(m.dtype))) < 0) {
      check.fail(names[i], "rows " + std::to_string(m.rows) + ", cols " + std::to_string(m.cols) + ", row_stride " +
                               std::to_string(m.row_stride) + ": the view spans more than 2^63 bytes");
    }
    args[n] = matrix_arg(names[i], m, i >= 3);
    check_view(check, args[n], m.dtype, "gate", gate.dtype);
    ++n;
  }
  check.check_overlaps(args, n);
  const ActivationParams params = check.check_params(options.params, gate.dtype);
  const Backend backend = check.choose_backend(options, args, n);
  if (gate.rows == 0 || gate.cols == 0) return backend;

  // A single row may have any stride; give the backends a consistent one.
  auto stride = [&](const ConstMatrixView& m) { return m.rows > 1 ? m.row_stride : m.cols; };
  detail::GatedCall call{info(activation).gate, info(activation).uses(Param::limit), params, gate.dtype, gate.rows, gate.cols,
                         {gate.data, stride(gate)}, {up.data, stride(up)}, {dy.data, stride(dy)},
                         {y.data, stride(y)}, {dgate.data, stride(dgate)}, {dup.data, stride(dup)},
                         options.accumulate && backward, options.stream};
  if (!backward) call.dy = {nullptr, 0}, call.dgate = call.dup = {nullptr, 0};
  if (backward) call.y = {nullptr, 0};
  return run(check, backend, call, detail::reference_gated, detail::cpu_gated);
}

// ---- Bias -----------------------------------------------------------------------------------

Backend bias_pass(const char* name, Activation activation, ConstTensorView x, ConstTensorView bias,
                  ConstTensorView dy, TensorView y, TensorView dx, TensorView dbias, const Options& options,
                  bool backward) {
  const CallChecker check(name, activation);
  check.check_activation(ActivationKind::elementwise);
  ViewList views(check, "x", x.dtype);
  views.add("x", x, false, x.count, "");
  views.add("bias", bias, false, bias.count, "");
  if (bias.count == 0 && x.count > 0) check.fail("bias", "is empty: it needs one value per channel (last axis)");
  if (bias.count > 0 && x.count % bias.count != 0) {
    check.fail("x", "count " + std::to_string(x.count) + " is not a multiple of the channel count " +
                        std::to_string(bias.count) + " (bias's count)");
  }
  if (backward) {
    views.add("dy", dy, false, x.count, "x's count");
    views.add("dx", dx, true, x.count, "x's count");
    views.add("dbias", dbias, true, bias.count, "bias's count");
  } else {
    views.add("y", y, true, x.count, "x's count");
  }
  const ActivationParams params = check.check_params(options.params, x.dtype);
  const Backend backend = views.finish(options);
  if (x.count == 0 && !(backward && bias.count > 0)) return backend;

  const std::int64_t channels = bias.count;
  detail::BiasCall call{activation, params, x.dtype, x.data, bias.data, backward ? dy.data : nullptr,
                        backward ? nullptr : y.data, backward ? dx.data : nullptr, backward ? dbias.data : nullptr,
                        channels > 0 ? x.count / channels : 0, channels, options.accumulate && backward,
                        options.stream};
  // As for PReLU: the backends tell backward from forward by a non-null dy (and use dx), which
  // empty views need not have; dbias's address is never accessed through them with no elements.
  if (backward && x.count == 0) call.dy = call.dx = call.dbias;
  return run(check, backend, call, detail::reference_bias, detail::cpu_bias);
}

}  // namespace

Backend prelu_forward(ConstTensorView x, ConstTensorView weight, TensorView y, PreluShape shape,
                      const Options& options) {
  return prelu("prelu_forward", x, weight, {}, {}, {}, y, shape, options, false);
}

Backend prelu_backward(ConstTensorView x, ConstTensorView weight, ConstTensorView dy, TensorView dx,
                       TensorView dweight, PreluShape shape, const Options& options) {
  return prelu("prelu_backward", x, weight, dy, dx, dweight, {}, shape, options, true);
}

Backend maxout_forward(ConstTensorView x, TensorView y, MaxoutShape shape, IndexView indices, const Options& options) {
  return maxout("maxout_forward", x, {}, indices, {}, {}, y, shape, options, false);
}

Backend maxout_backward(ConstTensorView x, ConstIndexView indices, ConstTensorView dy, TensorView dx,
                        MaxoutShape shape, const Options& options) {
  return maxout("maxout_backward", x, indices, {}, dy, dx, {}, shape, options, true);
}

Backend gated_forward(Activation activation, ConstMatrixView gate, ConstMatrixView up, MatrixView y,
                      const Options& options) {
  return gated("gated_forward", activation, gate, up, {}, y, {}, {}, options, false);
}

Backend gated_backward(Activation activation, ConstMatrixView gate, ConstMatrixView up, ConstMatrixView dy,
                       MatrixView dgate, MatrixView dup, const Options& options) {
  return gated("gated_backward", activation, gate, up, dy, {}, dgate, dup, options, true);
}

Backend forward_bias(Activation activation, ConstTensorView x, ConstTensorView bias, TensorView y,
                     const Options& options) {
  return bias_pass("forward_bias", activation, x, bias, {}, y, {}, {}, options, false);
}

Backend backward_bias(Activation activation, ConstTensorView x, ConstTensorView bias, ConstTensorView dy,
                      TensorView dx, TensorView dbias, const Options& options) {
  return bias_pass("backward_bias", activation, x, bias, dy, {}, dx, dbias, options, true);
}

}  // namespace actk
