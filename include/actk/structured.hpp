// The activations that are not a plain map over elements: PReLU (a learnable weight), Maxout
// (a reduction over groups), the gated family (two inputs) and bias fusion (a broadcast input and
// a reduction in the backward pass). Same conventions as ops.hpp: every call validates all of its
// arguments before writing anything, throws actk::Error for bad input, returns the backend that
// ran it, and is stream-ordered on `cuda`. Reductions (dweight, dbias) are deterministic: the same
// inputs give bit-identical results run to run, whatever the thread count or launch configuration
// (on `cuda`: a fixed two-stage reduction, no atomics). Every call runs on every backend.
#pragma once

#include <cstdint>

#include "actk/catalogue.hpp"
#include "actk/ops.hpp"
#include "actk/types.hpp"

namespace actk {

/// A row-major matrix of `rows` x `cols` elements whose rows start `row_stride` elements apart
/// (row_stride >= cols). The halves of one `[gate | up]` projection output of width 2H are the
/// views {base, rows, H, 2H} and {base + H, rows, H, 2H}: no copy.
struct ConstMatrixView {
  const void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;

  ConstMatrixView() = default;
  ConstMatrixView(const void* data_, DType dtype_, std::int64_t rows_, std::int64_t cols_, std::int64_t row_stride_)
      : data(data_), dtype(dtype_), rows(rows_), cols(cols_), row_stride(row_stride_) {}
  template <class T, class = decltype(dtype_of<T>::value)>
  ConstMatrixView(const T* data_, std::int64_t rows_, std::int64_t cols_, std::int64_t row_stride_)
      : ConstMatrixView(data_, dtype_of<T>::value, rows_, cols_, row_stride_) {}
};

/// A writable row-major matrix (see ConstMatrixView).
struct MatrixView {
  void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;

  MatrixView() = default;
  MatrixView(void* data_, DType dtype_, std::int64_t rows_, std::int64_t cols_, std::int64_t row_stride_)
      : data(data_), dtype(dtype_), rows(rows_), cols(cols_), row_stride(row_stride_) {}
  template <class T, class = decltype(dtype_of<T>::value)>
  MatrixView(T* data_, std::int64_t rows_, std::int64_t cols_, std::int64_t row_stride_)
      : MatrixView(data_, dtype_of<T>::value, rows_, cols_, row_stride_) {}
  operator ConstMatrixView() const noexcept { return {data, dtype, rows, cols, row_stride}; }
};

/// Maxout's arg-max: for each output, the index (0..k-1) within its group of the input chosen.
struct IndexView {
  std::int32_t* data = nullptr;
  std::int64_t count = 0;
};
struct ConstIndexView {
  const std::int32_t* data = nullptr;
  std::int64_t count = 0;
  ConstIndexView() = default;
  ConstIndexView(const std::int32_t* data_, std::int64_t count_) : data(data_), count(count_) {}
  ConstIndexView(IndexView v) : data(v.data), count(v.count) {}
};

/// PReLU's tensor layout: rows x channels x inner, channel-major inside a row. NCHW is
/// {N, C, H*W}; NHWC (channels last) is {N*H*W, C, 1}; a single weight ignores the layout.
struct PreluShape {
  std::int64_t rows = 1;
  std::int64_t channels = 1;
  std::int64_t inner = 1;
};

/// y = x > 0 ? x : w_c * x, with w of 1 or `channels` values.
Backend prelu_forward(ConstTensorView x, ConstTensorView weight, TensorView y, PreluShape shape,
                      const Options& options = {});

/// dx = dy * (x > 0 ? 1 : w_c), and in the same call dweight_c = sum over the channel's elements
/// with x <= 0 of dy * x (deterministic). With options.accumulate both dx and dweight are added
/// to. dx may alias dy (in place).
Backend prelu_backward(ConstTensorView x, ConstTensorView weight, ConstTensorView dy, TensorView dx,
                       TensorView dweight, PreluShape shape, const Options& options = {});

/// Maxout over groups of k consecutive elements of the last axis: rows x (groups*k) -> rows x groups.
struct MaxoutShape {
  std::int64_t width = 0;  ///< length of the last axis of x (groups * k)
  std::int64_t k = 0;      ///< group size, >= 1, dividing width
};

/// y_j = max(x_{jk}, ..., x_{jk+k-1}); with `indices`, also the position of that maximum in its
/// group (the first on ties; a NaN wins, like torch.max). x.count = rows * width.
Backend maxout_forward(ConstTensorView x, TensorView y, MaxoutShape shape, IndexView indices = {},
                       const Options& options = {});

/// dx = dy routed to each group's arg-max, 0 elsewhere (dx += with options.accumulate). The
/// arg-max comes from `indices` when given (x may then be empty), else is recomputed from x. An
/// index outside [0, k) is an Error on the CPU backends; on `cuda`, where checking device memory
/// would mean synchronizing, that group's gradient goes nowhere (its dx stays 0).
Backend maxout_backward(ConstTensorView x, ConstIndexView indices, ConstTensorView dy, TensorView dx,
                        MaxoutShape shape, const Options& options = {});

/// y = act(gate) * up for the gated entries of the catalogue: glu (sigmoid), reglu (relu), geglu
/// (gelu), geglu_tanh (gelu_tanh), swiglu (silu), quick_geglu (quick_gelu: swiglu with the gate
/// scaled by sigmoid_scale); swiglu_clamped clamps gate and up first and multiplies by up + 1.
/// All views have the same rows and cols.
/// PyTorch's glu(x, dim=-1) = a * sigmoid(b) for x = [a | b] is gated_forward(glu, gate = b,
/// up = a): the gate is the second half.
Backend gated_forward(Activation activation, ConstMatrixView gate, ConstMatrixView up, MatrixView y,
                      const Options& options = {});

/// dgate = dy * up * act'(gate) and dup = dy * act(gate), in one sweep (or += with accumulate).
/// dgate and dup may be exactly gate and up (in place, as memory-tight training does).
Backend gated_backward(Activation activation, ConstMatrixView gate, ConstMatrixView up, ConstMatrixView dy,
                       MatrixView dgate, MatrixView dup, const Options& options = {});

/// y = f(x + b) for an elementwise activation, with b broadcast along the last axis: x is
/// rows x channels with channels = bias.count. y may alias x.
Backend forward_bias(Activation activation, ConstTensorView x, ConstTensorView bias, TensorView y,
                     const Options& options = {});

/// dx = dy * f'(x + b) and, in the same sweep, dbias = sum over rows of dx (deterministic).
/// With options.accumulate both are added to. dx may alias dy.
Backend backward_bias(Activation activation, ConstTensorView x, ConstTensorView bias, ConstTensorView dy,
                      TensorView dx, TensorView dbias, const Options& options = {});

}  // namespace actk
