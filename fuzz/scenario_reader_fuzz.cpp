// Fuzz target for the scenario JSON reader (properties/src/scenario_json.cpp).
//
// Goal: whatever bytes a user hands to `faultline replay --scenario FILE`, the reader
// either returns a scenario or throws ScenarioError with a one-line message; any other
// exception, crash, hang or sanitizer report is a bug. Method: feed the bytes as they
// are, with the built-in design registry (so a scenario without "settings" takes its
// design's defaults), and check that an accepted scenario survives a round trip:
// written back with scenario_to_json and read again, it must be accepted and equal, and
// writing it a second time must give the same text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "faultline/models/design.h"
#include "faultline/properties/scenario_json.h"

#ifdef NDEBUG
#error "the fuzz targets check with assertions on: build them without NDEBUG"
#endif

namespace {

using faultline::models::Scenario;
using faultline::properties::ScenarioError;

[[noreturn]] void round_trip_failed(const char* what, std::string_view input, const std::string& written) {
  std::fprintf(stderr, "scenario round trip: %s\n--- input ---\n%.*s\n--- written ---\n%s\n", what,
               static_cast<int>(input.size()), input.data(), written.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Built once: the registry is read-only, and rebuilding it per input would drown the
  // reader's own work.
  static const faultline::models::DesignRegistry designs = faultline::models::builtin_designs();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  Scenario scenario;
  try {
    scenario = faultline::properties::scenario_from_json(input, &designs);
  } catch (const ScenarioError& error) {
    // Refusing is the reader's job; an empty message would leave the user guessing.
    if (std::string_view(error.what()).empty()) {
      std::fprintf(stderr, "scenario_from_json threw ScenarioError with an empty message\n");
      std::abort();
    }
    return 0;
  }

  const std::string written = faultline::properties::scenario_to_json(scenario);
  Scenario again;
  try {
    again = faultline::properties::scenario_from_json(written, &designs);
  } catch (const ScenarioError& error) {
    round_trip_failed(error.what(), input, written);
  }
  if (!(again == scenario)) round_trip_failed("read back, the scenario differs from the one written", input, written);
  if (faultline::properties::scenario_to_json(again) != written)
    round_trip_failed("written twice, the text differs", input, written);
  return 0;
}
