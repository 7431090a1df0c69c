// The timeline page: one run (typically a counterexample) drawn as a self-contained
// HTML page, a space-time diagram with a lane per node and time flowing down.
// Messages are arrows from their send to their delivery (an X where one was
// dropped), crashes, restarts, pauses, faults and named points are marks on the
// lanes, and the records that make up the violation are highlighted. The page uses
// inline CSS and SVG only (no script, no external resource), so it opens anywhere,
// and the same input always gives the same bytes.
//
// The input is plain data, so this layer knows nothing of the simulator: the command
// converts a run's trace into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace faultline::reports {

// Whether a record is part of the story of a violation (drawn in the alarm colour).
enum class Emphasis { none, violation };

// One step of a run, as the simulator's trace records it.
struct TimelineRecord {
  std::int64_t time_us = 0;
  std::string node;  // the node the record is about ("" for the simulator itself)
  std::string kind;  // "send", "deliver", "drop", "crash", "restart", "pause", "resume", "fault", "point", ...
  std::string detail;
  std::string peer;  // the other end of a message, when there is one
  std::uint64_t message_id = 0;
  Emphasis emphasis = Emphasis::none;
};

struct TimelineViolation {
  std::string invariant;    // "L", "P", ...
  std::string explanation;  // one sentence
};

struct TimelineInput {
  std::string title;                          // what ran, in a few words ("dual-write-db-first, seed 4")
  std::vector<std::string> facts;             // short lines shown under the title
  std::vector<TimelineViolation> violations;  // what the checkers found (empty: nothing violated)
  std::string story;                          // the run's story, preformatted text
  std::string replay;                         // the command that reruns the run
  std::string highlight_note;                 // says what the highlighted records are
  std::vector<std::string> lanes;             // lane order; nodes not listed follow in order of appearance
  std::vector<std::string> highlight_terms;   // a record whose detail has one of these words is highlighted
  std::vector<TimelineRecord> records;        // in trace order (time never decreases)
};

// Bounds that keep the page of a big run usable.
struct TimelineLimits {
  std::size_t messages_max = 3'000;   // messages drawn as arrows; later ones are counted, not drawn
  std::size_t records_max = 12'000;   // records drawn in all; the diagram stops after them
  std::size_t fold_records_min = 40;  // a run of routine exchanges between two nodes this long is folded
};

// The page, as one HTML document.
std::string render_timeline(const TimelineInput& input, const TimelineLimits& limits = {});

// Marks, with Emphasis::violation, what the given messages and the records already
// marked set off, as far as the trace can tell: a node that handles a marked message
// marks what it did in the same step (points, notes, the messages it sent), the reply
// to a marked request is marked, and so is a retry (a send a timer starts, of a call
// whose only unanswered attempts are marked). Other steps a timer starts (polls, a
// relay's rounds) are not followed.
void mark_causal_chain(std::vector<TimelineRecord>& records, const std::vector<std::uint64_t>& message_ids);

// Whether `text` contains `word` delimited by non-alphanumeric characters ("e1" is in
// "publish-failed e1", not in "e12").
bool contains_word(const std::string& text, const std::string& word);

// `text` escaped for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace faultline::reports
