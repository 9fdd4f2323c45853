// The catalogue's tables, expanded from ACTK_ELEMENTWISE_ACTIVATIONS.
#include <cmath>

#include "actk/catalogue.hpp"

namespace actk {
namespace {

constexpr ActivationInfo kCatalogue[] = {
#define ACTK_ELEMENTWISE_INFO(id, Functor, params, from_output) \
  {Activation::id, #id, ActivationKind::elementwise, params, FromOutput::from_output, Activation::id},
#define ACTK_STRUCTURED_INFO(id, kind, gate, params) \
  {Activation::id, #id, ActivationKind::kind, params, FromOutput::never, Activation::gate},
    ACTK_ELEMENTWISE_ACTIVATIONS(ACTK_ELEMENTWISE_INFO) ACTK_STRUCTURED_ACTIVATIONS(ACTK_STRUCTURED_INFO)
#undef ACTK_ELEMENTWISE_INFO
#undef ACTK_STRUCTURED_INFO
};

static_assert(sizeof(kCatalogue) / sizeof(kCatalogue[0]) == kActivationCount);

// The parameter that `when_param_positive` refers to: the entry's first (leaky_relu's slope,
// elu's alpha).
Param first_param(unsigned mask) {
  for (unsigned i = 0; i < 8; ++i) {
    if ((mask >> i) & 1u) return static_cast<Param>(i);
  }
  return Param::negative_slope;
}

}  // namespace

namespace {
template <class Params>
auto* param_field(Params& p, Param param) noexcept {
  switch (param) {
    case Param::negative_slope: return &p.negative_slope;
    case Param::alpha: return &p.alpha;
    case Param::beta: return &p.beta;
    case Param::threshold: return &p.threshold;
    case Param::min_val: return &p.min_val;
    case Param::max_val: return &p.max_val;
    case Param::sigmoid_scale: return &p.sigmoid_scale;
    case Param::limit: return &p.limit;
  }
  return static_cast<decltype(&p.limit)>(nullptr);
}
}  // namespace

double param_value(const ActivationParams& p, Param param) noexcept {
  const double* field = param_field(p, param);
  return field ? *field : 0.0;
}

void set_param_value(ActivationParams& p, Param param, double value) noexcept {
  if (double* field = param_field(p, param)) *field = value;
}

const char* param_name(Param param) noexcept {
  switch (param) {
    case Param::negative_slope: return "negative_slope";
    case Param::alpha: return "alpha";
    case Param::beta: return "beta";
    case Param::threshold: return "threshold";
    case Param::min_val: return "min_val";
    case Param::max_val: return "max_val";
    case Param::sigmoid_scale: return "sigmoid_scale";
    case Param::limit: return "limit";
  }
  return "?";
}

double param_default(Param param) noexcept { return param_value(ActivationParams{}, param); }

ActivationParams params_for_compute(const ActivationParams& p, DType dtype) noexcept {
  if (dtype == DType::f64) return p;
  ActivationParams rounded = p;
  for (const Param param : kAllParams) {
    set_param_value(rounded, param, static_cast<double>(static_cast<float>(param_value(p, param))));
  }
  return rounded;
}

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
const ActivationInfo* catalogue_end() noexcept { return kCatalogue + kActivationCount; }

Catalogue catalogue(ActivationKind kind) noexcept {
  const ActivationInfo* first = catalogue_begin();
  while (first != catalogue_end() && first->kind != kind) ++first;
  const ActivationInfo* last = first;
  while (last != catalogue_end() && last->kind == kind) ++last;
  return {first, last};
}

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
