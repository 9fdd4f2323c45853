#include "actk/error.hpp"

namespace actk {

Error::Error(std::string call, std::string activation, std::string argument, std::string reason)
    : std::runtime_error("actk::" + call + "(" + activation + "): " + argument + ": " + reason),
      call_(std::move(call)),
      activation_(std::move(activation)),
      argument_(std::move(argument)),
      reason_(std::move(reason)) {}

}  // namespace actk
