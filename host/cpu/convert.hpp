// Storage type <-> compute type for the scalar CPU loops (internal): f32 computes f32, f16 and
// bf16 compute in f32, f64 in f64. Narrowing rounds to nearest even once (types.cpp).
#pragma once

#include <type_traits>

#include "actk/types.hpp"

namespace actk::cpu {

template <class T>
using Compute = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <class T>
Compute<T> widen(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return to_float(v);
  } else {
    return v;
  }
}

template <class T>
T narrow(Compute<T> v) {
  if constexpr (std::is_same_v<T, Half>) {
    return half_from_float(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return bfloat16_from_float(v);
  } else {
    return v;
  }
}

}  // namespace actk::cpu
