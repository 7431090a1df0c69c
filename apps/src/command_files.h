// The files a command reads and writes, checked the same way by every command: an input
// is read with the system's reason when it cannot be (a folder, a symbolic link loop, a
// missing file) and a size past which it cannot be one of ours; an output that is also
// one of the inputs is refused before anything runs, since writing it would destroy
// the input; a file name given as an empty string is refused rather than ignored.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline::app {

// Scenarios are a few megabytes at most (10,000 faults); reports a few hundred.
inline constexpr std::uintmax_t scenario_bytes_max = std::uintmax_t{1} << 26;
inline constexpr std::uintmax_t report_bytes_max = std::uintmax_t{1} << 30;

// Reads `path` (a regular file, or a pipe such as /dev/stdin) into `contents`. Returns
// an error line naming `what` ("scenario file", "shard report"), the path and the
// reason, or nothing.
std::optional<std::string> read_input_file(const std::string& path, const std::string& what, std::uintmax_t bytes_max,
                                           std::string& contents);

// An error line when the output `output` (given as `option`) is the same file as one of
// `inputs`, or nothing.
std::optional<std::string> output_is_an_input(const std::string& option, const std::string& output,
                                              const std::vector<std::string>& inputs);

// A validator for an option that names a file: the name may not be empty.
CLI::Validator file_name();

}  // namespace faultline::app
