// The CUDA backend against the reference backend (label `gpu`): every elementwise activation,
// pass and dtype within validation::tolerance, on every f16 and bf16 input and on 2^22 random f32
// inputs plus the special values, and bit for bit the cpu backend's results in f32/f16/bf16;
// sizes around the vector width, misaligned pointers, in-place calls, accumulation, CUDA graph
// capture, several streams at once, and the errors specific to the cuda backend. Without a device every test reports itself skipped, by name.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/gpu/gpu_support.cuh"

namespace actk {
namespace {

using testing::CudaTest;
using testing::CudaTestWithParam;
using testing::DeviceBuffer;
using testing::DevicePass;
using testing::PassResult;
using testing::Stream;
using validation::HostBuffer;

struct Case {
  Activation activation;
  DType dtype;
  Pass pass;
};

std::vector<Case> cases(Pass pass) {
  std::vector<Case> list;
  for (Activation a : testing::all_activations()) {
    if (!testing::pass_applies(a, pass)) continue;
    for (DType t : testing::all_dtypes()) list.push_back({a, t, pass});
  }
  return list;
}

// What ctest shows after a test's name ("# GetParam() = gelu bf16 forward").
void PrintTo(const Case& c, std::ostream* out) {
  *out << activation_name(c.activation) << " " << dtype_name(c.dtype) << " " << pass_name(c.pass);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(activation_name(info.param.activation)) + "_" + dtype_name(info.param.dtype);
}

Options reference_options() {
  Options options;
  options.backend = Backend::reference;
  return options;
}

bool writes_y(Pass pass) { return pass == Pass::forward || pass == Pass::forward_backward; }
bool writes_dx(Pass pass) { return pass != Pass::forward; }

// The inputs of a test: all 65,536 values for f16 and bf16; for f32 the special values, kinks and
// dense sweep of validation::battery plus `random` random values (half uniform on [-12, 12], half
// log-uniform over the whole range; 2^22 for the accuracy tests), and f64 likewise with at most
// 2^20 (its reference computes in long double).
HostBuffer inputs(Activation activation, DType dtype, std::int64_t random = std::int64_t{1} << 22) {
  const bool sixteen_bit = dtype == DType::f16 || dtype == DType::bf16;
  if (dtype == DType::f64) random = std::min(random, std::int64_t{1} << 20);
  return validation::battery(activation, ActivationParams{}, dtype, random, sixteen_bit);
}

// The input of a pass: y = f(x) from the reference for backward_from_output, as a caller has it.
HostBuffer pass_input(Activation activation, Pass pass, const HostBuffer& x, const HostBuffer& dy) {
  if (pass != Pass::backward_from_output) return x;
  return testing::run_pass(activation, Pass::forward, x, dy, reference_options()).y;
}

// Checks both outputs of a pass (y under the forward tolerance, dx under the pass's).
void expect_matches(const Case& c, const HostBuffer& input, const HostBuffer& dy, const PassResult& got,
                    const PassResult& want) {
  if (writes_y(c.pass)) {
    EXPECT_EQ("", testing::compare_output("y", c.activation, c.dtype, Pass::forward, input, got.y, want.y, nullptr));
  }
  if (writes_dx(c.pass)) {
    EXPECT_EQ("", testing::compare_output("dx", c.activation, c.dtype, c.pass, input, got.dx, want.dx, &dy));
  }
}

// f32, f16 and bf16: the kernels give the cpu backend's bits (one math source; NaN payloads
// aside), so the host's exhaustive bit-identity tests prove what the device computes.
void expect_cpu_bits(const Case& c, const HostBuffer& input, const HostBuffer& dy, const PassResult& got,
                     Options options, const HostBuffer* dx_init = nullptr) {
  if (c.dtype == DType::f64) return;
  options.backend = Backend::cpu;
  const PassResult host = testing::run_pass(c.activation, c.pass, input, dy, options, dx_init);
  for (const auto& [name, out, want] : {std::tuple{"y", &got.y, &host.y}, std::tuple{"dx", &got.dx, &host.dx}}) {
    const validation::Comparison bits = validation::compare_bits(c.dtype, out->data(), want->data(), out->count());
    EXPECT_EQ(bits.failures, 0) << name << " differs from cpu's bits in " << bits.failures << " elements, first "
                                << (bits.worst_index < 0 ? std::string()
                                                         : validation::describe_element(c.dtype, input.data(), out->data(),
                                                                                        want->data(), bits.worst_index));
  }
}

class Accuracy : public CudaTestWithParam<Case> {};

TEST_P(Accuracy, MatchesReference) {
  const Case c = GetParam();
  const HostBuffer x = inputs(c.activation, c.dtype);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const HostBuffer input = pass_input(c.activation, c.pass, x, dy);
  const PassResult want = testing::run_pass(c.activation, c.pass, input, dy, reference_options());
  const PassResult got = testing::run_pass_on_device(c.activation, c.pass, input, dy, Options{});
  expect_matches(c, input, dy, got, want);
  expect_cpu_bits(c, input, dy, got, Options{});

  // forward_backward is bit-identical to the two separate passes on the same backend.
  if (c.pass == Pass::forward_backward) {
    EXPECT_TRUE(got.y == testing::run_pass_on_device(c.activation, Pass::forward, input, dy, Options{}).y);
    EXPECT_TRUE(got.dx == testing::run_pass_on_device(c.activation, Pass::backward, input, dy, Options{}).dx);
  }
}

INSTANTIATE_TEST_SUITE_P(Forward, Accuracy, ::testing::ValuesIn(cases(Pass::forward)), case_name);
INSTANTIATE_TEST_SUITE_P(Backward, Accuracy, ::testing::ValuesIn(cases(Pass::backward)), case_name);
INSTANTIATE_TEST_SUITE_P(BackwardFromOutput, Accuracy, ::testing::ValuesIn(cases(Pass::backward_from_output)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(ForwardBackward, Accuracy, ::testing::ValuesIn(cases(Pass::forward_backward)),
                         case_name);

// dx += dy * f'(x): every backward pass, starting from non-zero gradients.
class Accumulate : public CudaTestWithParam<Case> {};

TEST_P(Accumulate, AddsToGradient) {
  const Case c = GetParam();
  const HostBuffer x = inputs(c.activation, c.dtype, std::int64_t{1} << 20);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const HostBuffer dx_init = validation::gradients(c.dtype, x.count(), 0xacc);
  const HostBuffer input = pass_input(c.activation, c.pass, x, dy);
  Options options = reference_options();
  options.accumulate = true;
  const PassResult want = testing::run_pass(c.activation, c.pass, input, dy, options, &dx_init);
  options.backend = Backend::cuda;
  const PassResult got = testing::run_pass_on_device(c.activation, c.pass, input, dy, options, &dx_init);
  expect_matches(c, input, dy, got, want);
  expect_cpu_bits(c, input, dy, got, options, &dx_init);
}

INSTANTIATE_TEST_SUITE_P(Backward, Accumulate, ::testing::ValuesIn(cases(Pass::backward)), case_name);
INSTANTIATE_TEST_SUITE_P(BackwardFromOutput, Accumulate, ::testing::ValuesIn(cases(Pass::backward_from_output)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(ForwardBackward, Accumulate, ::testing::ValuesIn(cases(Pass::forward_backward)),
                         case_name);

// Sizes around the vector width and the grid, with the buffers aligned, all offset by one element
// (a scalar head, then vectors), or only x offset (no common alignment: all scalar). Every pass,
// for a cheap and an expensive activation; nothing outside the elements may be written.
struct Placement {
  const char* name;
  std::int64_t x_offset;      // elements past a 16-byte boundary
  std::int64_t other_offset;  // the same for dy, y and dx
};
constexpr Placement kPlacements[] = {{"aligned", 0, 0}, {"all_offset", 1, 1}, {"x_offset", 1, 0}};

struct ActivationDtype {
  Activation activation;
  DType dtype;
};

void PrintTo(const ActivationDtype& c, std::ostream* out) {
  *out << activation_name(c.activation) << " " << dtype_name(c.dtype);
}

// Every dtype for each of `activations`, named like "gelu_bf16".
std::vector<ActivationDtype> activation_dtype_cases(const std::vector<Activation>& activations) {
  std::vector<ActivationDtype> list;
  for (Activation a : activations) {
    for (DType t : testing::all_dtypes()) list.push_back({a, t});
  }
  return list;
}

std::string activation_dtype_name(const ::testing::TestParamInfo<ActivationDtype>& info) {
  return std::string(activation_name(info.param.activation)) + "_" + dtype_name(info.param.dtype);
}

class Sizes : public CudaTestWithParam<ActivationDtype> {};

TEST_P(Sizes, AnyCountAndAlignment) {
  const ActivationDtype c = GetParam();
  const std::int64_t width = static_cast<std::int64_t>(16 / dtype_size(c.dtype));
  const std::int64_t counts[] = {0, 1, width - 1, width, width + 1, 2 * width + 3, 4097, (std::int64_t{1} << 20) + 3};
  const HostBuffer all = inputs(c.activation, c.dtype, std::int64_t{1} << 20);
  for (Pass pass : testing::all_passes()) {
    if (!testing::pass_applies(c.activation, pass)) continue;
    for (std::int64_t count : counts) {
      // The battery's inputs from the start (special values first), repeated as needed.
      HostBuffer x(c.dtype, count);
      const std::size_t size = dtype_size(c.dtype);
      for (std::int64_t i = 0; i < count; ++i) {
        std::memcpy(static_cast<unsigned char*>(x.data()) + i * size,
                    static_cast<const unsigned char*>(all.data()) + (i % all.count()) * size, size);
      }
      const HostBuffer dy = validation::gradients(c.dtype, count);
      const HostBuffer input = pass_input(c.activation, pass, x, dy);
      const PassResult want = testing::run_pass(c.activation, pass, input, dy, reference_options());
      for (const Placement& placement : kPlacements) {
        SCOPED_TRACE(std::string(pass_name(pass)) + " count " + std::to_string(count) + " " + placement.name);
        DevicePass buffers(input, dy, nullptr, placement.other_offset);
        buffers.x = DeviceBuffer(input, placement.x_offset);
        EXPECT_EQ(buffers.run(c.activation, pass, Options{}), Backend::cuda);
        ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
        const PassResult got{buffers.y.to_host(), buffers.dx.to_host()};
        expect_matches({c.activation, c.dtype, pass}, input, dy, got, want);
        EXPECT_TRUE(buffers.y.guards_intact() && buffers.dx.guards_intact()) << "wrote outside the output";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, Sizes, ::testing::ValuesIn(activation_dtype_cases({Activation::relu, Activation::gelu})),
                         activation_dtype_name);

// In place: an output that is exactly an input, for every activation and dtype, against the same
// pass computed out of place by the reference.
class InPlace : public CudaTestWithParam<ActivationDtype> {};

TEST_P(InPlace, MatchesOutOfPlace) {
  const ActivationDtype c = GetParam();
  const HostBuffer x = inputs(c.activation, c.dtype, std::int64_t{1} << 16);
  const HostBuffer dy = validation::gradients(c.dtype, x.count());
  const auto sync_to_host = [](const DeviceBuffer& b) {
    EXPECT_EQ(cudaSuccess, cudaDeviceSynchronize());
    return b.to_host();
  };
  Options cuda;
  cuda.backend = Backend::cuda;

  {  // y == x
    const PassResult want = testing::run_pass(c.activation, Pass::forward, x, dy, reference_options());
    DeviceBuffer xy(x);
    forward(c.activation, xy.view(), xy.view(), cuda);
    EXPECT_EQ("", testing::compare_output("y == x", c.activation, c.dtype, Pass::forward, x, sync_to_host(xy), want.y,
                                          nullptr));
  }
  for (Pass pass : {Pass::backward, Pass::backward_from_output}) {
    if (!testing::pass_applies(c.activation, pass)) continue;
    const HostBuffer input = pass_input(c.activation, pass, x, dy);
    const PassResult want = testing::run_pass(c.activation, pass, input, dy, reference_options());
    const auto run = [&](ConstTensorView in, ConstTensorView grad, TensorView out, const Options& options) {
      if (pass == Pass::backward) {
        backward(c.activation, in, grad, out, options);
      } else {
        backward_from_output(c.activation, in, grad, out, options);
      }
    };
    {  // dx == dy
      DeviceBuffer in(input), grad(dy);
      run(in.view(), grad.view(), grad.view(), cuda);
      EXPECT_EQ("", testing::compare_output("dx == dy", c.activation, c.dtype, pass, input, sync_to_host(grad),
                                            want.dx, &dy));
    }
    {  // dx == x (or y)
      DeviceBuffer in(input), grad(dy);
      run(in.view(), grad.view(), in.view(), cuda);
      EXPECT_EQ("", testing::compare_output("dx == x", c.activation, c.dtype, pass, input, sync_to_host(in), want.dx,
                                            &dy));
    }
    {  // dx == dy, accumulating: dx = dy + dy * f'(x)
      Options options = reference_options();
      options.accumulate = true;
      const PassResult sum = testing::run_pass(c.activation, pass, input, dy, options, &dy);
      options.backend = Backend::cuda;
      DeviceBuffer in(input), grad(dy);
      run(in.view(), grad.view(), grad.view(), options);
      EXPECT_EQ("", testing::compare_output("dx == dy, accumulate", c.activation, c.dtype, pass, input,
                                            sync_to_host(grad), sum.dx, &dy));
    }
  }
  {  // forward_backward with y == x and dx == dy, then with y == dy and dx == x
    const PassResult want = testing::run_pass(c.activation, Pass::forward_backward, x, dy, reference_options());
    DeviceBuffer a(x), b(dy);
    forward_backward(c.activation, a.view(), b.view(), a.view(), b.view(), cuda);
    EXPECT_EQ("", testing::compare_output("y == x", c.activation, c.dtype, Pass::forward, x, sync_to_host(a), want.y,
                                          nullptr));
    EXPECT_EQ("", testing::compare_output("dx == dy", c.activation, c.dtype, Pass::forward_backward, x, b.to_host(),
                                          want.dx, &dy));
    DeviceBuffer p(x), q(dy);
    forward_backward(c.activation, p.view(), q.view(), q.view(), p.view(), cuda);
    EXPECT_EQ("", testing::compare_output("y == dy", c.activation, c.dtype, Pass::forward, x, sync_to_host(q), want.y,
                                          nullptr));
    EXPECT_EQ("", testing::compare_output("dx == x", c.activation, c.dtype, Pass::forward_backward, x, p.to_host(),
                                          want.dx, &dy));
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, InPlace, ::testing::ValuesIn(activation_dtype_cases(testing::all_activations())),
                         activation_dtype_name);

// The calls allocate nothing, copy nothing and never synchronize, so they can be captured in a
// CUDA graph; the graph, launched twice, gives the reference's results.
TEST_F(CudaTest, GraphCapture) {
  const Activation activation = Activation::gelu;
  for (DType dtype : {DType::f32, DType::bf16}) {
    const HostBuffer x = inputs(activation, dtype, std::int64_t{1} << 16);
    const HostBuffer dy = validation::gradients(dtype, x.count());
    const PassResult want_forward = testing::run_pass(activation, Pass::forward, x, dy, reference_options());
    const PassResult want_backward = testing::run_pass(activation, Pass::backward, x, dy, reference_options());
    DevicePass buffers(x, dy, nullptr, 1);
    Stream stream;
    Options options;
    options.stream = stream.get();

    cudaGraph_t graph = nullptr;
    ACTK_ASSERT_CUDA(cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeGlobal));
    buffers.run(activation, Pass::forward, options);
    buffers.run(activation, Pass::backward, options);
    ACTK_ASSERT_CUDA(cudaStreamEndCapture(stream.get(), &graph));
    std::size_t nodes = 0;
    ACTK_ASSERT_CUDA(cudaGraphGetNodes(graph, nullptr, &nodes));
    EXPECT_EQ(nodes, 2u) << "one kernel per call, nothing else";
    cudaGraphExec_t exec = nullptr;
    ACTK_ASSERT_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    for (int launch = 0; launch < 2; ++launch) {
      ACTK_ASSERT_CUDA(cudaGraphLaunch(exec, stream.get()));
      ACTK_ASSERT_CUDA(cudaStreamSynchronize(stream.get()));
      EXPECT_EQ("", testing::compare_output("y", activation, dtype, Pass::forward, x, buffers.y.to_host(),
                                            want_forward.y, nullptr));
      EXPECT_EQ("", testing::compare_output("dx", activation, dtype, Pass::backward, x, buffers.dx.to_host(),
                                            want_backward.dx, &dy));
    }
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  }
}

// Several streams at once, each with its own activation and buffers, synchronized only at the end.
TEST_F(CudaTest, ConcurrentStreams) {
  const Activation activations[] = {Activation::sigmoid, Activation::gelu_tanh, Activation::mish, Activation::softplus};
  constexpr int kStreams = 4;
  const DType dtype = DType::f16;
  const HostBuffer x = inputs(Activation::identity, dtype);
  const HostBuffer dy = validation::gradients(dtype, x.count());
  std::array<Stream, kStreams> streams;
  std::vector<DevicePass> buffers;
  buffers.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) buffers.emplace_back(x, dy, nullptr);
  for (int repeat = 0; repeat < 8; ++repeat) {
    for (int i = 0; i < kStreams; ++i) {
      Options options;
      options.stream = streams[i].get();
      buffers[i].run(activations[i], Pass::forward_backward, options);
    }
  }
  ACTK_ASSERT_CUDA(cudaDeviceSynchronize());
  for (int i = 0; i < kStreams; ++i) {
    const Case c{activations[i], dtype, Pass::forward_backward};
    const PassResult want = testing::run_pass(c.activation, c.pass, x, dy, reference_options());
    expect_matches(c, x, dy, {buffers[i].y.to_host(), buffers[i].dx.to_host()}, want);
  }
}

// Returns the actk::Error a call throws (or fails the test).
template <class Call>
Error error_of(Call call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no actk::Error thrown";
  return Error("", "", "", "");
}

TEST_F(CudaTest, AutomaticChoosesCudaForDevicePointers) {
  const HostBuffer x = inputs(Activation::relu, DType::f32, 64);
  DeviceBuffer in(x), out(DType::f32, x.count());
  EXPECT_EQ(forward(Activation::relu, in.view(), out.view()), Backend::cuda);
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
}

TEST_F(CudaTest, HostPointerToCudaBackendIsAnError) {
  const HostBuffer x = inputs(Activation::relu, DType::f32, 64);
  DeviceBuffer out(DType::f32, x.count());
  const HostBuffer before = out.to_host();
  Options options;
  options.backend = Backend::cuda;
  const Error e = error_of([&] { forward(Activation::relu, x.view(), out.view(), options); });
  EXPECT_EQ(e.call(), "forward");
  EXPECT_EQ(e.argument(), "x");
  EXPECT_NE(e.reason().find("host pointer given to the cuda backend"), std::string::npos) << e.what();
  EXPECT_TRUE(out.to_host() == before) << "an invalid call wrote its output";

  // A host output with device inputs, and a host gradient in a backward pass.
  DeviceBuffer in(x);
  HostBuffer host_out(DType::f32, x.count());
  EXPECT_EQ(error_of([&] { forward(Activation::relu, in.view(), host_out.view(), options); }).argument(), "y");
  const HostBuffer dy = validation::gradients(DType::f32, x.count());
  DeviceBuffer dx(DType::f32, x.count());
  EXPECT_EQ(error_of([&] { backward(Activation::relu, in.view(), dy.view(), dx.view(), options); }).argument(), "dy");
}

TEST_F(CudaTest, DevicePointerToCpuBackendIsAnError) {
  const HostBuffer x = inputs(Activation::relu, DType::f32, 64);
  DeviceBuffer in(x), out(DType::f32, x.count());
  for (Backend backend : {Backend::cpu, Backend::reference}) {
    Options options;
    options.backend = backend;
    const Error e = error_of([&] { forward(Activation::relu, in.view(), out.view(), options); });
    EXPECT_EQ(e.argument(), "x");
    EXPECT_NE(e.reason().find("device pointer given to the"), std::string::npos) << e.what();
  }
  // Automatic dispatch follows x; a host y then does not fit the cuda backend.
  HostBuffer host_out(DType::f32, x.count());
  EXPECT_EQ(error_of([&] { forward(Activation::relu, in.view(), host_out.view()); }).argument(), "y");
}

}  // namespace
}  // namespace actk
