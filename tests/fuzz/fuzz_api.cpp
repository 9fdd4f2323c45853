// libFuzzer target: drives the public API with fuzzer-chosen activations, dtypes, passes,
// backends, sizes, offsets into one shared arena (so views overlap in every way), parameters and
// bit patterns (NaN payloads, subnormals, infinities). Every call must either succeed with results
// equal to the reference backend's (within the accuracy contract), or throw actk::Error with
// every byte of the arena untouched. Anything else (a crash, a sanitizer report, another
// exception, a wrong result) is a finding.
//
// The first byte selects the API: below 0x80 the elementwise passes (ops.hpp) read the whole
// input, that byte being their activation byte as before; from 0x80 on, its low three bits select
// one of the structured calls (structured.hpp): PReLU, Maxout, the gated family and bias fusion,
// forward and backward.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
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

// A parameter: usually the default or a nearby value, sometimes raw float or double bits (NaN,
// inf, 0, huge, and doubles that round to 0 or inf in f32, the compute type of f32/f16/bf16).
double fuzz_param(Input& in, double fallback) {
  const std::uint8_t mode = in.take<std::uint8_t>();
  if (mode < 160) return fallback;
  if (mode < 220) return fallback * (1.0 + static_cast<std::int8_t>(in.take<std::uint8_t>()) / 64.0);
  if (mode < 240) return in.take<float>();
  return in.take<double>();
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

// The reference's options for a recomputation in f64 of a call on data of type t: the parameters
// as the call computes with them (rounded once to f32 for f32, f16 and bf16), so that the f64 call
// judges and uses the same values (a min_val of 3e-303 over a max_val of -2e-156 is 0 over -0 in
// f32, valid there, and invalid as two doubles).
Options widened(Options reference, DType t) {
  reference.params = params_for_compute(reference.params, t);
  return reference;
}

// ---- the elementwise passes ---------------------------------------------------------------------

int fuzz_elementwise(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto activation = static_cast<Activation>(in.take<std::uint8_t>() % (kElementwiseActivationCount + 1));
  const auto dtype = static_cast<DType>(in.take<std::uint8_t>() % 5);  // 4 is not a dtype
  const auto pass = static_cast<Pass>(in.take<std::uint8_t>() % 4);
  Options options;
  options.backend = (in.take<std::uint8_t>() & 1) ? Backend::cpu : Backend::reference;
  options.accumulate = in.take<std::uint8_t>() & 1;
  options.params.negative_slope = fuzz_param(in, 0.01);
  options.params.alpha = fuzz_param(in, 1.0);
  options.params.beta = fuzz_param(in, 1.0);
  options.params.threshold = fuzz_param(in, 20.0);
  options.params.min_val = fuzz_param(in, -1.0);
  options.params.max_val = fuzz_param(in, 1.0);
  options.params.sigmoid_scale = fuzz_param(in, 1.702);
  options.params.limit = fuzz_param(in, 7.0);

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
        undefined[i] = !in_range_of(activation, params_for_compute(options.params, t),
                                    validation::element_as_double(t, x.data(), i));
      }
      std::vector<double> y_wide(static_cast<std::size_t>(n)), g(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) y_wide[i] = validation::element_as_double(t, x.data(), i);
      const std::vector<double> ones(static_cast<std::size_t>(n), 1.0);
      backward_from_output(activation, {y_wide.data(), n}, {ones.data(), n}, {g.data(), n}, widened(reference, t));
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

// ---- the structured calls -----------------------------------------------------------------------
//
// Each call's views are placed in one arena, as above, but the rules differ per call (shapes,
// weights, indices, row strides), so each call is described by the fuzzer in its own terms: sizes
// and layouts that are usually valid, with a "chaos" byte that breaks one thing at a time (a count,
// a shape, a stride, a dtype, a pointer). After a success the harness checks that the arguments
// were valid (a call that accepts invalid arguments is a finding), that nothing outside the
// outputs changed, and every output against the reference backend run on copies of the original
// bytes in separate, contiguous buffers.

constexpr std::int64_t kHuge = std::int64_t{1} << 40;  // a count or dimension no arena can back
constexpr std::int64_t kMaxElements = 1 << 14;         // larger counts get no more arena than this

// Where the views of one call live. Each view asks for a slot of `bytes`; the fuzzer places it at
// its own slot (aligned to its element or not), anywhere in the arena (so it may overlap any other
// view), at the start of another view's slot (exact aliasing: in place), or one element past it
// (a partial overlap). The arena is filled from the rest of the input, like the elementwise one.
class Arena {
 public:
  int add(std::size_t bytes, std::size_t align, std::uint16_t placement, bool null) {
    slots_.push_back({bytes, align, placement, null, 0});
    return static_cast<int>(slots_.size()) - 1;
  }

  void build(const Input& in) {
    std::size_t total = 0, largest = 0;
    std::vector<std::size_t> start(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      start[i] = total;
      total += slots_[i].bytes + 16;
      largest = std::max(largest, slots_[i].bytes);
    }
    bytes_.resize(total + largest + 32);
    if (in.rest_size() == 0) {
      std::fill(bytes_.begin(), bytes_.end(), 0x3c);
    } else {  // the rest of the input, repeated (in blocks: a byte loop costs more than the call)
      for (std::size_t i = 0; i < bytes_.size(); i += in.rest_size()) {
        std::memcpy(bytes_.data() + i, in.rest(), std::min(in.rest_size(), bytes_.size() - i));
      }
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      const std::uint16_t p = s.placement;
      if (p >> 14 == 2) {
        s.offset = static_cast<std::size_t>(p & 0x3fff) * (total + 1) / 0x4000;
        if (!(p & 1)) s.offset = s.offset / s.align * s.align;
      } else if (p >> 14 != 3) {
        s.offset = start[i] + ((p & 0x10) ? (p & 15u) : (p & 15u) / s.align * s.align);
      }
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.placement >> 14 != 3) continue;
      const std::size_t target = (s.placement & 0xff) % slots_.size();
      s.offset = slots_[target].placement >> 14 == 3 ? start[target] : slots_[target].offset;
      if (s.placement & 0x100) s.offset += s.align;
    }
  }

  std::uint8_t* at(int slot) { return slots_[slot].null ? nullptr : bytes_.data() + slots_[slot].offset; }
  std::ptrdiff_t offset_of(const void* p) const {
    return p ? static_cast<const std::uint8_t*>(p) - bytes_.data() : -1;
  }
  void snapshot() { before_ = bytes_; }
  bool unchanged() const { return bytes_ == before_; }
  // The bytes at `p` (a pointer into the arena) before the call, and now.
  std::vector<std::uint8_t> original(const void* p, std::size_t n) const {
    if (n == 0) return {};
    const std::uint8_t* from = before_.data() + offset_of(p);
    return {from, from + n};
  }
  std::vector<std::uint8_t> current(const void* p, std::size_t n) const {
    if (n == 0) return {};
    const std::uint8_t* from = bytes_.data() + offset_of(p);
    return {from, from + n};
  }
  // A rows x cols matrix at `p` with rows `stride` elements apart, packed into contiguous rows.
  std::vector<std::uint8_t> pack(bool before, const void* p, std::int64_t rows, std::int64_t cols, std::int64_t stride,
                                 std::size_t element) const {
    if (rows <= 0 || cols <= 0) return {};
    std::vector<std::uint8_t> out(static_cast<std::size_t>(rows * cols) * element);
    const std::uint8_t* from = (before ? before_ : bytes_).data() + offset_of(p);
    for (std::int64_t r = 0; r < rows; ++r) {
      std::memcpy(out.data() + r * cols * element, from + r * stride * static_cast<std::ptrdiff_t>(element),
                  static_cast<std::size_t>(cols) * element);
    }
    return out;
  }
  // Records the bytes an output may write; first_stray_write() then finds any other that changed.
  // (Views the call must reject may be null or larger than the arena: only the arena's bytes count.)
  void output(const void* p, std::int64_t rows, std::int64_t cols, std::int64_t stride, std::size_t element) {
    if (!p || rows <= 0 || cols <= 0) return;
    const auto size = static_cast<std::ptrdiff_t>(bytes_.size());
    for (std::int64_t r = 0; r < std::min(rows, kMaxElements); ++r) {
      const std::ptrdiff_t from = offset_of(p) + r * stride * static_cast<std::ptrdiff_t>(element);
      const std::ptrdiff_t to = std::min(size, from + static_cast<std::ptrdiff_t>(std::min(cols, kMaxElements) * element));
      if (std::max<std::ptrdiff_t>(from, 0) < to) written_.push_back({std::max<std::ptrdiff_t>(from, 0), to});
    }
  }
  std::ptrdiff_t first_stray_write() {
    std::sort(written_.begin(), written_.end());
    std::ptrdiff_t at = 0;  // the bytes before `at` are checked or written
    auto check_to = [&](std::ptrdiff_t end) {
      if (end > at && std::memcmp(bytes_.data() + at, before_.data() + at, static_cast<std::size_t>(end - at)) != 0) {
        for (std::ptrdiff_t i = at; i < end; ++i) {
          if (bytes_[i] != before_[i]) return i;
        }
      }
      return std::ptrdiff_t{-1};
    };
    for (const auto& [from, to] : written_) {
      if (const std::ptrdiff_t stray = check_to(from); stray >= 0) return stray;
      at = std::max(at, to);
    }
    return check_to(static_cast<std::ptrdiff_t>(bytes_.size()));
  }

 private:
  struct Slot {
    std::size_t bytes, align;
    std::uint16_t placement;
    bool null;
    std::size_t offset;
  };
  std::vector<Slot> slots_;
  std::vector<std::uint8_t> bytes_, before_;
  std::vector<std::pair<std::ptrdiff_t, std::ptrdiff_t>> written_;  // [from, to) of the outputs
};

bool is_dtype(DType t) { return static_cast<unsigned>(t) <= static_cast<unsigned>(DType::bf16); }
std::size_t element_size(DType t) { return dtype_size(static_cast<DType>(static_cast<int>(t) % 4)); }
double value_at(DType t, const void* p, std::int64_t i) { return validation::element_as_double(t, p, i); }

// `values` stored as `t`, clamped to its finite range: a scale for compare(), which multiplies the
// absolute floor by it (check_output applies the floor of the values beyond the range itself).
std::vector<std::uint8_t> typed(DType t, const std::vector<double>& values) {
  const double top = t == DType::f64 ? DBL_MAX : t == DType::f32 ? FLT_MAX : t == DType::f16 ? 65504.0 : 0x1.fep127;
  std::vector<std::uint8_t> out(values.size() * dtype_size(t));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = std::isnan(values[i]) ? values[i] : std::fmax(-top, std::fmin(top, values[i]));
    std::uint8_t* to = out.data() + i * dtype_size(t);
    switch (t) {
      case DType::f32: { const float f = static_cast<float>(v); std::memcpy(to, &f, 4); break; }
      case DType::f64: std::memcpy(to, &v, 8); break;
      case DType::f16: { const Half h = half_from_double(v); std::memcpy(to, &h, 2); break; }
      case DType::bf16: { const BFloat16 h = bfloat16_from_double(v); std::memcpy(to, &h, 2); break; }
    }
  }
  return out;
}

// One structured call: what it is (for messages), its common options, and what the harness
// expects of its arguments.
struct Call {
  const char* name = "";
  DType t = DType::f32;        // may be 4, not a dtype
  std::size_t element = 4;     // of t (of t % 4 when it is not a dtype)
  DType odd_dtype = DType::f32;
  int odd_view = -1;           // the view that gets odd_dtype instead of t (a mismatch), or -1
  Options options;
  // For messages (formed only for one): the shape, and each view's offset in the arena (-1: null),
  // count (a matrix: rows) and row stride.
  char shape[160] = "";
  struct Note {
    const char* name;
    std::ptrdiff_t offset;
    std::int64_t count, stride;
  } notes[6];
  int note_count = 0;
  std::vector<std::string> invalid;  // why the call must throw, if it must

  DType dtype_of(int view) const { return view == odd_view ? odd_dtype : t; }
  // (The reason is formed only when it applies: this runs for every input.)
  void must_throw_if(bool condition, const char* why, const char* view = nullptr) {
    if (condition) invalid.push_back(view ? std::string(view) + why : std::string(why));
  }
  // Null or misaligned data with a non-zero count.
  void check_pointer(const char* view_name, const void* p, std::int64_t count, std::size_t align) {
    must_throw_if(count > 0 && !p, " is null", view_name);
    must_throw_if(count > 0 && p && reinterpret_cast<std::uintptr_t>(p) % align != 0, " is misaligned", view_name);
  }
  std::string describe() const {
    char head[128];
    std::snprintf(head, sizeof head, " [%s %s %s accumulate=%d", name, is_dtype(t) ? dtype_name(t) : "dtype-4",
                  backend_name(options.backend), options.accumulate);
    std::string text = std::string(head) + shape;
    // The parameters, %a: the exact values a finding needs to be replayed by hand.
    for (Param p : kAllParams) {
      char value[64];
      std::snprintf(value, sizeof value, " %s=%a", param_name(p), param_value(options.params, p));
      text += value;
    }
    for (int i = 0; i < note_count; ++i) {
      const Note& v = notes[i];
      text += std::string(" ") + v.name + "@" + std::to_string(v.offset) + "#" + std::to_string(v.count);
      if (v.stride != -1) text += "/" + std::to_string(v.stride);
    }
    return text + "]";
  }
};

// Runs the call. An actk::Error must leave the arena untouched and name the call, argument and
// reason; any other exception is a finding. Returns whether it succeeded, after checking that it
// was allowed to and that it wrote nothing outside its outputs (declared with Arena::output
// before).
// ACTK_FUZZ_VERBOSE=1 prints each structured call and its outcome (to see what an input does).
bool verbose() {
  static const bool on = std::getenv("ACTK_FUZZ_VERBOSE") != nullptr;
  return on;
}

template <class F>
bool run_call(Arena& arena, const Call& call, F&& f) {
  try {
    f();
    if (verbose()) std::fprintf(stderr, "ok%s\n", call.describe().c_str());
  } catch (const Error& e) {
    if (verbose()) std::fprintf(stderr, "error: %s%s\n", e.what(), call.describe().c_str());
    if (!arena.unchanged()) finding("an Error was thrown after writing", (e.what() + call.describe()).c_str());
    if (e.call().empty() || e.argument().empty() || e.reason().empty()) {
      finding("an incomplete message", (e.what() + call.describe()).c_str());
    }
    return false;
  } catch (const std::exception& e) {
    finding("an exception other than actk::Error", (e.what() + call.describe()).c_str());
  }
  if (!call.invalid.empty()) {
    finding("invalid arguments were accepted", (call.invalid.front() + call.describe()).c_str());
  }
  return true;
}

void check_stray_writes(Arena& arena, const Call& call) {
  const std::ptrdiff_t stray = arena.first_stray_write();
  if (stray >= 0) {
    finding("a byte outside every output changed", ("arena offset " + std::to_string(stray) + call.describe()).c_str());
  }
}

// The reference recomputation. It gets valid arguments (the backend accepted them), so an Error
// from it means the two backends disagree on validity.
template <class F>
void run_reference(const Call& call, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    finding("the reference backend rejected what was accepted", (e.what() + call.describe()).c_str());
  }
}

// An elementwise output against the reference's: `lenient[i]` when an upstream factor of element
// i (dy, a gated op's other operand, an accumulated output) is not finite, where any non-finite
// result is right, by the elementwise path's rule (the product is inf or NaN depending on whether
// the other factor underflows to 0 in the compute type). `scale` scales the absolute floor of
// backward passes (compare()).
//
// `wide_scale`, when given, is the scale in double where the typed one had to be clamped to the
// type's range (a gated dgate's dy * up reaches 1e77): the floor, abs_floor * max(1, |scale|), is
// then applied to finite results as the contract states it, not as the clamp would make it.
void check_output(const Call& call, const char* output, Activation judged, Pass pass, const std::uint8_t* x_for_message,
                  const std::vector<std::uint8_t>& got, std::vector<std::uint8_t> want, const void* scale,
                  const std::vector<bool>& lenient, std::int64_t n, const std::vector<double>& wide_scale = {}) {
  const DType t = call.t;
  const std::size_t e = dtype_size(t);
  const validation::Tolerance tol = validation::tolerance(judged, t, pass, call.options.backend);
  for (std::int64_t i = 0; i < n; ++i) {
    const double g = value_at(t, got.data(), i), w = value_at(t, want.data(), i);
    const bool within_wide_floor = !wide_scale.empty() && std::isfinite(g) && std::isfinite(w) &&
                                   std::fabs(g - w) <= tol.abs_floor * std::fmax(1.0, std::fabs(wide_scale[i]));
    if ((lenient[i] && !std::isfinite(g)) || within_wide_floor) std::memcpy(want.data() + i * e, got.data() + i * e, e);
  }
  const validation::Comparison c = validation::compare(t, got.data(), want.data(), scale, n, tol);
  if (!c.passed()) {
    const std::string what = std::string(output) + "[" + std::to_string(c.worst_index) + "] judged as " +
                             activation_name(judged) + " " + pass_name(pass) + ": " +
                             validation::describe_element(t, x_for_message, got.data(), want.data(), c.worst_index);
    finding("a result differs from the reference", (what + call.describe()).c_str());
  }
}

// A reduction (dweight, dbias) against the reference's, with validation::compare_sums, the
// per-sum magnitudes of its terms and its absolute floor per term (`floor_terms`, see
// compare_sums); `lenient[i]` when a term of sum i (or the value accumulated into) is not finite
// in the compute type: the sum may then be any non-finite value.
void check_sums(const Call& call, const char* output, const std::vector<std::uint8_t>& got, std::vector<std::uint8_t> want,
                const std::vector<double>& sum_abs, const std::vector<bool>& lenient, std::int64_t count,
                const std::vector<double>& floor_terms) {
  const DType t = call.t;
  const std::size_t e = dtype_size(t);
  for (std::int64_t i = 0; i < count; ++i) {
    if (lenient[i] && !std::isfinite(value_at(t, got.data(), i))) std::memcpy(want.data() + i * e, got.data() + i * e, e);
  }
  const validation::Comparison c = validation::compare_sums(t, got.data(), want.data(), sum_abs, count, floor_terms);
  if (!c.passed()) {
    char what[320];
    std::snprintf(what, sizeof what, "%s[%lld]: got=%.17g want=%.17g sum|terms|=%.17g floor terms=%.17g", output,
                  static_cast<long long>(c.worst_index), value_at(t, got.data(), c.worst_index),
                  value_at(t, want.data(), c.worst_index), sum_abs[static_cast<std::size_t>(c.worst_index)],
                  floor_terms[static_cast<std::size_t>(c.worst_index)]);
    finding("a sum differs from the reference", (what + call.describe()).c_str());
  }
}

// Whether a term of a sum is non-finite in the compute type (f32 for f32, f16 and bf16; f64).
bool term_nonfinite(DType t, double term) {
  return !std::isfinite(term) || (t != DType::f64 && std::isinf(static_cast<float>(term)));
}

// Counts of the views of one call: usually what the call implies; the chaos byte changes one.
void count_chaos(std::uint8_t chaos, std::int64_t* counts, int views) {
  if (chaos >= 48) return;
  std::int64_t& c = counts[chaos % views];
  switch (chaos / 8) {
    case 0: c += 1; break;
    case 1: c -= 1; break;
    case 2: c = -c - 1; break;
    case 3: c *= 2; break;
    case 4: c = kHuge; break;
    default: c = 0; break;
  }
}

std::size_t extent(std::int64_t count, std::size_t element) {
  return count > 0 ? static_cast<std::size_t>(std::min(count, kMaxElements)) * element : 0;
}

// Reads the common part: dtype, backend, accumulate, parameters, a mismatched dtype.
Call read_call(Input& in, const char* name) {
  Call call;
  call.name = name;
  call.t = static_cast<DType>(in.take<std::uint8_t>() % 5);  // 4 is not a dtype
  call.element = element_size(call.t);
  const std::uint8_t flags = in.take<std::uint8_t>();
  call.options.backend = (flags & 1) ? Backend::cpu : Backend::reference;
  call.options.accumulate = flags & 2;
  call.options.params.negative_slope = fuzz_param(in, 0.01);
  call.options.params.alpha = fuzz_param(in, 1.0);
  call.options.params.beta = fuzz_param(in, 1.0);
  call.options.params.threshold = fuzz_param(in, 20.0);
  call.options.params.min_val = fuzz_param(in, -1.0);
  call.options.params.max_val = fuzz_param(in, 1.0);
  call.options.params.sigmoid_scale = fuzz_param(in, 1.702);
  call.options.params.limit = fuzz_param(in, 7.0);
  const std::uint8_t odd = in.take<std::uint8_t>();
  if (odd < 32) {
    call.odd_view = odd % 8;
    call.odd_dtype = static_cast<DType>((static_cast<int>(call.t) + 1 + odd / 8) % 5);
  }
  call.must_throw_if(!is_dtype(call.t), "dtype 4");
  return call;
}

// Null views: in a quarter of the inputs, those of the mask's low bits.
bool null_view(std::uint8_t mask, int view) { return mask >= 0xc0 && ((mask >> view) & 1); }

// Places a call's views, one slot each with the counts the chaos byte leaves, in `arena`, built
// from the rest of the input; p[v] is view v's address (null for a null view).
void place_views(Input& in, const Call& call, std::int64_t* counts, int views, Arena& arena, void** p) {
  count_chaos(in.take<std::uint8_t>(), counts, views);
  const std::uint8_t nulls = in.take<std::uint8_t>();
  for (int v = 0; v < views; ++v) {
    arena.add(extent(counts[v], element_size(call.dtype_of(v))), call.element, in.take<std::uint16_t>(), null_view(nulls, v));
  }
  arena.build(in);
  for (int v = 0; v < views; ++v) p[v] = arena.at(v);
}

void note_view(Call& call, const Arena& arena, const char* name, const void* p, std::int64_t count,
               std::int64_t stride = -1) {
  call.notes[call.note_count++] = {name, arena.offset_of(p), count, stride};
}

// ---- PReLU

void fuzz_prelu(Input& in, bool backward) {
  Call call = read_call(in, backward ? "prelu_backward" : "prelu_forward");
  PreluShape shape;
  shape.rows = in.take<std::uint8_t>() % 9;
  shape.channels = in.take<std::uint8_t>() % 17;
  shape.inner = in.take<std::uint8_t>() % 33;
  const std::uint8_t shape_chaos = in.take<std::uint8_t>();
  if (shape_chaos < 36) {
    switch (shape_chaos % 6) {
      case 0: shape.rows = -1; break;
      case 1: shape.channels = shape_chaos & 8 ? 0 : -1; break;
      case 2: shape.inner = -1; break;
      case 3: shape.rows = shape.channels = kHuge; break;  // the element count overflows 63 bits
      case 4: shape.inner = std::numeric_limits<std::int64_t>::max(); break;
      default: shape.channels = kHuge; break;  // with no rows, a valid call; else too many elements
    }
  }
  // rows x channels x inner, or -1 when it does not fit in 63 bits or a dimension is negative.
  std::int64_t n_shape = -1, rows_channels = 0;
  if (shape.rows < 0 || shape.channels < 0 || shape.inner < 0 ||
      __builtin_mul_overflow(shape.rows, shape.channels, &rows_channels) ||
      __builtin_mul_overflow(rows_channels, shape.inner, &n_shape)) {
    n_shape = -1;
  }
  const std::int64_t n = n_shape >= 0 && n_shape <= kMaxElements ? n_shape : 0;
  const std::uint8_t weight_mode = in.take<std::uint8_t>() % 8;
  std::int64_t weights = 1;
  if (weight_mode % 4 == 1 || weight_mode % 4 == 2) weights = shape.channels >= 1 && shape.channels <= 64 ? shape.channels : 1;
  if (weight_mode % 4 == 3) weights = weight_mode & 4 ? 0 : shape.channels == 1 ? 2 : shape.channels + 1;
  // Views: x, weight, then y, or dy, dx, dweight.
  const int views = backward ? 5 : 3;
  std::int64_t counts[5] = {n, weights, n, n, weights};
  Arena arena;
  void* p[5];
  place_views(in, call, counts, views, arena, p);
  const char* names[5] = {"x", "weight", backward ? "dy" : "y", "dx", "dweight"};

  // What the harness knows about validity.
  call.must_throw_if(call.odd_view >= 0 && call.odd_view < views && call.odd_dtype != call.t, "a dtype differs");
  call.must_throw_if(shape.rows < 0 || shape.channels < 1 || shape.inner < 0, "a bad shape");
  call.must_throw_if(counts[0] != n_shape, "x's count is not the shape's");
  call.must_throw_if(counts[1] != 1 && counts[1] != shape.channels, "weight's count is neither 1 nor C");
  for (int v = 2; v < views; ++v) call.must_throw_if(counts[v] != counts[v == 4 ? 1 : 0], "'s count", names[v]);
  for (int v = 0; v < views; ++v) call.check_pointer(names[v], p[v], counts[v], element_size(call.dtype_of(v)));
  std::snprintf(call.shape, sizeof call.shape, " shape=%lldx%lldx%lld", static_cast<long long>(shape.rows),
                static_cast<long long>(shape.channels), static_cast<long long>(shape.inner));
  for (int v = 0; v < views; ++v) note_view(call, arena, names[v], p[v], counts[v]);
  // 2^40 weights (2^40 channels and no rows): a valid backward call writes every dweight, which
  // no arena can hold.
  if (backward && counts[1] > kMaxElements && call.invalid.empty()) return;

  if (!backward) {
    arena.output(p[2], 1, std::max<std::int64_t>(counts[2], 0), 0, call.element);
  } else {
    arena.output(p[3], 1, std::max<std::int64_t>(counts[3], 0), 0, call.element);
    arena.output(p[4], 1, std::max<std::int64_t>(counts[4], 0), 0, call.element);
  }
  arena.snapshot();
  auto view = [&](int v) { return TensorView(p[v], call.dtype_of(v), counts[v]); };
  const bool ok = run_call(arena, call, [&] {
    if (backward) {
      prelu_backward(view(0), view(1), view(2), view(3), view(4), shape, call.options);
    } else {
      prelu_forward(view(0), view(1), view(2), shape, call.options);
    }
  });
  if (!ok) return;
  check_stray_writes(arena, call);

  const DType t = call.t;
  const std::size_t e = call.element;
  const std::int64_t w = counts[1];
  if (!backward && n == 0) return;  // a no-op, whatever the weight count (even one no arena backs)
  const std::vector<std::uint8_t> x = arena.original(p[0], n * e), weight = arena.original(p[1], w * e);
  Options reference = call.options;
  reference.backend = Backend::reference;
  if (!backward) {
    std::vector<std::uint8_t> y(n * e);
    run_reference(call, [&] { prelu_forward({x.data(), t, n}, {weight.data(), t, w}, {y.data(), t, n}, shape, reference); });
    check_output(call, "y", Activation::leaky_relu, Pass::forward, x.data(), arena.current(p[2], n * e), y, nullptr,
                 std::vector<bool>(n, false), n);
    return;
  }
  const std::vector<std::uint8_t> dy = arena.original(p[2], n * e);
  const bool acc = call.options.accumulate;
  std::vector<std::uint8_t> dx = acc ? arena.original(p[3], n * e) : std::vector<std::uint8_t>(n * e);
  std::vector<std::uint8_t> dweight = acc ? arena.original(p[4], w * e) : std::vector<std::uint8_t>(w * e);
  const std::vector<std::uint8_t> dx_old = dx, dweight_old = dweight;
  run_reference(call, [&] {
    prelu_backward({x.data(), t, n}, {weight.data(), t, w}, {dy.data(), t, n}, {dx.data(), t, n}, {dweight.data(), t, w},
                   shape, reference);
  });
  std::vector<bool> lenient(n), sum_lenient(w);
  std::vector<double> sum_abs(w, 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    lenient[i] = !std::isfinite(value_at(t, dy.data(), i)) || (acc && !std::isfinite(value_at(t, dx_old.data(), i)));
    const double xi = value_at(t, x.data(), i);
    if (xi > 0) continue;  // dweight sums dy * x over x <= 0 (and NaN x)
    const std::int64_t c = w == 1 ? 0 : (i / shape.inner) % shape.channels;
    // Both backends form dweight's terms dy * x in double (exact for f32, f16 and bf16 data), so a
    // term past the compute type's range is finite there and counts in the sum's error bound.
    const double term = xi * value_at(t, dy.data(), i);
    if (!std::isfinite(term)) sum_lenient[c] = true;
    else sum_abs[c] += std::fabs(term);
  }
  for (std::int64_t c = 0; c < w; ++c) {
    if (acc && !std::isfinite(value_at(t, dweight_old.data(), c))) sum_lenient[c] = true;
  }
  check_output(call, "dx", Activation::leaky_relu, Pass::backward, x.data(), arena.current(p[3], n * e), dx, dy.data(),
               lenient, n);
  // dweight's terms dy * x are exact products: the floor per term is the tests' (their count).
  check_sums(call, "dweight", arena.current(p[4], w * e), dweight, sum_abs, sum_lenient, w,
             std::vector<double>(w, static_cast<double>(w > 0 ? n / w : 0)));
}

// ---- Maxout

void fuzz_maxout(Input& in, bool backward) {
  Call call = read_call(in, backward ? "maxout_backward" : "maxout_forward");
  const std::int64_t rows = in.take<std::uint8_t>() % 17;
  MaxoutShape shape;
  shape.k = in.take<std::uint8_t>() % 9;
  shape.width = (in.take<std::uint8_t>() % 33) * shape.k;
  std::int64_t intended = rows * shape.width;
  const std::uint8_t shape_chaos = in.take<std::uint8_t>();
  if (shape_chaos < 36) {
    switch (shape_chaos % 6) {
      case 0: shape.k = 0; break;
      case 1: shape.k = -1 - (shape_chaos & 8); break;
      case 2: shape.width += 1; break;  // not a multiple of k (unless k is 1)
      case 3: shape.width = 0; break;
      case 4: intended += 1; break;    // not a multiple of the width
      default: shape.k = kHuge; break;
    }
  }
  const std::int64_t intended_groups = shape.k >= 1 ? intended / shape.k : intended;
  // Indices: forward none / given / given with a wrong count; backward none (from x) / valid /
  // the arena's bytes (mostly out of range) / valid but one out of range; x absent when indices
  // are given, in half of the cases.
  const std::uint8_t index_mode = in.take<std::uint8_t>();
  const int mode = backward ? index_mode % 6 : index_mode % 4;
  const bool with_indices = backward ? mode >= 2 : mode >= 1;
  const bool with_x = !backward || !with_indices || (index_mode & 0x80);
  // Views: forward x, y, indices; backward dx, dy, indices, x.
  const int views = backward ? 4 : 3;
  std::int64_t counts[4] = {intended, intended_groups,
                            with_indices ? intended_groups + (!backward && mode == 3) : 0, with_x ? intended : 0};
  count_chaos(in.take<std::uint8_t>(), counts, views);
  // The API takes the element count from x (forward) or dx (backward), so validity follows the
  // count that view ended up with: a chaos that empties it can make a bad intended shape valid.
  const std::int64_t n = counts[0];
  const bool shape_valid = shape.k >= 1 && shape.width >= 1 && shape.width % shape.k == 0 && n % shape.width == 0;
  const std::int64_t groups = shape.k >= 1 ? n / shape.k : n;
  const std::uint8_t nulls = in.take<std::uint8_t>();
  Arena arena;
  for (int v = 0; v < views; ++v) {
    const bool indices = v == 2;
    const std::size_t size = indices ? 4 : element_size(call.dtype_of(v));
    arena.add(extent(counts[v], size), size, in.take<std::uint16_t>(), null_view(nulls, v));
  }
  const std::uint8_t bad_index = in.take<std::uint8_t>();
  arena.build(in);
  void* p[4];
  for (int v = 0; v < views; ++v) p[v] = arena.at(v);
  if (!with_indices) p[2] = nullptr, counts[2] = 0;
  // Indices are "given" when their view is not {null, 0}, as the API reads it (a view the null mask
  // or the count chaos emptied is then not given).
  const bool indices_given = p[2] != nullptr || counts[2] != 0;
  if (backward && !with_x) p[3] = nullptr, counts[3] = 0;
  // Valid indices are written by the harness (over the fuzzer's bytes), before the snapshot.
  if (backward && with_indices && p[2] && (mode == 3 || mode == 5) && shape.k >= 1) {
    const std::int64_t m = std::min(counts[2], kMaxElements);
    for (std::int64_t g = 0; g < m; ++g) {
      std::uint8_t* at = static_cast<std::uint8_t*>(p[2]) + 4 * g;
      const std::int32_t index = static_cast<std::int32_t>(at[0] % std::min<std::int64_t>(shape.k, 255));
      std::memcpy(at, &index, 4);
    }
    if (mode == 5 && m > 0) {
      const std::int32_t bad[4] = {-1, static_cast<std::int32_t>(std::min<std::int64_t>(shape.k, INT32_MAX)),
                                   std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
      std::memcpy(static_cast<std::uint8_t*>(p[2]) + 4 * ((bad_index >> 2) % m), &bad[bad_index & 3], 4);
    }
  }
  const char* names[4] = {backward ? "dx" : "x", backward ? "dy" : "y", "indices", "x"};
  call.must_throw_if(call.odd_view >= 0 && call.odd_view < views && call.odd_view != 2 &&
                         (call.odd_view != 3 || !indices_given) && call.odd_dtype != call.t,
                     "a dtype differs");
  call.must_throw_if(!shape_valid, "a bad shape");
  call.must_throw_if(n < 0 || counts[1] != groups, "a count");
  if (indices_given) call.must_throw_if(counts[2] != groups, "indices' count");
  if (backward && !indices_given) call.must_throw_if(counts[3] != n, "x's count");
  for (int v = 0; v < views; ++v) {
    if (v == 3 && indices_given) continue;  // x is not read then
    call.check_pointer(names[v], p[v], counts[v], v == 2 ? 4 : element_size(call.dtype_of(v)));
  }
  std::snprintf(call.shape, sizeof call.shape, " rows=%lld width=%lld k=%lld index-mode=%d", static_cast<long long>(rows),
                static_cast<long long>(shape.width), static_cast<long long>(shape.k), mode);
  for (int v = 0; v < views; ++v) note_view(call, arena, names[v], p[v], counts[v]);
  auto* indices = static_cast<std::int32_t*>(p[2]);
  const std::size_t e = call.element;
  if (!backward) {
    arena.output(p[1], 1, std::max<std::int64_t>(counts[1], 0), 0, e);
    if (indices_given) arena.output(p[2], 1, std::max<std::int64_t>(counts[2], 0), 0, 4);
  } else {
    arena.output(p[0], 1, std::max<std::int64_t>(counts[0], 0), 0, e);
  }
  arena.snapshot();
  // Out-of-range indices (read from the snapshot) must be rejected.
  if (backward && indices_given && p[2] && shape.k >= 1 && counts[2] == groups && groups <= kMaxElements) {
    const std::vector<std::uint8_t> raw = arena.original(p[2], 4 * groups);
    for (std::int64_t g = 0; g < groups; ++g) {
      std::int32_t index;
      std::memcpy(&index, raw.data() + 4 * g, 4);
      if (index < 0 || index >= shape.k) {
        call.must_throw_if(true, "an index out of range");
        break;
      }
    }
  }
  auto view = [&](int v) { return TensorView(p[v], call.dtype_of(v), counts[v]); };
  const bool ok = run_call(arena, call, [&] {
    if (backward) {
      maxout_backward(view(3), ConstIndexView(indices, counts[2]), view(1), view(0), shape, call.options);
    } else {
      maxout_forward(view(0), view(1), shape, IndexView{indices, counts[2]}, call.options);
    }
  });
  if (!ok) return;
  check_stray_writes(arena, call);

  const DType t = call.t;
  Options reference = call.options;
  reference.backend = Backend::reference;
  if (!backward) {
    const std::vector<std::uint8_t> x = arena.original(p[0], n * e);
    std::vector<std::uint8_t> y(groups * e);
    std::vector<std::int32_t> index_ref(indices_given ? groups : 0);
    run_reference(call, [&] {
      maxout_forward({x.data(), t, n}, {y.data(), t, groups}, shape, {indices_given ? index_ref.data() : nullptr, counts[2]},
                     reference);
    });
    std::vector<std::uint8_t> x_first(groups * e);  // each group's first element, for messages
    for (std::int64_t g = 0; g < groups; ++g) std::memcpy(x_first.data() + g * e, x.data() + g * shape.k * e, e);
    check_output(call, "y", Activation::identity, Pass::forward, x_first.data(), arena.current(p[1], groups * e), y,
                 nullptr, std::vector<bool>(groups, false), groups);
    if (indices_given && groups > 0 &&
        std::memcmp(arena.current(p[2], 4 * groups).data(), index_ref.data(), 4 * groups) != 0) {
      finding("the arg-max indices differ from the reference's", call.describe().c_str());
    }
    return;
  }
  const bool acc = call.options.accumulate;
  const std::vector<std::uint8_t> dy = arena.original(p[1], groups * e);
  // x is read only without indices (it may then be anything, even a null view with a count).
  const std::vector<std::uint8_t> x = indices_given ? std::vector<std::uint8_t>(n * e) : arena.original(p[3], n * e);
  std::vector<std::int32_t> index_copy(indices_given ? groups : 0);
  if (indices_given && groups > 0) std::memcpy(index_copy.data(), arena.original(p[2], 4 * groups).data(), 4 * groups);
  std::vector<std::uint8_t> dx = acc ? arena.original(p[0], n * e) : std::vector<std::uint8_t>(n * e);
  const std::vector<std::uint8_t> dx_old = dx;
  run_reference(call, [&] {
    maxout_backward(ConstTensorView(x.data(), t, n),  // ignored when indices are given (zeros without x)
                    ConstIndexView(indices_given ? index_copy.data() : nullptr, indices_given ? groups : 0),
                    {dy.data(), t, groups}, {dx.data(), t, n}, shape, reference);
  });
  // dx's upstream gradient is its group's dy.
  std::vector<std::uint8_t> scale(n * e);
  std::vector<bool> lenient(n);
  for (std::int64_t i = 0; i < n; ++i) {
    std::memcpy(scale.data() + i * e, dy.data() + (i / shape.k) * e, e);
    lenient[i] = !std::isfinite(value_at(t, scale.data(), i)) || (acc && !std::isfinite(value_at(t, dx_old.data(), i)));
  }
  check_output(call, "dx", Activation::identity, Pass::backward, x.data(), arena.current(p[0], n * e), dx, scale.data(),
               lenient, n);
}

// ---- gated

struct Matrix {
  std::int64_t rows, cols, stride;
  void* data;
  ConstMatrixView as_const(DType t) const { return {data, t, rows, cols, stride}; }
  MatrixView as_mutable(DType t) const { return {data, t, rows, cols, stride}; }
};

// A row stride: dense, padded, 2 x cols (one half of [gate | up]), too small, 0 or negative
// (valid only for a single row), or far apart.
std::int64_t fuzz_stride(std::uint8_t s, std::int64_t cols) {
  if (s < 112) return cols;
  if (s < 176) return cols + 1 + (s & 15);
  if (s < 208) return 2 * cols;
  if (s < 224) return cols - 1 - (s & 3);
  if (s < 240) return (s & 1) ? 0 : -cols;
  return cols + 64 * (1 + (s & 7));
}

// Elements from a matrix's first to one past its last, or 0 where the call must be rejected
// (`unbacked` is then set where the shape cannot be backed by any arena).
std::int64_t matrix_span(const Matrix& m, bool& unbacked) {
  if (m.rows <= 0 || m.cols <= 0) return 0;
  if (m.rows > 4096 || m.cols > 4096) return unbacked = true, 0;
  if (m.rows == 1) return m.cols;
  if (m.stride < m.cols) return 0;
  if (m.stride > (1 << 20)) return unbacked = true, 0;
  return (m.rows - 1) * m.stride + m.cols;
}

void fuzz_gated(Input& in, bool backward) {
  Call call = read_call(in, backward ? "gated_backward" : "gated_forward");
  static const Catalogue gated = catalogue(ActivationKind::gated);
  const std::uint8_t which = in.take<std::uint8_t>();
  const Activation activation = which < 224 ? gated.first[which % (gated.last - gated.first)].activation
                                            : static_cast<Activation>(which % (kActivationCount + 1));
  const std::int64_t rows = in.take<std::uint8_t>() % 13;
  const std::int64_t cols = in.take<std::uint16_t>() % 321;
  // Layout: bit 0, gate and up are the halves of one [gate | up] buffer; bit 1, in the order
  // [up | gate] (PyTorch's glu); bit 2, dgate and dup likewise; bit 3, in place (dgate is gate, dup
  // is up; forward: y is gate, or up with bit 4).
  const std::uint8_t layout = in.take<std::uint8_t>();
  // Views: gate, up, then y, or dy, dgate, dup.
  const int views = backward ? 5 : 3;
  const char* names[5] = {"gate", "up", backward ? "dy" : "y", "dgate", "dup"};
  std::uint8_t strides[5];
  Matrix m[5];
  for (int v = 0; v < 5; ++v) {
    strides[v] = in.take<std::uint8_t>();
    m[v] = {rows, cols, fuzz_stride(strides[v], cols), nullptr};
  }
  const bool pair_inputs = layout & 1, swap = layout & 2, pair_grads = backward && (layout & 4), in_place = layout & 8;
  // A pair's stride: 2 x cols, padded, or too small (the halves overlap: fine for inputs, an error
  // for outputs).
  auto pair_stride = [&](std::uint8_t s) { return s >= 224 && s < 240 ? 2 * cols - 1 - (s & 1) : 2 * cols + (s & 3); };
  const std::int64_t input_pair = pair_stride(strides[0]), grad_pair = pair_stride(strides[3]);
  if (pair_inputs) m[0].stride = m[1].stride = input_pair;
  if (pair_grads) m[3].stride = m[4].stride = grad_pair;
  if (in_place && backward) m[3] = m[0], m[4] = m[1];
  if (in_place && !backward) m[2] = m[(layout & 16) ? 1 : 0];
  const std::uint8_t shape_chaos = in.take<std::uint8_t>();
  if (shape_chaos < 64) {
    Matrix& one = m[(shape_chaos >> 3) % views];
    switch (shape_chaos % 8) {
      case 0: one.rows += 1; break;
      case 1: one.cols += 1; break;
      case 2: one.rows = -1; break;
      case 3: one.cols = kHuge; break;
      case 4:  // rows x cols overflows 63 bits
        for (Matrix& each : m) each.rows = std::int64_t{1} << 33, each.cols = std::int64_t{1} << 31, each.stride = each.cols;
        break;
      case 5:  // the span (rows - 1) x stride + cols overflows 63 bits
        for (Matrix& each : m) each.rows = 3, each.stride = std::int64_t{1} << 62;
        break;
      case 6:  // the span fits, its size in bytes does not
        for (Matrix& each : m) each.rows = 3, each.stride = std::int64_t{1} << 61;
        break;
      default: one.rows = kHuge; break;
    }
  }
  bool unbacked = false;
  std::int64_t span[5];
  for (int v = 0; v < 5; ++v) span[v] = matrix_span(m[v], unbacked);
  const std::uint8_t nulls = in.take<std::uint8_t>();
  Arena arena;
  for (int v = 0; v < views; ++v) {
    arena.add(static_cast<std::size_t>(span[v]) * element_size(call.dtype_of(v)), call.element, in.take<std::uint16_t>(),
              null_view(nulls, v));
  }
  // The pairs' buffers: one half's span plus the other half's columns.
  auto pair_span = [&](std::int64_t stride) {
    Matrix half{rows, cols, stride, nullptr};
    bool ignored = false;
    return static_cast<std::size_t>(matrix_span(half, ignored) + std::max<std::int64_t>(stride, cols)) * call.element;
  };
  const int input_slot = arena.add(pair_span(input_pair), call.element, in.take<std::uint16_t>(), false);
  const int grad_slot = arena.add(pair_span(grad_pair), call.element, in.take<std::uint16_t>(), false);
  arena.build(in);
  for (int v = 0; v < views; ++v) m[v].data = arena.at(v);
  const std::ptrdiff_t half = static_cast<std::ptrdiff_t>(cols * call.element);
  if (pair_inputs) {
    m[swap ? 1 : 0].data = arena.at(input_slot);
    m[swap ? 0 : 1].data = arena.at(input_slot) + half;
  }
  if (pair_grads) {
    m[swap ? 4 : 3].data = arena.at(grad_slot);
    m[swap ? 3 : 4].data = arena.at(grad_slot) + half;
  }
  if (in_place && backward) m[3].data = m[0].data, m[4].data = m[1].data;
  if (in_place && !backward) m[2].data = m[(layout & 16) ? 1 : 0].data;

  const Matrix& gate = m[0];
  call.must_throw_if(!is_known(activation) || info(activation).kind != ActivationKind::gated, "not a gated activation");
  call.must_throw_if(call.odd_view >= 0 && call.odd_view < views && call.odd_dtype != call.t, "a dtype differs");
  call.must_throw_if(unbacked, "a shape too large to exist");
  for (int v = 0; v < views; ++v) {
    call.must_throw_if(m[v].rows != gate.rows || m[v].cols != gate.cols, "'s shape differs", names[v]);
    call.must_throw_if(m[v].rows < 0 || m[v].cols < 0, "'s shape is negative", names[v]);
    call.must_throw_if(m[v].rows > 1 && m[v].stride < m[v].cols, "'s row stride < cols", names[v]);
    call.check_pointer(names[v], m[v].data, m[v].rows > 0 && m[v].cols > 0 ? 1 : 0, element_size(call.dtype_of(v)));
  }
  std::snprintf(call.shape, sizeof call.shape, " %s rows=%lld cols=%lld layout=%d", is_known(activation) ? activation_name(activation) : "?",
                static_cast<long long>(gate.rows), static_cast<long long>(gate.cols), layout);
  for (int v = 0; v < views; ++v) note_view(call, arena, names[v], m[v].data, m[v].rows, m[v].stride);
  const std::size_t e = call.element;
  const bool fits = !unbacked && gate.rows >= 0 && gate.cols >= 0;
  if (fits) {
    for (int v = backward ? 3 : 2; v < views; ++v) {
      if (m[v].data && m[v].rows == gate.rows && m[v].cols == gate.cols) {
        arena.output(m[v].data, m[v].rows, m[v].cols, m[v].rows > 1 ? m[v].stride : 0, e);
      }
    }
  }
  arena.snapshot();
  const bool ok = run_call(arena, call, [&] {
    if (backward) {
      gated_backward(activation, m[0].as_const(call.dtype_of(0)), m[1].as_const(call.dtype_of(1)),
                     m[2].as_const(call.dtype_of(2)), m[3].as_mutable(call.dtype_of(3)), m[4].as_mutable(call.dtype_of(4)),
                     call.options);
    } else {
      gated_forward(activation, m[0].as_const(call.dtype_of(0)), m[1].as_const(call.dtype_of(1)),
                    m[2].as_mutable(call.dtype_of(2)), call.options);
    }
  });
  if (!ok) return;
  check_stray_writes(arena, call);

  const DType t = call.t;
  const std::int64_t r = gate.rows, c = gate.cols, n = r * c;
  auto stride_of = [&](const Matrix& each) { return each.rows > 1 ? each.stride : each.cols; };
  auto original = [&](const Matrix& each) { return arena.pack(true, each.data, r, c, stride_of(each), e); };
  auto current = [&](const Matrix& each) { return arena.pack(false, each.data, r, c, stride_of(each), e); };
  const std::vector<std::uint8_t> g = original(m[0]), u = original(m[1]);
  Options reference = call.options;
  reference.backend = Backend::reference;
  if (!backward) {
    std::vector<std::uint8_t> y(n * e);
    run_reference(call, [&] {
      gated_forward(activation, {g.data(), t, r, c, c}, {u.data(), t, r, c, c}, {y.data(), t, r, c, c}, reference);
    });
    // up is y's upstream factor as dy is dx's: where it is not finite, y = act(gate) * up is inf or
    // NaN depending on whether act(gate) underflows to 0 in the compute type (geglu_tanh at
    // gate = -14: 6e-102 in double, 0 in f32), and any non-finite y is right (the elementwise rule).
    std::vector<bool> lenient(n);
    for (std::int64_t i = 0; i < n; ++i) lenient[i] = !std::isfinite(value_at(t, u.data(), i));
    check_output(call, "y", activation, Pass::forward, g.data(), current(m[2]), y, nullptr, lenient, n);
    return;
  }
  const bool acc = call.options.accumulate;
  const std::vector<std::uint8_t> dy = original(m[2]);
  std::vector<std::uint8_t> dgate = acc ? original(m[3]) : std::vector<std::uint8_t>(n * e);
  std::vector<std::uint8_t> dup = acc ? original(m[4]) : std::vector<std::uint8_t>(n * e);
  const std::vector<std::uint8_t> dgate_old = dgate, dup_old = dup;
  run_reference(call, [&] {
    gated_backward(activation, {g.data(), t, r, c, c}, {u.data(), t, r, c, c}, {dy.data(), t, r, c, c},
                   {dgate.data(), t, r, c, c}, {dup.data(), t, r, c, c}, reference);
  });
  // The absolute floor scales with each gradient's upstream factor, as in the tests: dy * up' for
  // dgate (up' = clamp(up, -limit, limit) + 1 for the entries that read limit, else up), dy for dup.
  const bool clamped = info(activation).uses(Param::limit);
  const double limit = params_for_compute(call.options.params, t).limit;
  std::vector<double> upstream(n);
  std::vector<bool> gate_lenient(n), up_lenient(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const double dyi = value_at(t, dy.data(), i), upi = value_at(t, u.data(), i);
    upstream[i] = dyi * (clamped ? std::clamp(upi, -limit, limit) + 1 : upi);
    up_lenient[i] = !std::isfinite(dyi) || (acc && !std::isfinite(value_at(t, dup_old.data(), i)));
    gate_lenient[i] = !std::isfinite(dyi) || !std::isfinite(upi) || (acc && !std::isfinite(value_at(t, dgate_old.data(), i)));
  }
  check_output(call, "dgate", activation, Pass::backward, g.data(), current(m[3]), dgate, typed(t, upstream).data(),
               gate_lenient, n, upstream);
  check_output(call, "dup", activation, Pass::backward, g.data(), current(m[4]), dup, dy.data(), up_lenient, n);
}

// ---- bias fusion

void fuzz_bias(Input& in, bool backward) {
  Call call = read_call(in, backward ? "backward_bias" : "forward_bias");
  const auto activation = static_cast<Activation>(in.take<std::uint8_t>() % (kActivationCount + 1));
  const std::int64_t rows = in.take<std::uint8_t>() % 33;
  const std::int64_t channels = in.take<std::uint8_t>() % 129;
  const std::int64_t n = rows * channels;
  // Views: x, bias, then y, or dy, dx, dbias.
  const int views = backward ? 5 : 3;
  std::int64_t counts[5] = {n, channels, n, n, channels};
  Arena arena;
  void* p[5];
  place_views(in, call, counts, views, arena, p);
  const char* names[5] = {"x", "bias", backward ? "dy" : "y", "dx", "dbias"};
  call.must_throw_if(!is_known(activation) || info(activation).kind != ActivationKind::elementwise,
                     "not an elementwise activation");
  call.must_throw_if(call.odd_view >= 0 && call.odd_view < views && call.odd_dtype != call.t, "a dtype differs");
  call.must_throw_if(counts[0] < 0 || counts[1] < 0, "a negative count");
  call.must_throw_if(counts[1] == 0 ? counts[0] != 0 : counts[0] % counts[1] != 0, "x is not rows x bias's count");
  for (int v = 2; v < views; ++v) call.must_throw_if(counts[v] != counts[v == 4 ? 1 : 0], "'s count", names[v]);
  for (int v = 0; v < views; ++v) call.check_pointer(names[v], p[v], counts[v], element_size(call.dtype_of(v)));
  std::snprintf(call.shape, sizeof call.shape, " %s", is_known(activation) ? activation_name(activation) : "?");
  for (int v = 0; v < views; ++v) note_view(call, arena, names[v], p[v], counts[v]);
  const std::size_t e = call.element;
  for (int v = 2; v < views; ++v) {
    if (v != 2 || !backward) arena.output(p[v], 1, std::min(std::max<std::int64_t>(counts[v], 0), kMaxElements), 0, e);
  }
  arena.snapshot();
  auto view = [&](int v) { return TensorView(p[v], call.dtype_of(v), counts[v]); };
  const bool ok = run_call(arena, call, [&] {
    if (backward) {
      backward_bias(activation, view(0), view(1), view(2), view(3), view(4), call.options);
    } else {
      forward_bias(activation, view(0), view(1), view(2), call.options);
    }
  });
  if (!ok) return;
  check_stray_writes(arena, call);

  const DType t = call.t;
  const std::int64_t count = counts[0], c = counts[1];
  if (!backward && count == 0) return;  // a no-op, whatever bias's count (even one no arena backs)
  const std::vector<std::uint8_t> x = arena.original(p[0], count * e), bias = arena.original(p[1], c * e);
  Options reference = call.options;
  reference.backend = Backend::reference;
  if (!backward) {
    std::vector<std::uint8_t> y(count * e);
    run_reference(call, [&] { forward_bias(activation, {x.data(), t, count}, {bias.data(), t, c}, {y.data(), t, count}, reference); });
    check_output(call, "y", activation, Pass::forward, x.data(), arena.current(p[2], count * e), y, nullptr,
                 std::vector<bool>(count, false), count);
    return;
  }
  const bool acc = call.options.accumulate;
  const std::vector<std::uint8_t> dy = arena.original(p[2], count * e);
  std::vector<std::uint8_t> dx = acc ? arena.original(p[3], count * e) : std::vector<std::uint8_t>(count * e);
  std::vector<std::uint8_t> dbias = acc ? arena.original(p[4], c * e) : std::vector<std::uint8_t>(c * e);
  const std::vector<std::uint8_t> dx_old = dx, dbias_old = dbias;
  run_reference(call, [&] {
    backward_bias(activation, {x.data(), t, count}, {bias.data(), t, c}, {dy.data(), t, count}, {dx.data(), t, count},
                  {dbias.data(), t, c}, reference);
  });
  // The sums' terms dy * f'(x + b), in double from x + b formed as the backends form it (in f32
  // for f32, f16 and bf16, in f64 for f64): the reference's elementwise backward in f64.
  std::vector<double> z(count), upstream(count), terms(count);
  for (std::int64_t i = 0; i < count; ++i) {
    const double xi = value_at(t, x.data(), i), bi = value_at(t, bias.data(), i % c);
    z[i] = t == DType::f64 ? xi + bi : static_cast<double>(static_cast<float>(xi) + static_cast<float>(bi));
    upstream[i] = value_at(t, dy.data(), i);
  }
  if (count > 0) {
    run_reference(call, [&] {
      actk::backward(activation, {z.data(), count}, {upstream.data(), count}, {terms.data(), count},
                     widened(reference, t));
    });
  }
  // dbias sums dx's elements: each carries the backward pass's absolute floor, which compare()
  // scales by max(1, |dy|) (an f' off by 1e-36 where it is 0 is within the contract, and dy = 2^127
  // makes that term 1e2): so does the sum's floor, term by term.
  // A term past double's range (f64 data: relu_squared's 2z, or a scale above 1, times a dy near
  // the top) leaves sum|terms| past it too: those channels are judged 2^64 times smaller, with the
  // terms recomputed from dy * 2^-64, where the sums, the terms and the bound all fit (the scaling
  // is exact there; the backends scale their f64 sums the same way, math::kSumTermScale).
  std::vector<bool> lenient(count), sum_lenient(c), term_past_double(c);
  std::vector<double> sum_abs(c, 0.0), floor_terms(c, 0.0);
  for (std::int64_t i = 0; i < count; ++i) {
    lenient[i] = !std::isfinite(upstream[i]) || (acc && !std::isfinite(value_at(t, dx_old.data(), i)));
    if (term_nonfinite(t, terms[i])) sum_lenient[i % c] = true;
    if (std::isfinite(terms[i])) sum_abs[i % c] += std::fabs(terms[i]);
    else if (std::isfinite(z[i]) && std::isfinite(upstream[i])) term_past_double[i % c] = true;
    if (std::isfinite(upstream[i])) floor_terms[i % c] += std::fmax(1.0, std::fabs(upstream[i]));
  }
  for (std::int64_t j = 0; j < c; ++j) {
    if (acc && !std::isfinite(value_at(t, dbias_old.data(), j))) sum_lenient[j] = true;
  }
  if (std::find(term_past_double.begin(), term_past_double.end(), true) != term_past_double.end()) {
    constexpr double kScale = 0x1p-64;
    std::vector<double> scaled_upstream(count), scaled_terms(count), scaled_abs(c, 0.0), scaled_floor(c, 0.0);
    for (std::int64_t i = 0; i < count; ++i) scaled_upstream[i] = upstream[i] * kScale;
    run_reference(call, [&] {
      actk::backward(activation, {z.data(), count}, {scaled_upstream.data(), count}, {scaled_terms.data(), count},
                     widened(reference, t));
    });
    std::vector<bool> scaled_lenient(c);
    for (std::int64_t j = 0; j < c; ++j) scaled_lenient[j] = acc && !std::isfinite(value_at(t, dbias_old.data(), j));
    for (std::int64_t i = 0; i < count; ++i) {
      if (std::isfinite(scaled_terms[i])) {
        scaled_abs[i % c] += std::fabs(scaled_terms[i]);
      } else {
        scaled_lenient[i % c] = true;  // an infinite or NaN input: any non-finite sum is right
      }
    }
    const std::vector<std::uint8_t> current = arena.current(p[4], c * e);
    const std::uint8_t* got = current.data();
    for (std::int64_t j = 0; j < c; ++j) {
      if (!term_past_double[j] || (scaled_lenient[j] && !std::isfinite(value_at(t, got, j)))) continue;
      const double scaled_got = value_at(t, got, j) * kScale, scaled_want = value_at(t, dbias.data(), j) * kScale;
      const validation::Comparison one = validation::compare_sums(
          t, &scaled_got, &scaled_want, std::vector<double>{scaled_abs[j]}, 1, std::vector<double>{floor_terms[j] * kScale});
      if (!one.passed()) {
        char what[320];
        std::snprintf(what, sizeof what, "dbias[%lld], a term past double's range: got=%.17g want=%.17g "
                      "sum|terms|=%.17g * 2^64", static_cast<long long>(j), value_at(t, got, j),
                      value_at(t, dbias.data(), j), scaled_abs[j]);
        finding("a sum differs from the reference", (what + call.describe()).c_str());
      }
      sum_lenient[j] = true;  // judged here; the unscaled check below takes its bits as right
      std::memcpy(dbias.data() + j * e, got + j * e, e);
    }
  }
  check_output(call, "dx", activation, Pass::backward, x.data(), arena.current(p[3], count * e), dx, dy.data(), lenient,
               count);
  check_sums(call, "dbias", arena.current(p[4], c * e), dbias, sum_abs, sum_lenient, c, floor_terms);
}

int fuzz_structured(const std::uint8_t* data, std::size_t size) {
  Input in(data + 1, size - 1);
  const bool backward = data[0] & 1;
  switch ((data[0] >> 1) & 3) {
    case 0: fuzz_prelu(in, backward); break;
    case 1: fuzz_maxout(in, backward); break;
    case 2: fuzz_gated(in, backward); break;
    default: fuzz_bias(in, backward); break;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || data[0] < 0x80) return fuzz_elementwise(data, size);
  return fuzz_structured(data, size);
}
