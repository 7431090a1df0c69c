// The JSON reliability report: result types to JSON with a schema version and a
// stable key order (nlohmann's default object sorts its keys), and files written
// atomically (a temporary file in the same folder, then a rename), so a reader never
// sees half a report.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "faultline/reports/result.h"

namespace faultline::reports {

inline constexpr int schema_version = 3;

nlohmann::json to_json(const results::DesignResult& result);

// The 95% Wilson score interval of a proportion (successes of trials), as [low, high].
std::pair<double, double> wilson_interval(std::uint64_t successes, std::uint64_t trials);
nlohmann::json to_json(const results::Report& report);

// Writes `contents` to `path` atomically. Returns an error message (one line) on failure.
std::optional<std::string> write_file_atomically(const std::string& path, const std::string& contents);
// Checks that `path` can be written, without leaving anything behind.
std::optional<std::string> check_writable(const std::string& path);

// The human summary of one design's sweep: a few aligned lines.
std::string summary_table(const std::vector<results::DesignResult>& results);
// One line per design: the delivery-lag percentiles and how many times events were
// delivered and applied.
std::string delivery_summary(const std::vector<results::DesignResult>& results);

}  // namespace faultline::reports
