// The passes of the elementwise activations, and the backends that run them.
#pragma once

#include <cstdint>
#include <string>

#include "actk/catalogue.hpp"
#include "actk/types.hpp"

namespace actk {

/// Where a call runs.
enum class Backend : std::uint8_t {
  automatic,  ///< `cuda` for device pointers, `cpu` for host pointers. The call returns which.
  reference,  ///< Scalar, computes in double (long double for f64), rounds once: the oracle.
  cpu,        ///< The fast CPU path: vectorized and multithreaded.
  cuda,       ///< The CUDA kernels; all pointers must be device (or managed) memory.
};

/// Short lower-case name ("auto", "reference", "cpu", "cuda").
const char* backend_name(Backend backend) noexcept;

/// Whether a backend can run here; if not and `why` is given, it receives the reason
/// (e.g. "actk was built without CUDA", "no CUDA device: <driver message>").
bool backend_available(Backend backend, std::string* why = nullptr);

/// The passes the library computes for an elementwise activation.
enum class Pass : std::uint8_t {
  forward,               ///< y = f(x)
  backward,              ///< dx = dy * f'(x)
  backward_from_output,  ///< dx = dy * f'(x), with f'(x) computed from y = f(x)
  forward_backward,      ///< y = f(x) and dx = dy * f'(x) in one sweep
};

/// Short lower-case name ("forward", "backward", "backward_from_output", "forward_backward").
const char* pass_name(Pass pass) noexcept;

/// How a call runs. The defaults give PyTorch's parameters on the automatically chosen backend.
struct Options {
  Backend backend = Backend::automatic;
  /// A `cudaStream_t` for the `cuda` backend (null: the legacy default stream). CUDA calls are
  /// stream-ordered: they enqueue work and return without synchronizing, allocate nothing and
  /// copy nothing between host and device, so they can be captured in a CUDA graph. Results are
  /// ready when the stream has reached them. CPU backends ignore it and return when done.
  void* stream = nullptr;
  /// Parameters of the parametric activations (negative slope, alpha, beta, ...).
  ActivationParams params{};
  /// Backward passes: dx += dy * f'(x) instead of dx = dy * f'(x). The sum is formed in the
  /// compute type and rounded once. Forward outputs are always overwritten.
  bool accumulate = false;
};

// Aliasing (every pass): an output may be exactly the same memory as an input of the same
// dtype (y == x, dx == dy, dx == x), which computes in place; any other overlap between an
// output and another buffer is an error. All views of one call have the same dtype and count.
// A count of 0 is a valid no-op (pointers may then be null). Every function returns the
// backend that ran the call, and throws actk::Error, writing nothing, for bad input.

/// y = f(x).
Backend forward(Activation activation, ConstTensorView x, TensorView y, const Options& options = {});

/// dx = dy * f'(x) (or dx += ... with options.accumulate).
Backend backward(Activation activation, ConstTensorView x, ConstTensorView dy, TensorView dx,
                 const Options& options = {});

/// dx = dy * f'(x) computed from the forward output y = f(x), for the activations whose
/// catalogue entry allows it (supports_backward_from_output); an Error for the others.
Backend backward_from_output(Activation activation, ConstTensorView y, ConstTensorView dy,
                             TensorView dx, const Options& options = {});

/// One sweep computing both y = f(x) and dx = dy * f'(x) (or dx += ...), bit-identical to the
/// two separate passes on the same backend. y and dx must not overlap each other.
Backend forward_backward(Activation activation, ConstTensorView x, ConstTensorView dy, TensorView y,
                         TensorView dx, const Options& options = {});

}  // namespace actk
