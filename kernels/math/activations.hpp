// The math of every elementwise activation in f32, one functor per catalogue entry, written once
// over a lane abstraction and compiled for each lane type: the scalar lane (lanes_scalar.hpp: the
// CUDA kernels and the cpu portable path, through kernels/activation_math.hpp) and the SIMD lanes
// of the cpu backend (host/cpu/lanes_avx2.hpp, lanes_avx512.hpp: 8 and 16 f32 values). Include one
// lane type's primitives first; the functors land in actk::lanes::<lane type>.
//
// A functor is constructed from ActivationParams (on the host) and has forward(x), derivative(x)
// and, where the catalogue allows backward_from_output, derivative_from_output(y). NaN inputs are
// not its concern (the callers return NaN for them, and may pass anything in their place);
// infinities and the finite extremes are: every functor returns the limit, never 0 * inf, and
// results below the normal range are rounded once, or to 0 where the exact value rounds to 0.
// kComputeBound marks the activations whose forward pass costs more arithmetic than a copy's memory
// traffic leaves time for (the cpu loop's store policy). kForwardKeepsNan marks those whose SIMD
// forward turns a NaN x into x's NaN, quieted, by itself (each NaN operand derives from x): the cpu
// vector loop then leaves out its NaN select where the output is f16 or bf16, whose narrowing
// quiets a NaN anyway, so the bits stay those of the select. tests/test_bit_identity.cpp fails a
// marked functor that gives a number for a NaN among the f16 and bf16 inputs (mish would, through
// its clamps: min and max drop a NaN, unless the NaN is their second operand).
//
// The families, one file each: logistic.hpp (sigmoid, tanh, silu, gelu_tanh, softplus, mish),
// exponential.hpp (elu, selu, celu), gaussian.hpp (gelu), piecewise.hpp (the rest).
#pragma once

#include "kernels/math/exponential.hpp"
#include "kernels/math/gaussian.hpp"
#include "kernels/math/logistic.hpp"
#include "kernels/math/piecewise.hpp"
