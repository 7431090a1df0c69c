// Writing an output file (a report, a trace, a page, a scenario) so that nothing but
// that file can be harmed, whoever runs the command (often root, in CI):
//
// - A regular file (or a new one) is replaced atomically: the contents go to a
//   temporary file created exclusively (never through a planted symbolic link) in the
//   target's own folder, then renamed over the target. A reader sees the old file or
//   the new one, never half of one; a symbolic link to a regular file keeps pointing to
//   the new contents.
// - A special file (a character device such as /dev/null or a terminal, a FIFO or a
//   pipe such as /dev/stdout) is written in place, never replaced: renaming over
//   /dev/null as root would replace the machine's /dev/null with a report.
// - The command's own standard output or error (/dev/stdout when stdout is redirected to
//   a file) is written to, after what was printed there, never replaced.
// - A folder, a block device or a socket is refused.
//
// Interrupt signals are held while the temporary file exists, so a second Ctrl-C during
// the write cannot leave it behind: the signal takes effect once the file is renamed.
#pragma once

#include <csignal>
#include <optional>
#include <string>

namespace faultline::reports {

// Checks that `path` can be written, with the temporary file the write will use,
// without leaving anything behind. Returns an error line, or nothing.
std::optional<std::string> check_writable(const std::string& path);

// Writes `contents` to `path` as described above. Returns an error line that names the
// path and the system's reason, or nothing.
std::optional<std::string> write_file_atomically(const std::string& path, const std::string& contents);

// True when both paths name one existing file (the same device and inode, after
// following symbolic links), so writing the one would destroy the other.
bool same_file(const std::string& one, const std::string& other);

// Holds SIGINT, SIGTERM, SIGHUP and SIGQUIT back from the calling thread while it
// lives; a signal that arrives meanwhile is delivered when it goes.
class SignalsHeld {
 public:
  SignalsHeld();
  ~SignalsHeld();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t previous_{};
};

}  // namespace faultline::reports
