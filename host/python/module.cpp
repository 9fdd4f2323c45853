// actk._actk: the public C++ API over DLPack / buffer-protocol arrays (nanobind).
//
// Thin by design: the Python layer (actk/__init__.py) allocates outputs, chooses streams and
// shapes; this file turns arrays into actk's views after checking what the views cannot say
// (dtype, contiguity, device), and every failure is an actk::Error, raised in Python as
// actk.Error (a ValueError) with the same message, before anything is written.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <string>
#include <vector>

#include "actk/actk.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using InArray = nb::ndarray<nb::ro>;
using OutArray = nb::ndarray<>;

// DLPack device types: host, CUDA, CUDA host-pinned, CUDA managed.
constexpr int kDeviceCpu = 1, kDeviceCuda = 2, kDeviceCudaHost = 3, kDeviceCudaManaged = 13;

// What every call takes besides its arrays; `call` and `activation` name the failing call.
struct Call {
  std::string call;
  std::string activation;
  actk::Options options;
  bool raw_bf16 = false;  // uint16 arrays hold bf16 bits (NumPy's ml_dtypes.bfloat16, viewed)
  int device = 0;         // the DLPack device type shared by the call's arrays (0: none yet)

  [[noreturn]] void fail(const std::string& argument, const std::string& reason) const {
    throw actk::Error(call, activation, argument, reason);
  }

  actk::DType dtype_of(const nb::dlpack::dtype& t, const char* name) const {
    const auto code = static_cast<nb::dlpack::dtype_code>(t.code);
    if (t.lanes == 1 && code == nb::dlpack::dtype_code::Float) {
      if (t.bits == 32) return actk::DType::f32;
      if (t.bits == 64) return actk::DType::f64;
      if (t.bits == 16) return actk::DType::f16;
    }
    if (t.lanes == 1 && t.bits == 16 &&
        (code == nb::dlpack::dtype_code::Bfloat || (raw_bf16 && code == nb::dlpack::dtype_code::UInt))) {
      return actk::DType::bf16;
    }
    fail(name, "unsupported dtype (code " + std::to_string(t.code) + ", " + std::to_string(t.bits) +
                   " bits): actk takes float32, float64, float16 and bfloat16");
  }

  // The arrays of one call live on one device the build can reach, and the chosen backend's.
  template <class Array>
  void check_device(const Array& a, const char* name) {
    const int type = a.device_type();
    const bool cuda_memory = type == kDeviceCuda || type == kDeviceCudaManaged;
    if (type != kDeviceCpu && type != kDeviceCudaHost && !cuda_memory) {
      fail(name, "arrays on DLPack device type " + std::to_string(type) + " are not supported (CPU and CUDA are)");
    }
    const int kind = cuda_memory ? kDeviceCuda : kDeviceCpu;
    if (device != 0 && device != kind) fail(name, "this array is on another device than the call's other arrays");
    device = kind;
#ifndef ACTK_WITH_CUDA
    if (cuda_memory) fail(name, "a CUDA array, but actk was built without CUDA");
#endif
    const actk::Backend backend = options.backend;
    if (cuda_memory && (backend == actk::Backend::cpu || backend == actk::Backend::reference)) {
      fail(name, std::string("a CUDA array given to the ") + actk::backend_name(backend) + " backend");
    }
  }

  // A C-contiguous array of any shape as a flat view (dimensions of extent 1 take any stride).
  template <class Array>
  std::int64_t contiguous_count(const Array& a, const char* name) const {
    std::int64_t expected = 1;
    for (std::size_t i = 0; i < a.ndim(); ++i) {
      if (a.shape(i) == 0) return 0;  // no element: any strides
    }
    for (std::size_t i = a.ndim(); i-- > 0;) {
      const auto extent = static_cast<std::int64_t>(a.shape(i));
      if (extent != 1 && a.stride(i) != expected) {
        fail(name, "not C-contiguous (dimension " + std::to_string(i) + " has stride " + std::to_string(a.stride(i)) +
                       " elements, " + std::to_string(expected) + " expected); pass a contiguous copy");
      }
      expected *= extent;
    }
    return expected;
  }

  actk::ConstTensorView in(const InArray& a, const char* name) {
    check_device(a, name);
    return {a.data(), dtype_of(a.dtype(), name), contiguous_count(a, name)};
  }
  actk::TensorView out(const OutArray& a, const char* name) {
    check_device(a, name);
    return {a.data(), dtype_of(a.dtype(), name), contiguous_count(a, name)};
  }

  // An array whose last axis is contiguous and whose leading axes collapse into rows a fixed
  // stride apart: a contiguous matrix, or one half of [gate | up] along the last axis.
  template <class Array>
  void matrix_shape(const Array& a, const char* name, std::int64_t& rows, std::int64_t& cols,
                    std::int64_t& row_stride) const {
    const std::size_t nd = a.ndim();
    cols = nd == 0 ? 1 : static_cast<std::int64_t>(a.shape(nd - 1));
    if (nd > 0 && cols != 1 && a.stride(nd - 1) != 1) fail(name, "the last axis is not contiguous (stride " + std::to_string(a.stride(nd - 1)) + ")");
    rows = 1;
    row_stride = cols;
    bool stride_set = false;
    std::int64_t expected = 0;
    for (std::size_t i = nd > 0 ? nd - 1 : 0; i-- > 0;) {
      const auto extent = static_cast<std::int64_t>(a.shape(i));
      if (extent != 1) {
        if (!stride_set) {
          row_stride = a.stride(i);
          stride_set = true;
          expected = row_stride * extent;
          if (row_stride < cols) fail(name, "rows overlap (row stride " + std::to_string(row_stride) + " < " + std::to_string(cols) + " columns)");
        } else if (a.stride(i) != expected) {
          fail(name, "the leading axes do not collapse into rows of one stride; pass a contiguous copy");
        } else {
          expected *= extent;
        }
      }
      rows *= extent;
    }
  }
  actk::ConstMatrixView in_matrix(const InArray& a, const char* name) {
    check_device(a, name);
    std::int64_t rows, cols, stride;
    matrix_shape(a, name, rows, cols, stride);
    return {a.data(), dtype_of(a.dtype(), name), rows, cols, stride};
  }
  actk::MatrixView out_matrix(const OutArray& a, const char* name) {
    check_device(a, name);
    std::int64_t rows, cols, stride;
    matrix_shape(a, name, rows, cols, stride);
    return {a.data(), dtype_of(a.dtype(), name), rows, cols, stride};
  }

  template <class Array>
  std::int64_t int32_count(const Array& a, const char* name) {
    check_device(a, name);
    const auto t = a.dtype();
    if (t.code != static_cast<std::uint8_t>(nb::dlpack::dtype_code::Int) || t.bits != 32 || t.lanes != 1) {
      fail(name, "indices must be int32");
    }
    return contiguous_count(a, name);
  }
};

actk::Activation activation_of(const std::string& call, const std::string& name) {
  const auto a = actk::activation_from_name(name);
  if (!a) throw actk::Error(call, name, "activation", "unknown activation (actk.catalogue() lists them)");
  return *a;
}

actk::Backend backend_of(const std::string& call, const std::string& activation, const std::string& name) {
  for (auto b : {actk::Backend::automatic, actk::Backend::reference, actk::Backend::cpu, actk::Backend::cuda}) {
    if (name == actk::backend_name(b)) return b;
  }
  throw actk::Error(call, activation, "backend", "unknown backend '" + name + "' (auto, reference, cpu, cuda)");
}

// params: {name: value} for any of the catalogue's parameters; an unknown name is an error.
Call make_call(const char* call, const std::string& activation, const nb::dict& params, bool accumulate,
               const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
  Call c{call, activation, {}, raw_bf16, 0};
  c.options.backend = backend_of(c.call, activation, backend);
  c.options.stream = reinterpret_cast<void*>(stream);
  c.options.accumulate = accumulate;
  for (auto [key, value] : params) {
    const std::string name = nb::cast<std::string>(key);
    bool known = false;
    for (actk::Param p : actk::kAllParams) {
      if (name == actk::param_name(p)) {
        actk::set_param_value(c.options.params, p, nb::cast<double>(value));
        known = true;
      }
    }
    if (!known) c.fail(name, "unknown parameter");
  }
  return c;
}

const char* ran(actk::Backend b) { return actk::backend_name(b); }

const char* kind_name(actk::ActivationKind k) {
  switch (k) {
    case actk::ActivationKind::elementwise: return "elementwise";
    case actk::ActivationKind::prelu: return "prelu";
    case actk::ActivationKind::maxout: return "maxout";
    case actk::ActivationKind::gated: return "gated";
  }
  return "?";
}

const char* from_output_name(actk::FromOutput f) {
  switch (f) {
    case actk::FromOutput::always: return "always";
    case actk::FromOutput::never: return "never";
    case actk::FromOutput::when_param_positive: return "when_param_positive";
  }
  return "?";
}

// The common trailing arguments of every call.
#define ACTK_CALL_ARGS "params"_a = nb::dict(), "accumulate"_a = false, "backend"_a = "auto", "stream"_a = 0, "raw_bf16"_a = false

}  // namespace

NB_MODULE(_actk, m) {
  m.doc() = "actk's C++ API over arrays (the actk package wraps it)";
  nb::exception<actk::Error>(m, "Error", PyExc_ValueError);
  m.attr("__version__") = ACTK_VERSION_STRING;

  m.def("catalogue", [] {
    nb::list entries;
    for (const actk::ActivationInfo& e : actk::catalogue()) {
      nb::list params;
      for (actk::Param p : actk::kAllParams) {
        if (e.uses(p)) params.append(nb::make_tuple(actk::param_name(p), actk::param_default(p)));
      }
      nb::dict d;
      d["name"] = e.name;
      d["kind"] = kind_name(e.kind);
      d["params"] = params;
      d["from_output"] = from_output_name(e.from_output);
      d["gate"] = actk::activation_name(e.gate);
      entries.append(d);
    }
    return entries;
  }, "The catalogue: one dict per entry (name, kind, params as (name, default), from_output, gate).");

  m.def("backend_available", [](const std::string& name) {
    std::string why;
    const bool ok = actk::backend_available(backend_of("backend_available", "", name), &why);
    return std::make_pair(ok, why);
  }, "name"_a, "(available, why not) for a backend name.");

  m.def("supports_backward_from_output", [](const std::string& activation, const nb::dict& params) {
    Call c = make_call("supports_backward_from_output", activation, params, false, "auto", 0, false);
    return actk::supports_backward_from_output(activation_of(c.call, activation), c.options.params);
  }, "activation"_a, "params"_a = nb::dict());

  m.def("forward", [](const std::string& activation, const InArray& x, const OutArray& y, const nb::dict& params,
                      bool accumulate, const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("forward", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::forward(activation_of(c.call, activation), c.in(x, "x"), c.out(y, "y"), c.options));
  }, "activation"_a, "x"_a, "y"_a, ACTK_CALL_ARGS);

  m.def("backward", [](const std::string& activation, const InArray& x, const InArray& dy, const OutArray& dx,
                       const nb::dict& params, bool accumulate, const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("backward", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::backward(activation_of(c.call, activation), c.in(x, "x"), c.in(dy, "dy"), c.out(dx, "dx"), c.options));
  }, "activation"_a, "x"_a, "dy"_a, "dx"_a, ACTK_CALL_ARGS);

  m.def("backward_from_output", [](const std::string& activation, const InArray& y, const InArray& dy, const OutArray& dx,
                                   const nb::dict& params, bool accumulate, const std::string& backend, std::uintptr_t stream,
                                   bool raw_bf16) {
    Call c = make_call("backward_from_output", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::backward_from_output(activation_of(c.call, activation), c.in(y, "y"), c.in(dy, "dy"), c.out(dx, "dx"),
                                          c.options));
  }, "activation"_a, "y"_a, "dy"_a, "dx"_a, ACTK_CALL_ARGS);

  m.def("forward_backward", [](const std::string& activation, const InArray& x, const InArray& dy, const OutArray& y,
                               const OutArray& dx, const nb::dict& params, bool accumulate, const std::string& backend,
                               std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("forward_backward", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::forward_backward(activation_of(c.call, activation), c.in(x, "x"), c.in(dy, "dy"), c.out(y, "y"),
                                      c.out(dx, "dx"), c.options));
  }, "activation"_a, "x"_a, "dy"_a, "y"_a, "dx"_a, ACTK_CALL_ARGS);

  m.def("prelu_forward", [](const InArray& x, const InArray& weight, const OutArray& y, std::int64_t rows,
                            std::int64_t channels, std::int64_t inner, const nb::dict& params, bool accumulate,
                            const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("prelu_forward", "prelu", params, accumulate, backend, stream, raw_bf16);
    return ran(actk::prelu_forward(c.in(x, "x"), c.in(weight, "weight"), c.out(y, "y"), {rows, channels, inner}, c.options));
  }, "x"_a, "weight"_a, "y"_a, "rows"_a, "channels"_a, "inner"_a, ACTK_CALL_ARGS);

  m.def("prelu_backward", [](const InArray& x, const InArray& weight, const InArray& dy, const OutArray& dx,
                             const OutArray& dweight, std::int64_t rows, std::int64_t channels, std::int64_t inner,
                             const nb::dict& params, bool accumulate, const std::string& backend, std::uintptr_t stream,
                             bool raw_bf16) {
    Call c = make_call("prelu_backward", "prelu", params, accumulate, backend, stream, raw_bf16);
    return ran(actk::prelu_backward(c.in(x, "x"), c.in(weight, "weight"), c.in(dy, "dy"), c.out(dx, "dx"),
                                    c.out(dweight, "dweight"), {rows, channels, inner}, c.options));
  }, "x"_a, "weight"_a, "dy"_a, "dx"_a, "dweight"_a, "rows"_a, "channels"_a, "inner"_a, ACTK_CALL_ARGS);

  m.def("maxout_forward", [](const InArray& x, const OutArray& y, std::optional<OutArray> indices, std::int64_t width,
                             std::int64_t k, const nb::dict& params, bool accumulate, const std::string& backend,
                             std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("maxout_forward", "maxout", params, accumulate, backend, stream, raw_bf16);
    actk::IndexView idx;
    if (indices) idx = {static_cast<std::int32_t*>(indices->data()), c.int32_count(*indices, "indices")};
    return ran(actk::maxout_forward(c.in(x, "x"), c.out(y, "y"), {width, k}, idx, c.options));
  }, "x"_a, "y"_a, "indices"_a.none(), "width"_a, "k"_a, ACTK_CALL_ARGS);

  m.def("maxout_backward", [](std::optional<InArray> x, std::optional<InArray> indices, const InArray& dy,
                              const OutArray& dx, std::int64_t width, std::int64_t k, const nb::dict& params,
                              bool accumulate, const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("maxout_backward", "maxout", params, accumulate, backend, stream, raw_bf16);
    const actk::ConstTensorView dyv = c.in(dy, "dy");
    actk::ConstTensorView xv{nullptr, dyv.dtype, 0};
    if (x) xv = c.in(*x, "x");
    actk::ConstIndexView idx;
    if (indices) idx = {static_cast<const std::int32_t*>(indices->data()), c.int32_count(*indices, "indices")};
    return ran(actk::maxout_backward(xv, idx, dyv, c.out(dx, "dx"), {width, k}, c.options));
  }, "x"_a.none(), "indices"_a.none(), "dy"_a, "dx"_a, "width"_a, "k"_a, ACTK_CALL_ARGS);

  m.def("gated_forward", [](const std::string& activation, const InArray& gate, const InArray& up, const OutArray& y,
                            const nb::dict& params, bool accumulate, const std::string& backend, std::uintptr_t stream,
                            bool raw_bf16) {
    Call c = make_call("gated_forward", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::gated_forward(activation_of(c.call, activation), c.in_matrix(gate, "gate"), c.in_matrix(up, "up"),
                                   c.out_matrix(y, "y"), c.options));
  }, "activation"_a, "gate"_a, "up"_a, "y"_a, ACTK_CALL_ARGS);

  m.def("gated_backward", [](const std::string& activation, const InArray& gate, const InArray& up, const InArray& dy,
                             const OutArray& dgate, const OutArray& dup, const nb::dict& params, bool accumulate,
                             const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("gated_backward", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::gated_backward(activation_of(c.call, activation), c.in_matrix(gate, "gate"), c.in_matrix(up, "up"),
                                    c.in_matrix(dy, "dy"), c.out_matrix(dgate, "dgate"), c.out_matrix(dup, "dup"),
                                    c.options));
  }, "activation"_a, "gate"_a, "up"_a, "dy"_a, "dgate"_a, "dup"_a, ACTK_CALL_ARGS);

  m.def("forward_bias", [](const std::string& activation, const InArray& x, const InArray& bias, const OutArray& y,
                           const nb::dict& params, bool accumulate, const std::string& backend, std::uintptr_t stream,
                           bool raw_bf16) {
    Call c = make_call("forward_bias", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::forward_bias(activation_of(c.call, activation), c.in(x, "x"), c.in(bias, "bias"), c.out(y, "y"),
                                  c.options));
  }, "activation"_a, "x"_a, "bias"_a, "y"_a, ACTK_CALL_ARGS);

  m.def("backward_bias", [](const std::string& activation, const InArray& x, const InArray& bias, const InArray& dy,
                            const OutArray& dx, const OutArray& dbias, const nb::dict& params, bool accumulate,
                            const std::string& backend, std::uintptr_t stream, bool raw_bf16) {
    Call c = make_call("backward_bias", activation, params, accumulate, backend, stream, raw_bf16);
    return ran(actk::backward_bias(activation_of(c.call, activation), c.in(x, "x"), c.in(bias, "bias"), c.in(dy, "dy"),
                                   c.out(dx, "dx"), c.out(dbias, "dbias"), c.options));
  }, "activation"_a, "x"_a, "bias"_a, "dy"_a, "dx"_a, "dbias"_a, ACTK_CALL_ARGS);
}
