// One dtype visitor for the host code: a generic lambda over a type tag (internal).
#pragma once

#include "actk/types.hpp"

namespace actk::detail {

template <class T>
struct TypeTag {
  using type = T;
};

/// Calls f(TypeTag<T>{}) with T the storage type of `dtype`.
template <class F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f64: return f(TypeTag<double>{});
    case DType::f16: return f(TypeTag<Half>{});
    case DType::bf16: return f(TypeTag<BFloat16>{});
    case DType::f32: break;
  }
  return f(TypeTag<float>{});
}

}  // namespace actk::detail
