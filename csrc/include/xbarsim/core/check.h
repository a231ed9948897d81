// XB_CHECK: cheap invariant checks in host code. Throws std::invalid_argument (ValueError in
// Python through pybind11); never assert/abort, so bad input cannot kill the interpreter.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace xbarsim::detail {

template <typename... Parts>
[[noreturn]] inline void throw_invalid(const char* where, const Parts&... parts) {
  std::ostringstream os;
  os << where << ": ";
  (os << ... << parts);
  throw std::invalid_argument(os.str());
}

}  // namespace xbarsim::detail

#define XB_CHECK(cond, ...)                                              \
  do {                                                                   \
    if (!(cond)) ::xbarsim::detail::throw_invalid(__func__, __VA_ARGS__); \
  } while (0)
