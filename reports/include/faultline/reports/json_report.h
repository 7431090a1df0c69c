// The JSON reliability report: result types to JSON with a schema version and a
// stable key order (nlohmann's default object sorts its keys). Files are written with
// output_file.h (atomically, so a reader never sees half a report), included here.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "faultline/reports/output_file.h"
#include "faultline/reports/result.h"

namespace faultline::reports {

inline constexpr int schema_version = 3;

nlohmann::json to_json(const results::DesignResult& result);

// The 95% Wilson score interval of a proportion (successes of trials), as [low, high].
std::pair<double, double> wilson_interval(std::uint64_t successes, std::uint64_t trials);
nlohmann::json to_json(const results::Report& report);

// The human summary of one design's sweep: a few aligned lines.
std::string summary_table(const std::vector<results::DesignResult>& results);
// One line per design: the delivery-lag percentiles and how many times events were
// delivered and applied.
std::string delivery_summary(const std::vector<results::DesignResult>& results);

}  // namespace faultline::reports
