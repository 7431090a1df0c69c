// Output files that cannot destroy: see output_file.h for the rules and why.
#include "faultline/reports/output_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace faultline::reports {
namespace {

// The temporary file's name keeps this much of the target's name (so a stray one says
// whose it was) and adds ".tmp." and six random characters: a target name of the
// longest length a folder allows still gets a temporary name that fits.
constexpr std::size_t temporary_name_kept_bytes_max = 64;

enum class TargetKind { new_file, regular_file, special_file, standard_stream };

// Where and how `path` is written.
struct Target {
  TargetKind kind = TargetKind::new_file;
  // The file replaced or written: `path`, or the regular file its symbolic link names.
  std::string file;
  // The folder that holds the temporary file (new and regular files only).
  std::string folder;
  // The mode and owner a replaced regular file had.
  struct stat existing {};
  // A standard stream's descriptor (standard_stream only).
  int descriptor = -1;
};

// The standard output or error stream `status` is (by device and inode), or -1.
int standard_stream_of(const struct stat& status) {
  for (const int descriptor : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat stream {};
    if (::fstat(descriptor, &stream) == 0 && stream.st_dev == status.st_dev && stream.st_ino == status.st_ino)
      return descriptor;
  }
  return -1;
}

std::string reason() {
  return std::strerror(errno);
}

std::string cannot(const std::string& path, const std::string& why) {
  return "cannot write " + path + ": " + why;
}

std::string folder_of(const std::string& file) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

std::string temporary_pattern(const Target& target) {
  const std::string name = std::filesystem::path(target.file).filename().string();
  return target.folder + "/." + name.substr(0, temporary_name_kept_bytes_max) + ".tmp.XXXXXX";
}

// Works out what `path` names; returns an error line, or nothing.
std::optional<std::string> resolve(const std::string& path, Target& target) {
  if (path.empty()) return "the output file name is empty";
  target.file = path;
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (errno != ENOENT) return cannot(path, reason());
    struct stat link {};
    if (::lstat(path.c_str(), &link) == 0) return cannot(path, "it is a symbolic link to a file that does not exist");
    target.kind = TargetKind::new_file;
  } else if (S_ISDIR(status.st_mode)) {
    return cannot(path, "it is a directory");
  } else if (S_ISBLK(status.st_mode)) {
    return cannot(path, "it is a block device (a disk), which an output would overwrite");
  } else if (S_ISSOCK(status.st_mode)) {
    return cannot(path, "it is a socket");
  } else if (const int stream = standard_stream_of(status); stream >= 0) {
    // `--report /dev/stdout > out.txt`: the report goes into the stream where the command
    // prints, after what it printed, instead of replacing (or overwriting) out.txt.
    target.kind = TargetKind::standard_stream;
    target.descriptor = stream;
    return std::nullopt;
  } else if (!S_ISREG(status.st_mode)) {
    // A character device, a FIFO or a pipe: written in place.
    target.kind = TargetKind::special_file;
    if (::access(path.c_str(), W_OK) != 0) return cannot(path, reason());
    return std::nullopt;
  } else {
    target.kind = TargetKind::regular_file;
    target.existing = status;
    if (::access(path.c_str(), W_OK) != 0) return cannot(path, reason());
    struct stat link {};
    if (::lstat(path.c_str(), &link) != 0) return cannot(path, reason());
    if (S_ISLNK(link.st_mode)) {
      // Replace the file the link names, not the link.
      char* resolved = ::realpath(path.c_str(), nullptr);
      if (resolved == nullptr) return cannot(path, reason());
      target.file = resolved;
      std::free(resolved);
    }
  }
  target.folder = folder_of(target.file);
  struct stat folder {};
  if (::stat(target.folder.c_str(), &folder) != 0) {
    if (errno == ENOENT) return cannot(path, "folder " + target.folder + " does not exist");
    return cannot(path, "folder " + target.folder + ": " + reason());
  }
  if (!S_ISDIR(folder.st_mode)) return cannot(path, target.folder + " is not a folder");
  return std::nullopt;
}

// Creates the temporary file exclusively; returns its descriptor, or -1 with errno set.
int create_temporary(const Target& target, std::string& name) {
  name = temporary_pattern(target);
  return ::mkostemp(name.data(), O_CLOEXEC);
}

std::optional<std::string> write_all(int descriptor, const std::string& contents, const std::string& path) {
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t count = ::write(descriptor, contents.data() + written, contents.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return cannot(path, reason());
    if (count == 0) return cannot(path, "the write made no progress");
    written += static_cast<std::size_t>(count);
  }
  return std::nullopt;
}

std::optional<std::string> write_in_place(const std::string& path, const std::string& contents) {
  // Not blocking on open: a FIFO nobody reads would otherwise wait forever.
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (descriptor < 0) {
    if (errno == ENXIO) return cannot(path, "no process is reading it");
    return cannot(path, reason());
  }
  const int flags = ::fcntl(descriptor, F_GETFL);
  if (flags < 0 || ::fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const std::string why = reason();
    ::close(descriptor);
    return cannot(path, why);
  }
  auto problem = write_all(descriptor, contents, path);
  if (::close(descriptor) != 0 && !problem) problem = cannot(path, reason());
  return problem;
}

std::optional<std::string> replace(const std::string& path, const Target& target, const std::string& contents) {
  const SignalsHeld held;
  std::string temporary;
  const int descriptor = create_temporary(target, temporary);
  if (descriptor < 0) return cannot(path, reason());
  auto problem = write_all(descriptor, contents, path);
  if (!problem) {
    // The new file gets the old one's mode and owner, or the mode a new file would get.
    if (target.kind == TargetKind::regular_file) {
      if (::fchown(descriptor, target.existing.st_uid, target.existing.st_gid) != 0) {
        // Only root may give a file away; anyone else keeps the file as theirs.
      }
      if (::fchmod(descriptor, target.existing.st_mode & 07777) != 0) problem = cannot(path, reason());
    } else {
      const mode_t mask = ::umask(0);
      ::umask(mask);
      if (::fchmod(descriptor, 0666 & ~mask) != 0) problem = cannot(path, reason());
    }
  }
  if (::close(descriptor) != 0 && !problem) problem = cannot(path, reason());
  if (!problem && ::rename(temporary.c_str(), target.file.c_str()) != 0) problem = cannot(path, reason());
  if (problem) ::unlink(temporary.c_str());
  return problem;
}

sigset_t interrupt_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&signals, signal_number);
  return signals;
}

}  // namespace

SignalsHeld::SignalsHeld() {
  const sigset_t signals = interrupt_signals();
  [[maybe_unused]] const int status = ::pthread_sigmask(SIG_BLOCK, &signals, &previous_);
  assert(status == 0);
}

SignalsHeld::~SignalsHeld() {
  [[maybe_unused]] const int status = ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  assert(status == 0);
}

std::optional<std::string> check_writable(const std::string& path) {
  Target target;
  if (auto problem = resolve(path, target)) return problem;
  if (target.kind == TargetKind::special_file || target.kind == TargetKind::standard_stream) return std::nullopt;
  // Create the very temporary file the write will use (its name's length included),
  // then remove it.
  const SignalsHeld held;
  std::string temporary;
  const int descriptor = create_temporary(target, temporary);
  if (descriptor < 0) return cannot(path, reason());
  ::close(descriptor);
  ::unlink(temporary.c_str());
  return std::nullopt;
}

std::optional<std::string> write_file_atomically(const std::string& path, const std::string& contents) {
  Target target;
  if (auto problem = resolve(path, target)) return problem;
  if (target.kind == TargetKind::special_file) return write_in_place(path, contents);
  if (target.kind == TargetKind::standard_stream) {
    // After what the command printed so far, not before it.
    std::fflush(target.descriptor == STDOUT_FILENO ? stdout : stderr);
    return write_all(target.descriptor, contents, path);
  }
  return replace(path, target, contents);
}

bool same_file(const std::string& one, const std::string& other) {
  struct stat first {};
  struct stat second {};
  if (::stat(one.c_str(), &first) != 0 || ::stat(other.c_str(), &second) != 0) return false;
  return first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

}  // namespace faultline::reports
