// Uses the installed package: every backend this build of actk can run, on one small input.
#include <actk/actk.hpp>

#include <cmath>
#include <cstdio>

int main() {
  const float x[4] = {-1.0f, 0.0f, 1.0f, 2.0f};
  float y[4] = {};
  const actk::Backend ran = actk::forward(actk::Activation::silu, {x, 4}, {y, 4});
  std::printf("actk %s, silu on %s: %g %g %g %g\n", actk::kVersion, actk::backend_name(ran), y[0], y[1], y[2], y[3]);
  std::string why;
  std::printf("cuda backend: %s\n", actk::backend_available(actk::Backend::cuda, &why) ? "available" : why.c_str());
  return std::fabs(y[2] - 0.7310586f) < 1e-6f ? 0 : 1;
}
