// The library's one error convention.
#pragma once

#include <stdexcept>
#include <string>

namespace actk {

/// Thrown by every public call that cannot do what it was asked. Nothing has been written to any
/// output when it is thrown for bad input (null pointer, size mismatch, overlap, bad parameter,
/// unsupported dtype or pass, wrong memory space). The message reads
/// "actk::<call>(<activation>): <argument>: <reason>", and the parts are kept as fields.
class Error : public std::runtime_error {
 public:
  Error(std::string call, std::string activation, std::string argument, std::string reason);

  const std::string& call() const noexcept { return call_; }
  const std::string& activation() const noexcept { return activation_; }
  const std::string& argument() const noexcept { return argument_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string call_, activation_, argument_, reason_;
};

}  // namespace actk
