// Drawing the progress line with one write per redraw: a carriage return, the line, and
// "erase to the end of the line".
#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace faultline::app {
namespace {

constexpr std::chrono::milliseconds redraw_interval{100};
constexpr std::uint64_t bar_width = 24;

std::string duration_text(double seconds) {
  const auto whole = static_cast<std::uint64_t>(seconds + 0.5);
  if (whole < 60) return fmt::format("{} s", whole);
  if (whole < 3600) return fmt::format("{} min {:02} s", whole / 60, whole % 60);
  return fmt::format("{} h {:02} min", whole / 3600, whole / 60 % 60);
}

void write_to_stderr(const std::string& text) {
  // A progress line is best effort: a short or failed write to the terminal is no error.
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written <= 0) return;
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

}  // namespace

ProgressLine::ProgressLine(std::uint64_t total_runs)
    : shown_(::isatty(STDERR_FILENO) == 1),
      total_runs_(total_runs),
      started_(std::chrono::steady_clock::now()),
      last_drawn_(started_) {}

ProgressLine::~ProgressLine() {
  clear();
}

void ProgressLine::update(std::uint64_t done, std::uint64_t failing) {
  if (!shown_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_drawn_ < redraw_interval && done < total_runs_) return;
  last_drawn_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const std::uint64_t filled = total_runs_ == 0 ? bar_width : std::min(bar_width, done * bar_width / total_runs_);
  const std::string left =
      rate > 0 ? duration_text(static_cast<double>(total_runs_ - std::min(done, total_runs_)) / rate) + " left" : "";
  write_to_stderr(fmt::format("\r[{}{}] {}/{} runs, {} failing, {:.0f} runs/s, {}\x1b[K", std::string(filled, '#'),
                              std::string(bar_width - filled, '.'), done, total_runs_, failing, rate, left));
}

void ProgressLine::clear() {
  if (!drawn_) return;
  drawn_ = false;
  write_to_stderr("\r\x1b[K");
}

}  // namespace faultline::app
