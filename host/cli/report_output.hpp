// What the CLI's long-running commands share: a progress line on stderr, and the JSON report.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace actk::cli {

/// A progress callback printing "[done/total] <verb> <now>": rewritten in place on a terminal,
/// one line per step otherwise.
inline auto progress_line(const char* verb) {
  const bool tty = isatty(STDERR_FILENO);
  return [tty, verb](int done, int total, const std::string& now) {
    std::fprintf(stderr, "%s[%3d/%3d] %s %-24s", tty ? "\r" : "", done, total, verb, now.c_str());
    if (!tty || done == total) std::fprintf(stderr, "\n");
  };
}

/// Whether `path` (if any) can be written, checked before a run of minutes rather than after it;
/// the file is created. Prints the reason on stderr when not.
inline bool can_write(const char* command, const std::string& path) {
  if (path.empty() || std::ofstream(path)) return true;
  std::fprintf(stderr, "actk %s: cannot write %s\n", command, path.c_str());
  return false;
}

/// Writes a report through write(std::ostream&) to `path` (nothing when empty); false, with the
/// reason on stderr, when the file cannot be written.
template <class Write>
bool write_json_report(const char* command, const std::string& path, Write write) {
  if (path.empty()) return true;
  std::ofstream out(path);
  if (!out) {
    std::fprintf(stderr, "actk %s: cannot write %s\n", command, path.c_str());
    return false;
  }
  write(out);
  std::printf("JSON report written to %s\n", path.c_str());
  return true;
}

}  // namespace actk::cli
