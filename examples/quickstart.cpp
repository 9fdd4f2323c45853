#include <actk/actk.hpp>

#include <cstdio>
#include <vector>

int main() {
  std::vector<float> x = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, y(5), dy(5, 1.0f), dx(5);

  // y = gelu(x). Host pointers: Backend::automatic runs the fast CPU path and says so.
  const actk::Backend ran = actk::forward(actk::Activation::gelu, {x.data(), 5}, {y.data(), 5});

  // dx = dy * gelu'(x), this time on the reference backend (the oracle).
  actk::Options options;
  options.backend = actk::Backend::reference;
  actk::backward(actk::Activation::gelu, {x.data(), 5}, {dy.data(), 5}, {dx.data(), 5}, options);

  for (int i = 0; i < 5; ++i) std::printf("gelu(%+.1f) = %+.6f   gelu'(x) = %+.6f\n", x[i], y[i], dx[i]);
  std::printf("forward ran on the %s backend\n", actk::backend_name(ran));
  try {  // bad input: a clear error, and nothing written
    actk::forward(actk::Activation::gelu, {x.data(), 5}, {y.data(), 4});
  } catch (const actk::Error& e) {
    std::printf("%s\n", e.what());
  }
}
