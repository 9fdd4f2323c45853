// The derivative scale of a functor. A functor whose f' passes the top of the range where the
// gradient dy f' does not (relu_squared: f'(x) = 2x, infinite in f32 above 1.7e38) declares
// `static constexpr float kDerivativeScale` and returns f' / kDerivativeScale from derivative()
// and derivative_from_output(); the passes then form dy f' as (kDerivativeScale times the smaller
// factor) times the larger one: the power of two is exact unless the product overflows anyway, so
// the gradient is the same one rounding of dy f' wherever it is finite.
#pragma once

#include <type_traits>

namespace actk::math {

template <class Op, class = void>
struct DerivativeScale {
  static constexpr float value = 1.0f;
};
template <class Op>
struct DerivativeScale<Op, std::void_t<decltype(Op::kDerivativeScale)>> {
  static constexpr float value = Op::kDerivativeScale;
};

}  // namespace actk::math
