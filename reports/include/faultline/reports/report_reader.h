// Reading a JSON report back into the result types, for `faultline merge`. Strict: every
// key, type and range the schema (reports/schema/report.schema.json) pins is checked, a
// key given twice or unknown is refused, and the figures must agree with each other (runs
// with the seed range, verdicts with the violation counts), so a truncated, hand-edited or
// foreign file is refused with one line naming what is wrong, never half-read.
#pragma once

#include <stdexcept>
#include <string_view>

#include "faultline/reports/result.h"

namespace faultline::reports {

// What is wrong with a report, in one line (without the file name: the caller adds it).
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a report as `to_json(report).dump()` writes it; `to_json` of the result writes the
// same JSON again. Throws ReportError.
results::Report report_from_json(std::string_view text);

}  // namespace faultline::reports
