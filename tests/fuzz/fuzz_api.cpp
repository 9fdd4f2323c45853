// libFuzzer target: drives the public API with fuzzer-chosen activations, dtypes, passes,
// backends, sizes, offsets into one shared arena (so views overlap in every way), parameters and
// bit patterns (NaN payloads, subnormals, infinities). Every call must either succeed with results
// equal to the reference backend's (within the accuracy contract), or throw actk::Error with
// every byte of the arena untouched. Anything else (a crash, a sanitizer report, another
// exception, a wrong result) is a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "actk/actk.hpp"
#include "host/validation/compare.hpp"

namespace {

using namespace actk;

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <class T>
  T take() {
    T value{};
    const std::size_t n = size_ - pos_ < sizeof(T) ? size_ - pos_ : sizeof(T);
    std::memcpy(&value, data_ + pos_, n);
    pos_ += n;
    return value;
  }
  const std::uint8_t* rest() const { return data_ + pos_; }
  std::size_t rest_size() const { return size_ - pos_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

[[noreturn]] void finding(const char* what, const char* detail) {
  std::fprintf(stderr, "FINDING: %s: %s\n", what, detail);
  std::abort();
}

// A parameter: usually the default or a nearby value, sometimes raw bits (NaN, inf, 0, huge).
float fuzz_param(Input& in, float fallback) {
  const std::uint8_t mode = in.take<std::uint8_t>();
  if (mode < 160) return fallback;
  if (mode < 220) return fallback * (1.0f + static_cast<float>(static_cast<std::int8_t>(in.take<std::uint8_t>())) / 64.0f);
  return in.take<float>();
}

// Whether y is a value f can output: backward from the output is defined only there.
bool in_range_of(Activation a, const ActivationParams& p, double y) {
  switch (a) {
    case Activation::sigmoid: return y >= 0 && y <= 1;
    case Activation::tanh: return y >= -1 && y <= 1;
    case Activation::relu: return y >= 0;
    case Activation::elu: return y >= -p.alpha;
    case Activation::selu: return y >= -1.0507009873554805 * 1.6732632423543772;
    case Activation::celu: return p.alpha < 0 || y >= -p.alpha;
    default: return true;
  }
}

void run_pass(Activation a, Pass pass, const Options& options, const void* x, const void* dy, void* y, void* dx,
              DType t, std::int64_t n) {
  switch (pass) {
    case Pass::forward: forward(a, {x, t, n}, {y, t, n}, options); break;
    case Pass::backward: backward(a, {x, t, n}, {dy, t, n}, {dx, t, n}, options); break;
    case Pass::backward_from_output: backward_from_output(a, {x, t, n}, {dy, t, n}, {dx, t, n}, options); break;
    case Pass::forward_backward: forward_backward(a, {x, t, n}, {dy, t, n}, {y, t, n}, {dx, t, n}, options); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto activation = static_cast<Activation>(in.take<std::uint8_t>() % (kElementwiseActivationCount + 1));
  const auto dtype = static_cast<DType>(in.take<std::uint8_t>() % 5);  // 4 is not a dtype
  const auto pass = static_cast<Pass>(in.take<std::uint8_t>() % 4);
  Options options;
  options.backend = (in.take<std::uint8_t>() & 1) ? Backend::cpu : Backend::reference;
  options.accumulate = in.take<std::uint8_t>() & 1;
  options.params.negative_slope = fuzz_param(in, 0.01f);
  options.params.alpha = fuzz_param(in, 1.0f);
  options.params.beta = fuzz_param(in, 1.0f);
  options.params.threshold = fuzz_param(in, 20.0f);
  options.params.min_val = fuzz_param(in, -1.0f);
  options.params.max_val = fuzz_param(in, 1.0f);

  // Count and the four views' byte offsets inside one arena; some views may be null.
  const std::int64_t count = static_cast<std::int64_t>(in.take<std::uint16_t>() % 2100) - 2;  // may be negative
  const std::size_t element = dtype_size(static_cast<DType>(static_cast<int>(dtype) % 4));
  const std::size_t span = (count > 0 ? static_cast<std::size_t>(count) : 0) * element;
  const std::size_t arena_size = 4 * span + 64;
  std::uint16_t offsets[4];
  for (std::uint16_t& o : offsets) o = in.take<std::uint16_t>();
  const std::uint8_t null_mask = in.take<std::uint8_t>();

  std::vector<std::uint8_t> arena(arena_size);
  for (std::size_t i = 0; i < arena_size; ++i) arena[i] = in.rest_size() ? in.rest()[i % in.rest_size()] : 0x3c;
  // Offsets: mostly a separate quarter each (aligned or not), sometimes anywhere (overlaps).
  std::uint8_t* views[4];
  for (int v = 0; v < 4; ++v) {
    const bool anywhere = offsets[v] & 0x8000;
    const std::size_t base = anywhere ? (offsets[v] & 0x7fff) % (3 * span + 1) : v * span + (offsets[v] & 15);
    views[v] = (null_mask >> v) & 1 ? nullptr : arena.data() + base;
  }
  const std::vector<std::uint8_t> before = arena;

  try {
    run_pass(activation, pass, options, views[0], views[1], views[2], views[3], dtype, count);
  } catch (const Error& e) {
    if (arena != before) finding("an Error was thrown after writing", e.what());
    if (e.call().empty() || e.argument().empty() || e.reason().empty()) finding("an incomplete message", e.what());
    return 0;
  } catch (const std::exception& e) {
    finding("an exception other than actk::Error", e.what());
  }

  // It succeeded: the inputs were valid. Recompute on the reference backend from the original
  // bytes into separate buffers and compare every output that was written.
  const DType t = dtype;
  const std::int64_t n = count;
  if (n <= 0) return 0;
  auto copy_of = [&](const std::uint8_t* view) {
    return std::vector<std::uint8_t>(before.begin() + (view - arena.data()), before.begin() + (view - arena.data()) + span);
  };
  const std::vector<std::uint8_t> x = copy_of(views[0]);
  const std::vector<std::uint8_t> dy = pass == Pass::forward ? std::vector<std::uint8_t>(span) : copy_of(views[1]);
  std::vector<std::uint8_t> y(span), dx = pass == Pass::forward ? std::vector<std::uint8_t>(span) : copy_of(views[3]);
  const std::vector<std::uint8_t> dx_old = dx;
  Options reference = options;
  reference.backend = Backend::reference;
  run_pass(activation, pass, reference, x.data(), dy.data(), y.data(), dx.data(), t, n);

  auto check = [&](const std::uint8_t* got, std::vector<std::uint8_t> want, Pass judged, const void* scale) {
    // With an infinite or NaN upstream gradient, dx = dy * f'(x) is inf or NaN depending on
    // whether f'(x) underflows to 0 in the compute type (the reference's double does not): any
    // non-finite result is right there.
    // Likewise backward from an output outside f's range (a "sigmoid output" of 1e30): f'(x) as a
    // function of y is a polynomial that overflows the compute type there, as it does not in the
    // reference's wider type.
    std::vector<bool> overflowing(static_cast<std::size_t>(n), false), undefined(static_cast<std::size_t>(n), false);
    if (pass == Pass::backward_from_output) {
      // A y that f never outputs (a sigmoid "output" of -3) has no derivative to agree on.
      for (std::int64_t i = 0; i < n; ++i) {
        undefined[i] = !in_range_of(activation, options.params, validation::element_as_double(t, x.data(), i));
      }
      std::vector<double> y_wide(static_cast<std::size_t>(n)), g(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) y_wide[i] = validation::element_as_double(t, x.data(), i);
      const std::vector<double> ones(static_cast<std::size_t>(n), 1.0);
      backward_from_output(activation, {y_wide.data(), n}, {ones.data(), n}, {g.data(), n}, reference);
      const double compute_max = t == DType::f64 ? 1.7976931348623157e308 : 3.4028234663852886e38;
      for (std::int64_t i = 0; i < n; ++i) overflowing[i] = !(std::fabs(g[i]) <= compute_max / 2);
    }
    if (scale) {
      for (std::int64_t i = 0; i < n; ++i) {
        const std::size_t at = static_cast<std::size_t>(i) * element;
        const bool upstream_finite = std::isfinite(validation::element_as_double(t, scale, i)) &&
                                     (!options.accumulate || std::isfinite(validation::element_as_double(t, dx_old.data(), i))) &&
                                     !overflowing[i];
        if (undefined[i] || (!upstream_finite && !std::isfinite(validation::element_as_double(t, got, i)))) {
          std::memcpy(want.data() + at, got + at, element);
        }
      }
    }
    const validation::Tolerance tol = validation::tolerance(activation, t, judged, options.backend);
    const validation::Comparison c = validation::compare(t, got, want.data(), scale, n, tol);
    if (!c.passed()) {
      char where[320];
      const ActivationParams& p = options.params;
      std::snprintf(where, sizeof where,
                    " [%s %s %s n=%lld %s accumulate=%d offsets x=%td dy=%td y=%td dx=%td; slope=%a alpha=%a beta=%a "
                    "threshold=%a min=%a max=%a]",
                    activation_name(activation), dtype_name(t), pass_name(judged), static_cast<long long>(n),
                    backend_name(options.backend), options.accumulate, views[0] ? views[0] - arena.data() : -1,
                    views[1] ? views[1] - arena.data() : -1, views[2] ? views[2] - arena.data() : -1,
                    views[3] ? views[3] - arena.data() : -1, p.negative_slope, p.alpha, p.beta, p.threshold,
                    p.min_val, p.max_val);
      finding("a result differs from the reference",
              (validation::describe_element(t, x.data(), got, want.data(), c.worst_index) + where).c_str());
    }
  };
  if (pass == Pass::forward || pass == Pass::forward_backward) check(views[2], y, Pass::forward, nullptr);
  if (pass != Pass::forward) check(views[3], dx, pass, dy.data());
  return 0;
}
