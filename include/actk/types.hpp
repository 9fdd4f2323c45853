// Storage types, tensor views and the library's 16-bit floating-point types.
//
// No CUDA header is included: a CPU-only consumer compiles this without the toolkit.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace actk {

/// Element type of a tensor in memory. f16 and bf16 are computed in f32, f64 in f64.
enum class DType : std::uint8_t { f32, f64, f16, bf16 };

/// Short lower-case name ("f32", "f64", "f16", "bf16").
const char* dtype_name(DType dtype) noexcept;

/// Size in bytes of one element.
constexpr std::size_t dtype_size(DType dtype) noexcept {
  return dtype == DType::f64 ? 8 : dtype == DType::f32 ? 4 : 2;
}

/// IEEE 754 binary16 value, stored as its bit pattern. Layout-compatible with CUDA's `__half`.
struct Half {
  std::uint16_t bits = 0;
};

/// bfloat16 value (the upper half of a binary32), stored as its bit pattern.
/// Layout-compatible with CUDA's `__nv_bfloat16`.
struct BFloat16 {
  std::uint16_t bits = 0;
};

static_assert(sizeof(Half) == 2 && alignof(Half) == 2, "Half must be a bare 16-bit value");
static_assert(sizeof(BFloat16) == 2 && alignof(BFloat16) == 2, "BFloat16 must be a bare 16-bit value");

/// Conversions to and from the 16-bit types. Narrowing rounds to nearest, ties to even, exactly
/// once (a double is not rounded through float first); overflow gives a signed infinity; a NaN
/// stays a NaN of the same sign. Widening is exact.
Half half_from_double(double value) noexcept;
BFloat16 bfloat16_from_double(double value) noexcept;
float to_float(Half value) noexcept;
float to_float(BFloat16 value) noexcept;
inline Half half_from_float(float value) noexcept { return half_from_double(value); }
inline BFloat16 bfloat16_from_float(float value) noexcept { return bfloat16_from_double(value); }

/// The DType of a C++ storage type.
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> : std::integral_constant<DType, DType::f32> {};
template <>
struct dtype_of<double> : std::integral_constant<DType, DType::f64> {};
template <>
struct dtype_of<Half> : std::integral_constant<DType, DType::f16> {};
template <>
struct dtype_of<BFloat16> : std::integral_constant<DType, DType::bf16> {};

/// A read-only, contiguous, one-dimensional run of `count` elements of `dtype` at `data`.
/// `data` may be host or device memory; it need not be aligned (aligned data is faster).
struct ConstTensorView {
  const void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t count = 0;

  ConstTensorView() = default;
  ConstTensorView(const void* data_, DType dtype_, std::int64_t count_)
      : data(data_), dtype(dtype_), count(count_) {}
  template <class T, class = decltype(dtype_of<T>::value)>
  ConstTensorView(const T* data_, std::int64_t count_)
      : data(data_), dtype(dtype_of<T>::value), count(count_) {}

  std::size_t bytes() const noexcept { return static_cast<std::size_t>(count) * dtype_size(dtype); }
};

/// A writable, contiguous, one-dimensional run of `count` elements of `dtype` at `data`.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t count = 0;

  TensorView() = default;
  TensorView(void* data_, DType dtype_, std::int64_t count_)
      : data(data_), dtype(dtype_), count(count_) {}
  template <class T, class = decltype(dtype_of<T>::value)>
  TensorView(T* data_, std::int64_t count_) : data(data_), dtype(dtype_of<T>::value), count(count_) {}

  operator ConstTensorView() const noexcept { return {data, dtype, count}; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(count) * dtype_size(dtype); }
};

}  // namespace actk
