// Fuzz target for the report JSON reader of `faultline merge` (reports/src/report_reader.cpp).
//
// Goal: whatever bytes sit in a shard's report file, the reader either returns a report
// or throws ReportError with a one-line message; any other exception, crash, hang or
// sanitizer report is a bug. Method: feed the bytes as they are, and check the round trip
// the reader's header promises for an accepted report: `to_json(report).dump()` is read
// again without complaint, and writing that report gives the same text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "faultline/reports/json_report.h"
#include "faultline/reports/report_reader.h"

#ifdef NDEBUG
#error "the fuzz targets check with assertions on: build them without NDEBUG"
#endif

namespace {

using faultline::reports::ReportError;

[[noreturn]] void round_trip_failed(const char* what, std::string_view input, const std::string& written) {
  std::fprintf(stderr, "report round trip: %s\n--- input ---\n%.*s\n--- written ---\n%s\n", what,
               static_cast<int>(input.size()), input.data(), written.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  faultline::results::Report report;
  try {
    report = faultline::reports::report_from_json(input);
  } catch (const ReportError& error) {
    if (std::string_view(error.what()).empty()) {
      std::fprintf(stderr, "report_from_json threw ReportError with an empty message\n");
      std::abort();
    }
    return 0;
  }

  const std::string written = faultline::reports::to_json(report).dump();
  faultline::results::Report again;
  try {
    again = faultline::reports::report_from_json(written);
  } catch (const ReportError& error) {
    round_trip_failed(error.what(), input, written);
  }
  if (faultline::reports::to_json(again).dump() != written)
    round_trip_failed("read back and written again, the text differs", input, written);
  return 0;
}
