// The activation catalogue: every activation is listed once, here, and the API, the backends,
// the tests, the validation suite and the benchmarks all expand from these lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "actk/types.hpp"

namespace actk {

/// Which activation parameter a catalogue entry reads (see ActivationParams).
enum class Param : std::uint8_t { negative_slope, alpha, beta, threshold, min_val, max_val, sigmoid_scale, limit };
/// Every Param, in the enum's order.
inline constexpr Param kAllParams[] = {Param::negative_slope, Param::alpha,   Param::beta,          Param::threshold,
                                       Param::min_val,        Param::max_val, Param::sigmoid_scale, Param::limit};

/// The shape of work an activation does, which decides the calls that take it.
enum class ActivationKind : std::uint8_t {
  elementwise,  ///< y = f(x) element by element: forward, backward, ... (ops.hpp), bias fusion
  prelu,        ///< a learnable weight per channel: prelu_forward, prelu_backward (structured.hpp)
  maxout,       ///< a max over groups of k: maxout_forward, maxout_backward
  gated,        ///< y = act(gate) * up: gated_forward, gated_backward
};

/// When the backward pass can be computed from the forward output y instead of the input x.
enum class FromOutput : std::uint8_t {
  always,             ///< f'(x) is a function of y alone.
  never,              ///< y does not determine f'(x) (e.g. gelu is not monotonic).
  when_param_positive ///< only when the entry's first parameter is > 0 (leaky_relu, elu).
};

// X(id, Functor, parameters..., from-output rule), parameters as a bit mask of Param.
// Semantics follow torch.nn.functional; ../shared/design.md has the table of formulas.
#define ACTK_PARAMS_NONE 0u
#define ACTK_PARAM_BIT(p) (1u << static_cast<unsigned>(::actk::Param::p))
#define ACTK_ELEMENTWISE_ACTIVATIONS(X)                                                        \
  X(identity, Identity, ACTK_PARAMS_NONE, always)                                              \
  X(sigmoid, Sigmoid, ACTK_PARAMS_NONE, always)                                                \
  X(tanh, Tanh, ACTK_PARAMS_NONE, always)                                                      \
  X(relu, Relu, ACTK_PARAMS_NONE, always)                                                      \
  X(leaky_relu, LeakyRelu, ACTK_PARAM_BIT(negative_slope), when_param_positive)                \
  X(elu, Elu, ACTK_PARAM_BIT(alpha), when_param_positive)                                      \
  X(selu, Selu, ACTK_PARAMS_NONE, always)                                                      \
  X(celu, Celu, ACTK_PARAM_BIT(alpha), always)                                                 \
  X(gelu, Gelu, ACTK_PARAMS_NONE, never)                                                       \
  X(gelu_tanh, GeluTanh, ACTK_PARAMS_NONE, never)                                              \
  X(silu, Silu, ACTK_PARAMS_NONE, never)                                                       \
  X(softplus, Softplus, ACTK_PARAM_BIT(beta) | ACTK_PARAM_BIT(threshold), never)               \
  X(mish, Mish, ACTK_PARAMS_NONE, never)                                                       \
  X(hardtanh, Hardtanh, ACTK_PARAM_BIT(min_val) | ACTK_PARAM_BIT(max_val), never)              \
  X(relu6, Relu6, ACTK_PARAMS_NONE, never)                                                     \
  X(hardsigmoid, Hardsigmoid, ACTK_PARAMS_NONE, never)                                         \
  X(hardswish, Hardswish, ACTK_PARAMS_NONE, never)                                             \
  X(softsign, Softsign, ACTK_PARAMS_NONE, never)                                               \
  X(relu_squared, ReluSquared, ACTK_PARAMS_NONE, always)                                       \
  X(quick_gelu, QuickGelu, ACTK_PARAM_BIT(sigmoid_scale), never)

// X(id, kind, gate activation, parameters): the entries that are not a plain map over elements. A
// gated entry computes act(gate) * up with the elementwise activation named in the third column;
// one that reads `limit` clamps its inputs first (swiglu_clamped, GPT-OSS: gate <= limit,
// -limit <= up <= limit, and up + 1 as the factor). quick_geglu is SwiGLU with a scaled gate,
// gate sigma(a gate) up (Transformer Engine's qgeglu; a = 1 is swiglu's formula).
#define ACTK_STRUCTURED_ACTIVATIONS(X)                                                        \
  X(prelu, prelu, identity, ACTK_PARAMS_NONE)                                                 \
  X(maxout, maxout, identity, ACTK_PARAMS_NONE)                                               \
  X(glu, gated, sigmoid, ACTK_PARAMS_NONE)                                                    \
  X(reglu, gated, relu, ACTK_PARAMS_NONE)                                                     \
  X(geglu, gated, gelu, ACTK_PARAMS_NONE)                                                     \
  X(geglu_tanh, gated, gelu_tanh, ACTK_PARAMS_NONE)                                           \
  X(swiglu, gated, silu, ACTK_PARAMS_NONE)                                                    \
  X(swiglu_clamped, gated, quick_gelu, ACTK_PARAM_BIT(sigmoid_scale) | ACTK_PARAM_BIT(limit)) \
  X(quick_geglu, gated, quick_gelu, ACTK_PARAM_BIT(sigmoid_scale))

/// Every activation of the catalogue: the elementwise ones first, then the structured ones.
enum class Activation : std::uint8_t {
#define ACTK_ENUM_ENTRY(id, ...) id,
  ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_ENUM_ENTRY) ACTK_STRUCTURED_ACTIVATIONS(ACTK_ENUM_ENTRY)
#undef ACTK_ENUM_ENTRY
};

/// Number of elementwise activations (they come first in the enum), and of all entries.
inline constexpr int kElementwiseActivationCount = 0
#define ACTK_COUNT_ENTRY(...) +1
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_COUNT_ENTRY);
inline constexpr int kActivationCount = kElementwiseActivationCount ACTK_STRUCTURED_ACTIVATIONS(ACTK_COUNT_ENTRY);
#undef ACTK_COUNT_ENTRY

/// Parameters of the parametric activations, with PyTorch's defaults. Each activation reads
/// only the fields its catalogue entry names; the others are ignored. They are double, as
/// PyTorch's scalars are: an f64 call computes with the value given (negative_slope = 0.01 is
/// 0.01 to double precision), and f32, f16 and bf16 calls with that value rounded once to f32,
/// their compute type (params_for_compute). Validation judges the rounded value: a beta of 1e-50
/// is zero in f32 and an error there, an alpha of 1e300 is not finite.
struct ActivationParams {
  double negative_slope = 0.01;  ///< leaky_relu: slope for x <= 0.
  double alpha = 1.0;            ///< elu, celu: scale of the negative branch (celu: > 0).
  double beta = 1.0;             ///< softplus: sharpness, != 0.
  double threshold = 20.0;       ///< softplus: beta*x above it returns x (linear).
  double min_val = -1.0;         ///< hardtanh: lower bound, <= max_val.
  double max_val = 1.0;          ///< hardtanh: upper bound.
  double sigmoid_scale = 1.702;  ///< quick_gelu, swiglu_clamped, quick_geglu: a in x * sigmoid(a x),
                                 ///< >= 2^-8 (CLIP's and GPT-OSS's 1.702; GPT-OSS calls it alpha).
  double limit = 7.0;            ///< swiglu_clamped: gate <= limit, |up| <= limit, > 0 (GPT-OSS's 7).
};

/// Value of one parameter field.
double param_value(const ActivationParams& params, Param param) noexcept;
/// Sets one parameter field.
void set_param_value(ActivationParams& params, Param param, double value) noexcept;
/// Field name of a parameter ("negative_slope", "alpha", ...).
const char* param_name(Param param) noexcept;
/// Default value of a parameter.
double param_default(Param param) noexcept;
/// The parameters a call on data of `dtype` computes with: every field rounded once to f32 for
/// f32, f16 and bf16 data (their compute type), unchanged for f64.
ActivationParams params_for_compute(const ActivationParams& params, DType dtype) noexcept;

/// One catalogue entry, as the API exposes it.
struct ActivationInfo {
  Activation activation;
  const char* name;          ///< e.g. "gelu_tanh"
  ActivationKind kind;
  unsigned param_mask;       ///< bit i set: reads Param(i)
  FromOutput from_output;    ///< whether backward_from_output is allowed
  Activation gate;           ///< gated entries: the activation applied to the gate; others: itself

  bool uses(Param param) const noexcept { return (param_mask >> static_cast<unsigned>(param)) & 1u; }
};

/// The catalogue entry of an activation.
const ActivationInfo& info(Activation activation) noexcept;
/// Whether `activation` is an entry of the catalogue (a valid enumerator).
inline bool is_known(Activation activation) noexcept {
  return static_cast<int>(activation) < kActivationCount;
}
/// Canonical name of an activation ("gelu", "leaky_relu", ...).
const char* activation_name(Activation activation) noexcept;
/// The activation of a name, or nothing if the name is unknown ("swish" is accepted for silu).
std::optional<Activation> activation_from_name(std::string_view name) noexcept;
/// The whole catalogue, in declaration order (entries of one kind are contiguous).
const ActivationInfo* catalogue_begin() noexcept;
const ActivationInfo* catalogue_end() noexcept;

/// Iterable run of catalogue entries: `for (const ActivationInfo& a : actk::catalogue())`.
struct Catalogue {
  const ActivationInfo* first;
  const ActivationInfo* last;
  const ActivationInfo* begin() const noexcept { return first; }
  const ActivationInfo* end() const noexcept { return last; }
};
/// Every entry.
inline Catalogue catalogue() noexcept { return {catalogue_begin(), catalogue_end()}; }
/// The entries of one kind, e.g. catalogue(ActivationKind::elementwise).
Catalogue catalogue(ActivationKind kind) noexcept;

/// Whether backward_from_output is valid for this activation with these parameters.
bool supports_backward_from_output(Activation activation, const ActivationParams& params) noexcept;

}  // namespace actk
