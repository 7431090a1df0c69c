// Inputs and outputs of the commands: see command_files.h.
#include "command_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "faultline/reports/output_file.h"

namespace faultline::app {

std::optional<std::string> read_input_file(const std::string& path, const std::string& what, std::uintmax_t bytes_max,
                                           std::string& contents) {
  const std::string cannot = "cannot read " + what + " " + path + ": ";
  if (path.empty()) return "the " + what + " name is empty";
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (descriptor < 0) return cannot + std::strerror(errno);
  struct stat status {};
  std::optional<std::string> problem;
  if (::fstat(descriptor, &status) != 0) {
    problem = cannot + std::strerror(errno);
  } else if (S_ISDIR(status.st_mode)) {
    problem = cannot + "it is a directory";
  } else if (S_ISREG(status.st_mode) && static_cast<std::uintmax_t>(status.st_size) > bytes_max) {
    problem = what + " " + path + " is larger than " + std::to_string(bytes_max >> 20) + " MiB: not a " + what;
  }
  contents.clear();
  char buffer[1 << 16];
  while (!problem) {
    const ssize_t count = ::read(descriptor, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) problem = cannot + std::strerror(errno);
    if (count <= 0) break;
    contents.append(buffer, static_cast<std::size_t>(count));
    // A pipe has no size to check beforehand.
    if (contents.size() > bytes_max)
      problem = what + " " + path + " is larger than " + std::to_string(bytes_max >> 20) + " MiB: not a " + what;
  }
  ::close(descriptor);
  return problem;
}

std::optional<std::string> output_is_an_input(const std::string& option, const std::string& output,
                                              const std::vector<std::string>& inputs) {
  for (const auto& input : inputs)
    if (reports::same_file(output, input))
      return option + " " + output + " is the same file as the input " + input + ": writing it would destroy it";
  return std::nullopt;
}

CLI::Validator file_name() {
  return CLI::Validator(
      [](std::string& text) -> std::string { return text.empty() ? "needs a file name, not an empty string" : ""; },
      "FILE");
}

}  // namespace faultline::app
