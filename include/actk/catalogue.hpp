// The activation catalogue: every activation is listed once, here, and the API, the backends,
// the tests, the validation suite and the benchmarks all expand from this list.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace actk {

/// Which activation parameter a catalogue entry reads (see ActivationParams).
enum class Param : std::uint8_t { negative_slope, alpha, beta, threshold, min_val, max_val };

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
  X(softsign, Softsign, ACTK_PARAMS_NONE, never)

/// Every activation of the catalogue.
enum class Activation : std::uint8_t {
#define ACTK_ENUM_ENTRY(id, Functor, params, from_output) id,
  ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_ENUM_ENTRY)
#undef ACTK_ENUM_ENTRY
};

/// Number of elementwise activations in the catalogue.
inline constexpr int kElementwiseActivationCount = 0
#define ACTK_COUNT_ENTRY(id, Functor, params, from_output) +1
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_COUNT_ENTRY)
#undef ACTK_COUNT_ENTRY
    ;

/// Parameters of the parametric activations, with PyTorch's defaults. Each activation reads
/// only the fields its catalogue entry names; the others are ignored.
struct ActivationParams {
  float negative_slope = 0.01f;  ///< leaky_relu: slope for x <= 0.
  float alpha = 1.0f;            ///< elu, celu: scale of the negative branch (celu: != 0).
  float beta = 1.0f;             ///< softplus: sharpness, != 0.
  float threshold = 20.0f;       ///< softplus: beta*x above it returns x (linear).
  float min_val = -1.0f;         ///< hardtanh: lower bound, <= max_val.
  float max_val = 1.0f;          ///< hardtanh: upper bound.
};

/// Value of one parameter field.
float param_value(const ActivationParams& params, Param param) noexcept;
/// Field name of a parameter ("negative_slope", "alpha", ...).
const char* param_name(Param param) noexcept;
/// Default value of a parameter.
float param_default(Param param) noexcept;

/// One catalogue entry, as the API exposes it.
struct ActivationInfo {
  Activation activation;
  const char* name;          ///< e.g. "gelu_tanh"
  unsigned param_mask;       ///< bit i set: reads Param(i)
  FromOutput from_output;    ///< whether backward_from_output is allowed

  bool uses(Param param) const noexcept { return (param_mask >> static_cast<unsigned>(param)) & 1u; }
};

/// The catalogue entry of an activation.
const ActivationInfo& info(Activation activation) noexcept;
/// Canonical name of an activation ("gelu", "leaky_relu", ...).
const char* activation_name(Activation activation) noexcept;
/// The activation of a name, or nothing if the name is unknown ("swish" is accepted for silu).
std::optional<Activation> activation_from_name(std::string_view name) noexcept;
/// The whole catalogue, in declaration order.
const ActivationInfo* catalogue_begin() noexcept;
const ActivationInfo* catalogue_end() noexcept;

/// Iterable view of the catalogue: `for (const ActivationInfo& a : actk::catalogue())`.
struct Catalogue {
  const ActivationInfo* begin() const noexcept { return catalogue_begin(); }
  const ActivationInfo* end() const noexcept { return catalogue_end(); }
};
inline Catalogue catalogue() noexcept { return {}; }

/// Whether backward_from_output is valid for this activation with these parameters.
bool supports_backward_from_output(Activation activation, const ActivationParams& params) noexcept;

}  // namespace actk
