// `faultline merge`: read every shard strictly, merge (reports/src/merge.cpp), write the
// merged report atomically. Nothing is written unless every shard was read and the set
// checked.
#include "merge_command.h"

#include <fmt/format.h>

#include <cstdio>

#include "command_files.h"
#include "faultline/reports/json_report.h"
#include "faultline/reports/merge.h"
#include "faultline/reports/report_reader.h"
#include "sweep_command.h"

namespace faultline::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_expectation_failed = 1;
constexpr int exit_usage = 2;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "faultline: error: %s\n", message.c_str());
  return exit_usage;
}

}  // namespace

int run_merge_command(const MergeCommandOptions& options) {
  if (auto problem = reports::check_writable(options.out)) return usage_error(*problem);
  if (auto problem = output_is_an_input("the merged report", options.out, options.shards)) return usage_error(*problem);
  std::vector<reports::ShardReport> shards;
  for (const auto& path : options.shards) {
    std::string contents;
    if (auto problem = read_input_file(path, "shard report", report_bytes_max, contents)) return usage_error(*problem);
    try {
      shards.push_back(reports::ShardReport{.path = path, .report = reports::report_from_json(contents)});
    } catch (const reports::ReportError& error) {
      return usage_error(path + ": " + error.what());
    }
  }
  results::Report merged;
  try {
    merged = reports::merge_shards(shards, options.out);
  } catch (const reports::MergeError& error) {
    return usage_error(error.what());
  }

  // Written before anything is printed: a closed stdout must not cost the merged report.
  if (auto problem = reports::write_file_atomically(options.out, reports::to_json(merged).dump(2) + "\n"))
    return usage_error(*problem);
  const results::Shard& sweep = *shards.front().report.shard;
  std::printf("faultline merge: %llu shards of seeds %llu..%llu into %s\n",
              static_cast<unsigned long long>(sweep.count), static_cast<unsigned long long>(sweep.sweep_seed_first),
              static_cast<unsigned long long>(sweep.sweep_seed_last), options.out.c_str());
  std::vector<std::string> notes;
  const bool held = judge_expectations(merged.results, notes);
  std::printf("\n%s\n", reports::summary_table(merged.results).c_str());
  std::printf("%s\n", reports::delivery_summary(merged.results).c_str());
  for (const auto& note : notes) std::printf("%s\n", note.c_str());
  std::printf("\nreport: %s\n", options.out.c_str());
  return held ? exit_ok : exit_expectation_failed;
}

}  // namespace faultline::app
