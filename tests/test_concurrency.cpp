// Concurrent calls from 8 host threads give the same bits as serial calls, on every CPU backend.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

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

INSTANTIATE_TEST_SUITE_P(CpuBackends, Concurrency, ::testing::Values(Backend::reference, Backend::cpu),
                         [](const auto& param) { return std::string(backend_name(param.param)); });

}  // namespace
}  // namespace actk
