// The catalogue's tables, expanded from ACTK_ELEMENTWISE_ACTIVATIONS.
#include <cmath>

#include "actk/catalogue.hpp"

namespace actk {
namespace {

constexpr ActivationInfo kCatalogue[] = {
#define ACTK_INFO_ENTRY(id, Functor, params, from_output) \
  {Activation::id, #id, params, FromOutput::from_output},
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_INFO_ENTRY)
#undef ACTK_INFO_ENTRY
};

static_assert(sizeof(kCatalogue) / sizeof(kCatalogue[0]) == kElementwiseActivationCount);

// Every parameter of the catalogue that "leads" an activation (the one `when_param_positive`
// refers to) is the first bit of its mask.
Param first_param(unsigned mask) {
  for (unsigned i = 0; i < 8; ++i) {
    if ((mask >> i) & 1u) return static_cast<Param>(i);
  }
  return Param::negative_slope;
}

}  // namespace

float param_value(const ActivationParams& p, Param param) noexcept {
  switch (param) {
    case Param::negative_slope: return p.negative_slope;
    case Param::alpha: return p.alpha;
    case Param::beta: return p.beta;
    case Param::threshold: return p.threshold;
    case Param::min_val: return p.min_val;
    case Param::max_val: return p.max_val;
  }
  return 0.0f;
}

const char* param_name(Param param) noexcept {
  switch (param) {
    case Param::negative_slope: return "negative_slope";
    case Param::alpha: return "alpha";
    case Param::beta: return "beta";
    case Param::threshold: return "threshold";
    case Param::min_val: return "min_val";
    case Param::max_val: return "max_val";
  }
  return "?";
}

float param_default(Param param) noexcept { return param_value(ActivationParams{}, param); }

const ActivationInfo& info(Activation activation) noexcept {
  return kCatalogue[static_cast<int>(activation)];
}

const char* activation_name(Activation activation) noexcept { return info(activation).name; }

std::optional<Activation> activation_from_name(std::string_view name) noexcept {
  if (name == "swish") return Activation::silu;
  for (const ActivationInfo& entry : kCatalogue) {
    if (name == entry.name) return entry.activation;
  }
  return std::nullopt;
}

const ActivationInfo* catalogue_begin() noexcept { return kCatalogue; }
const ActivationInfo* catalogue_end() noexcept { return kCatalogue + kElementwiseActivationCount; }

bool supports_backward_from_output(Activation activation, const ActivationParams& params) noexcept {
  const ActivationInfo& entry = info(activation);
  switch (entry.from_output) {
    case FromOutput::always: return true;
    case FromOutput::never: return false;
    case FromOutput::when_param_positive: return param_value(params, first_param(entry.param_mask)) > 0;
  }
  return false;
}

}  // namespace actk
