// Concurrent calls from 8 host threads give the same bits as serial calls, on every CPU backend.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actk/structured.hpp"
#include "tests/support.hpp"

namespace actk {
namespace {

using validation::HostBuffer;

class Concurrency : public ::testing::TestWithParam<Backend> {};

TEST_P(Concurrency, EightThreadsMatchSerialCalls) {
  constexpr int kThreads = 8;
  Options options;
  options.backend = GetParam();
  // Each thread runs a different activation, dtype and pass over its own buffers, twice.
  struct Job {
    Activation activation;
    DType dtype;
    Pass pass;
    HostBuffer x, dy;
  };
  std::vector<Job> jobs;
  for (int t = 0; t < kThreads; ++t) {
    const Activation a = testing::all_activations()[(t * 5) % kElementwiseActivationCount];
    const DType d = testing::all_dtypes()[t % 4];
    const Pass p = t % 2 ? Pass::forward_backward : Pass::backward;
    HostBuffer x = validation::battery(a, options.params, d, 1 << 16, false, 1000 + t);
    HostBuffer dy = validation::gradients(d, x.count(), 2000 + t);
    jobs.push_back({a, d, p, std::move(x), std::move(dy)});
  }
  std::vector<testing::PassResult> serial;
  for (const Job& j : jobs) serial.push_back(testing::run_pass(j.activation, j.pass, j.x, j.dy, options));

  std::vector<std::vector<testing::PassResult>> concurrent(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 2; ++repeat) {
        const Job& j = jobs[t];
        concurrent[t].push_back(testing::run_pass(j.activation, j.pass, j.x, j.dy, options));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (const testing::PassResult& r : concurrent[t]) {
      EXPECT_TRUE(r.y == serial[t].y) << "thread " << t;
      EXPECT_TRUE(r.dx == serial[t].dx) << "thread " << t;
    }
  }
}

TEST_P(Concurrency, EightThreadsOfStructuredCallsMatchSerialCalls) {
  // The reductions keep per-thread partial sums (thread_local) and start OpenMP teams of their
  // own: bias, PReLU and gated backward from 8 threads at once, twice, against serial calls.
  constexpr int kThreads = 8;
  constexpr std::int64_t rows = 256, channels = 2048, n = rows * channels;  // several OpenMP threads
  const Options options = testing::on(GetParam());
  struct Job {
    int kind;
    HostBuffer x, parameter, dy;
  };
  std::vector<Job> jobs;
  for (int t = 0; t < kThreads; ++t) {
    const DType d = testing::all_dtypes()[t % 2];  // kind and dtype repeat: threads share code paths
    jobs.push_back({t % 3, testing::random_buffer(d, n, 10 + t), testing::random_buffer(d, channels, 20 + t),
                    testing::random_buffer(d, n, 30 + t)});
  }
  // One call of a job: the outputs (dx or dgate, the sums or dup).
  auto run = [&](const Job& j) {
    const DType d = j.x.dtype();
    std::vector<HostBuffer> out;
    out.emplace_back(d, n);
    if (j.kind == 0) {
      out.emplace_back(d, channels);
      backward_bias(Activation::gelu, j.x.view(), j.parameter.view(), j.dy.view(), out[0].view(), out[1].view(), options);
    } else if (j.kind == 1) {
      out.emplace_back(d, channels);
      prelu_backward(j.x.view(), j.parameter.view(), j.dy.view(), out[0].view(), out[1].view(), {rows, channels, 1},
                     options);
    } else {
      out.emplace_back(d, n);
      const std::int64_t h = channels;
      gated_backward(Activation::swiglu, {j.x.data(), d, rows, h, h}, {j.dy.data(), d, rows, h, h},
                     {j.x.data(), d, rows, h, h}, {out[0].data(), d, rows, h, h}, {out[1].data(), d, rows, h, h},
                     options);
    }
    return out;
  };
  std::vector<std::vector<HostBuffer>> serial;
  for (const Job& j : jobs) serial.push_back(run(j));
  std::vector<std::vector<std::vector<HostBuffer>>> concurrent(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 8; ++repeat) concurrent[t].push_back(run(jobs[t]));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (const std::vector<HostBuffer>& outputs : concurrent[t]) {
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        EXPECT_TRUE(outputs[o] == serial[t][o]) << "thread " << t << " (kind " << jobs[t].kind << ") output " << o;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CpuBackends, Concurrency, ::testing::Values(Backend::reference, Backend::cpu),
                         [](const auto& param) { return std::string(backend_name(param.param)); });

}  // namespace
}  // namespace actk
