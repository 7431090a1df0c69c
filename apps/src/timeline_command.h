// `faultline timeline`: renders one run (typically a counterexample) as a
// self-contained HTML page, a space-time diagram (reports/timeline.h). The run is
// named like a replay: by design and seed, or by a scenario file.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "faultline/models/design.h"

namespace faultline::app {

struct TimelineOptions {
  std::string design;
  std::uint64_t seed = 1;
  std::uint32_t commands = 3;  // small by default: a page of a short run is one screen or two
  std::string profile = "default";
  std::string scenario;
  std::string out;
  const CLI::Option* seed_option = nullptr;  // set by add_timeline_command, to tell a given seed from the default
};

// Adds the `timeline` subcommand and its options to `app`.
CLI::App* add_timeline_command(CLI::App& app, TimelineOptions& options);

// Runs the subcommand. Reports an input error itself (one line on stderr, exit code 2,
// nothing written); returns 0 once the page is written.
int run_timeline(const TimelineOptions& options, const models::DesignRegistry& designs);

}  // namespace faultline::app
