// One math, the same bits: for f32, f16 and bf16 data every instruction set of the cpu backend
// (avx2, avx512 and avx512_bf16 where the machine runs them) must give the bits of the portable kernels, which
// run math::apply_pass with the shared functors on the scalar lane: the function that nvcc
// compiles into the CUDA kernels (kernels/elementwise.cuh), from the same source, with
// contraction off on both sides. Every activation x pass (accumulate too) x parameter set:
// f16/bf16 on all 65,536 inputs, f32 on 2^24 inputs (every 256th bit pattern, its low byte
// varied, so every exponent and both signs) plus every special value and the kinks. NaN results
// must be NaN on both sides; their payloads are not compared.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "host/cpu/cpu_kernels.hpp"
#include "tests/support.hpp"

namespace actk::testing {
namespace {

// Parameters other than the defaults, for the entries that read any (every field set, so that
// one set serves them all).
ActivationParams other_params() {
  ActivationParams p;
  p.negative_slope = 0.2;
  p.alpha = 0.5;
  p.beta = 2.0;
  p.threshold = 5.0;
  p.min_val = -2.0;
  p.max_val = 3.0;
  p.sigmoid_scale = 0.75;
  p.limit = 2.5;
  return p;
}

struct Case {
  Activation activation;
  DType dtype;
  Pass pass;
  bool accumulate;
  bool default_params;
};

// Failure messages name the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(c.activation, c.dtype, c.pass) << (c.accumulate ? " accumulate" : "")
      << (c.default_params ? "" : " other parameters");
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const Activation activation : all_activations()) {
    for (const bool default_params : {true, false}) {
      if (!default_params && info(activation).param_mask == 0) continue;
      const ActivationParams params = default_params ? ActivationParams{} : other_params();
      for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
        for (const Pass pass : all_passes()) {
          if (pass == Pass::backward_from_output && !supports_backward_from_output(activation, params)) continue;
          for (const bool accumulate : {false, true}) {
            if (accumulate && pass == Pass::forward) continue;
            cases.push_back({activation, dtype, pass, accumulate, default_params});
          }
        }
      }
    }
  }
  return cases;
}

std::string case_label(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return case_name(c.activation, c.dtype, c.pass) + (c.accumulate ? "_accumulate" : "") +
         (c.default_params ? "" : "_other_params");
}

// A bijection of 32-bit words (odd multiplier, xor-shift): varied bits from an index.
std::uint32_t mix(std::uint32_t v) {
  v *= 0x9E3779B1u;
  return v ^ (v >> 15);
}

// The inputs as raw bits: x (or y for backward_from_output), dy and the old dx of accumulate.
struct Inputs {
  std::vector<std::uint32_t> x, dy, dx_old;  // f16/bf16 use the low 16 bits of a 16-bit vector
  std::int64_t count;
};

void add_f32(std::vector<std::uint32_t>& bits, float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  bits.push_back(b);
}

std::vector<std::uint32_t> f32_inputs() {
  std::vector<std::uint32_t> x;
  x.reserve((std::size_t{1} << 24) + 256);
  for (std::uint32_t i = 0; i < (1u << 24); ++i) x.push_back(i << 8 | (mix(i) & 0xffu));
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 0x1p-149f, -0x1p-149f, 0x1p-126f, -0x1p-126f,
                            0x1.fffffep-127f, 0x1.fffffep127f, -0x1.fffffep127f, 1.0f, -1.0f, 2.0f, -2.0f, 3.0f,
                            -3.0f, 5.0f, 2.5f, 6.0f, 20.0f, 10.0f, -10.0f, 0.5f, -0.5f, 88.72f, -88.72f, -103.97f,
                            -87.3f, 13.0f, -13.0f, 13.55f, -13.55f, 15.0f, -15.0f, 89.5f, -89.5f, 139.0f, 94.7f,
                            -100.0f, -1e30f, 1e30f};
  for (const float v : specials) {
    add_f32(x, v);
    add_f32(x, std::nextafter(v, INFINITY));
    add_f32(x, std::nextafter(v, -INFINITY));
  }
  return x;
}

Inputs make_inputs(DType dtype) {
  Inputs in;
  if (dtype == DType::f32) {
    in.x = f32_inputs();
    in.count = static_cast<std::int64_t>(in.x.size());
    in.dy.resize(in.x.size());
    in.dx_old.resize(in.x.size());
    for (std::size_t i = 0; i < in.x.size(); ++i) {
      // dy = 1 shows f' itself on every other element; the rest multiply by any value.
      in.dy[i] = i % 2 == 0 ? 0x3f800000u : mix(static_cast<std::uint32_t>(i) ^ 0x5bd1e995u);
      in.dx_old[i] = mix(static_cast<std::uint32_t>(i) + 0x27d4eb2fu);
    }
  } else {
    in.count = 1 << 16;
    for (std::uint32_t i = 0; i < (1u << 16); ++i) {
      in.x.push_back(i);
      in.dy.push_back((i * 40503u + 1u) & 0xffffu);  // odd multipliers: both are permutations of all 16-bit values
      in.dx_old.push_back((i * 2654435769u + 7u) & 0xffffu);
    }
  }
  return in;
}

// The inputs in the storage type's bytes.
std::vector<unsigned char> as_storage(const std::vector<std::uint32_t>& bits, DType dtype) {
  const std::size_t size = dtype_size(dtype);
  std::vector<unsigned char> bytes(bits.size() * size);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    if (size == 4) {
      std::memcpy(&bytes[i * 4], &bits[i], 4);
    } else {
      const auto b = static_cast<std::uint16_t>(bits[i]);
      std::memcpy(&bytes[i * 2], &b, 2);
    }
  }
  return bytes;
}

struct Outputs {
  std::vector<unsigned char> y, dx;
};

// Runs one instruction set's range kernel on the whole input, split between the threads (each
// element's result depends on that element alone).
Outputs run(cpu::RangeKernel kernel, const Case& c, const std::vector<unsigned char>& x,
            const std::vector<unsigned char>& dy, const std::vector<unsigned char>& dx_old, std::int64_t count) {
  Outputs out{std::vector<unsigned char>(x.size()), dx_old};
  const ActivationParams params =
      params_for_compute(c.default_params ? ActivationParams{} : other_params(), c.dtype);
  const detail::ElementwiseCall call{c.activation, c.pass, c.dtype, params, x.data(), dy.data(),
                                     out.y.data(), out.dx.data(), count, c.accumulate, nullptr};
  constexpr std::int64_t kChunk = std::int64_t{1} << 16;
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t begin = 0; begin < count; begin += kChunk) kernel(call, begin, std::min(count, begin + kChunk));
  return out;
}

// Element i's bits are equal, or both values are NaN.
bool same_bits(DType dtype, const std::vector<unsigned char>& a, const std::vector<unsigned char>& b, std::size_t i) {
  const std::size_t size = dtype_size(dtype);
  if (std::memcmp(&a[i * size], &b[i * size], size) == 0) return true;
  const auto index = static_cast<std::int64_t>(i);
  return std::isnan(validation::element_as_double(dtype, a.data(), index)) &&
         std::isnan(validation::element_as_double(dtype, b.data(), index));
}

void expect_same(const char* isa, const char* what, const Case& c, const std::vector<unsigned char>& input,
                 const std::vector<unsigned char>& got, const std::vector<unsigned char>& want) {
  const std::size_t size = dtype_size(c.dtype);
  const std::size_t count = got.size() / size;
  std::size_t mismatches = 0, first = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!same_bits(c.dtype, got, want, i)) {
      if (mismatches++ == 0) first = i;
    }
  }
  const auto first_value = [&](const std::vector<unsigned char>& v) {
    return validation::element_as_double(c.dtype, v.data(), static_cast<std::int64_t>(first));
  };
  EXPECT_EQ(mismatches, 0u) << isa << " " << what << ": " << mismatches << " of " << count
                            << " elements differ from the portable (CUDA) math; first: x = " << first_value(input)
                            << ": " << isa << " " << first_value(got) << ", portable " << first_value(want);
}

class BitIdentity : public ::testing::TestWithParam<Case> {};

TEST_P(BitIdentity, EveryIsaGivesThePortableBits) {
  const Case& c = GetParam();
  std::vector<cpu::Isa> vectors;
  std::string skipped;
  for (const cpu::Isa isa : cpu::kAllIsas) {
    // avx512_bf16 is avx512 with the hardware bf16 narrowing: it runs the bf16 cases.
    if (isa == cpu::Isa::portable || (isa == cpu::Isa::avx512_bf16 && c.dtype != DType::bf16)) continue;
    if (cpu::isa_supported(isa)) {
      vectors.push_back(isa);
    } else {
      skipped += std::string(skipped.empty() ? "" : ", ") + cpu::isa_name(isa);
    }
  }
  if (vectors.empty()) GTEST_SKIP() << "this machine runs no vector instruction set (" << skipped << ")";

  const Inputs in = make_inputs(c.dtype);
  const auto x = as_storage(in.x, c.dtype), dy = as_storage(in.dy, c.dtype), dx_old = as_storage(in.dx_old, c.dtype);
  const ActivationParams params = c.default_params ? ActivationParams{} : other_params();
  const detail::ElementwiseCall probe{c.activation, c.pass, c.dtype, params, nullptr, nullptr, nullptr, nullptr,
                                      0, c.accumulate, nullptr};
  const cpu::RangeKernel portable = cpu::portable_kernel(probe);
  ASSERT_NE(portable, nullptr);
  const Outputs want = run(portable, c, x, dy, dx_old, in.count);
  const bool writes_y = c.pass == Pass::forward || c.pass == Pass::forward_backward;
  const bool writes_dx = c.pass != Pass::forward;
  for (const cpu::Isa isa : vectors) {
    const cpu::RangeKernel kernel = cpu::isa_kernel(isa, probe);
    ASSERT_NE(kernel, nullptr) << cpu::isa_name(isa) << " has no kernel for this call";
    const Outputs got = run(kernel, c, x, dy, dx_old, in.count);
    if (writes_y) expect_same(cpu::isa_name(isa), "y", c, x, got.y, want.y);
    if (writes_dx) expect_same(cpu::isa_name(isa), "dx", c, x, got.dx, want.dx);
  }
  if (!skipped.empty()) std::printf("[bit identity] not run here: %s\n", skipped.c_str());
}

INSTANTIATE_TEST_SUITE_P(Cpu, BitIdentity, ::testing::ValuesIn(all_cases()), case_label);

}  // namespace
}  // namespace actk::testing
