// Checks the timeline page on a hand-made run: every node gets a lane, each delivered
// message an arrow and each dropped one an X, a crash a red mark and a down span up
// to its restart, a pause a shaded span, faults and named points their marks, and
// the violation its text at the top and its records in the alarm colour. Also: text
// is escaped, the same input gives the same bytes, routine polling is folded, the
// message cap is said on the page, and the causal chain of a request follows its
// calls and replies. Method: render hand-built records and read the HTML back as a
// browser would find it (element classes, titles, text).
#include "faultline/reports/timeline.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace faultline::reports {
namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++found;
  return found;
}

TimelineRecord record(std::int64_t time_us, std::string node, std::string kind, std::string detail = {},
                      std::string peer = {}, std::uint64_t message_id = 0) {
  return TimelineRecord{.time_us = time_us,
                        .node = std::move(node),
                        .kind = std::move(kind),
                        .detail = std::move(detail),
                        .peer = std::move(peer),
                        .message_id = message_id};
}

// The textbook dual-write loss: the order commits, the service crashes before it
// publishes, and the event never reaches the broker.
TimelineInput crash_after_commit() {
  TimelineInput input;
  input.title = "dual-write-db-first, hand-made";
  input.facts = {"profile (hand-written)", "1 command"};
  input.violations = {{"L", "change 1 (command 1) is durably committed but event e1 was never applied"}};
  input.story = "  6.597 ms  service: crash the node at service.after_commit\n  => L: ...";
  input.replay = "faultline replay --scenario counterexample.json";
  input.lanes = {"client", "service", "db", "broker", "consumer"};
  input.highlight_terms = {"e1"};
  input.records = {
      record(0, "client", "boot", "0"),
      record(0, "client", "send", "service.place_order", "service", 1),
      record(400, "service", "deliver", "service.place_order", "client", 1),
      record(400, "service", "send", "db.begin", "db", 2),
      record(900, "db", "deliver", "db.begin", "service", 2),
      record(900, "db", "send", "db.begin", "service", 3),
      record(1'400, "service", "deliver", "db.begin", "db", 3),
      record(1'400, "service", "send", "db.commit", "db", 4),
      record(1'900, "db", "deliver", "db.commit", "service", 4),
      record(1'900, "db", "point", "db.commit.after_sync"),
      record(1'900, "db", "send", "db.commit", "service", 5),
      record(2'400, "service", "deliver", "db.commit", "db", 5),
      record(2'400, "service", "point", "service.after_commit"),
      record(2'400, "service", "fault", "crash the node at service.after_commit (hit 1), down until liveness"),
      record(2'400, "service", "crash", "planned"),
      record(2'500, "", "fault", "partition {db} from the rest for 10.0 ms"),
      record(2'600, "broker", "pause", "3 ms"),
      record(2'700, "consumer", "send", "broker.fetch", "broker", 6),
      record(2'700, "consumer", "drop", "broker.fetch", "broker", 6),
      record(5'600, "broker", "resume"),
      record(12'500, "", "heal", "partition ended"),
      record(30'000, "", "liveness", "faults heal; crashed nodes restart"),
      record(30'000, "service", "restart"),
      record(30'000, "service", "service.recovered", "e1 <never> & \"sent\""),
  };
  return input;
}

TEST(Timeline, DrawsALanePerNodeArrowsForMessagesAndMarksForCrashes) {
  const std::string page = render_timeline(crash_after_commit());
  ASSERT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u) << "the page is one HTML document";
  for (const std::string lane : {"client", "service", "db", "broker", "consumer"})
    EXPECT_NE(page.find("<span>" + lane + "</span>"), std::string::npos) << "no lane for " << lane;
  EXPECT_EQ(count(page, "class=\"lane-head\""), 5u) << "one lane per node";
  EXPECT_EQ(count(page, "<line class=\"lane\""), 5u) << "one lane line per node";
  // Five delivered messages, each one arrow with a head; one dropped message with an X.
  EXPECT_EQ(count(page, "marker-end=\"url(#head-"), 5u) << "one arrow per delivered message";
  EXPECT_EQ(count(page, "class=\"msg dropped"), 1u) << "the dropped fetch is drawn";
  EXPECT_EQ(count(page, "<path class=\"x\""), 1u) << "a dropped message ends in an X";
  EXPECT_EQ(count(page, "<g class=\"crash\""), 1u) << "the crash is marked";
  EXPECT_EQ(count(page, "<g class=\"down\""), 1u) << "the service is shown down until its restart";
  EXPECT_EQ(count(page, "<g class=\"restart\""), 1u);
  EXPECT_EQ(count(page, "<g class=\"paused\""), 1u) << "the broker's pause is a shaded span";
  EXPECT_EQ(count(page, "<g class=\"global fault\""), 1u) << "the partition is annotated across the lanes";
  EXPECT_EQ(count(page, "<g class=\"global heal\""), 1u);
  EXPECT_EQ(count(page, "<g class=\"global liveness\""), 1u);
  EXPECT_EQ(count(page, "<g class=\"point"), 2u) << "named points are ticks";
  EXPECT_NE(page.find("<title>2.400 ms  service: point service.after_commit</title>"), std::string::npos)
      << "a point's tooltip names it";
  EXPECT_NE(page.find("change 1 (command 1) is durably committed but event e1 was never applied"), std::string::npos)
      << "the violation is told at the top";
  EXPECT_NE(page.find("faultline replay --scenario counterexample.json"), std::string::npos);
}

TEST(Timeline, EscapesEveryText) {
  const std::string page = render_timeline(crash_after_commit());
  EXPECT_EQ(page.find("<never>"), std::string::npos) << "a detail's markup must not reach the page raw";
  EXPECT_NE(page.find("e1 &lt;never&gt; &amp; &quot;sent&quot;"), std::string::npos);
  EXPECT_EQ(html_escape("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(Timeline, HighlightsTheRecordsOfTheViolation) {
  const std::string page = render_timeline(crash_after_commit());
  // The note naming e1 is the only record with that word.
  EXPECT_EQ(count(page, "<g class=\"note alarm\""), 1u) << "the note naming the lost event is highlighted";
  EXPECT_NE(page.find("id=\"first-highlight\""), std::string::npos) << "the header links to the first highlight";
}

TEST(Timeline, FollowsTheCausalChainOfARequest) {
  TimelineInput input = crash_after_commit();
  mark_causal_chain(input.records, {1});
  // Request 1, and what it set off: db.begin (2) and its reply (3), db.commit (4)
  // and its reply (5), and the points reached on the way.
  for (const auto& record : input.records) {
    const bool in_chain = record.message_id >= 1 && record.message_id <= 5;
    if (record.message_id != 0) {
      EXPECT_EQ(record.emphasis == Emphasis::violation, in_chain) << "message " << record.message_id;
    }
  }
  EXPECT_EQ(input.records[9].emphasis, Emphasis::violation) << "db.commit.after_sync is in the chain";
  EXPECT_EQ(input.records[12].emphasis, Emphasis::violation) << "service.after_commit is in the chain";
  EXPECT_EQ(input.records[17].emphasis, Emphasis::none) << "the consumer's poll is not";
  const std::string page = render_timeline(input);
  EXPECT_EQ(count(page, "marker-end=\"url(#head-alarm)\""), 5u) << "every message of the chain is highlighted";
}

TEST(Timeline, IsDeterministic) {
  EXPECT_EQ(render_timeline(crash_after_commit()), render_timeline(crash_after_commit()));
}

TEST(Timeline, FindsWholeWordsOnly) {
  EXPECT_TRUE(contains_word("service.publish-failed e1", "e1"));
  EXPECT_TRUE(contains_word("e1", "e1"));
  EXPECT_FALSE(contains_word("e12", "e1"));
  EXPECT_FALSE(contains_word("xe1", "e1"));
  EXPECT_FALSE(contains_word("anything", ""));
}

// A consumer polling an idle broker for a long time: the polls fold into one band,
// and a cap on messages says how many were left out.
TimelineInput polling(std::size_t rounds) {
  TimelineInput input;
  input.title = "polling";
  input.lanes = {"broker", "consumer"};
  std::uint64_t message = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    const auto at = static_cast<std::int64_t>(round) * 1'000;
    input.records.push_back(record(at, "consumer", "send", "broker.fetch", "broker", ++message));
    input.records.push_back(record(at + 300, "broker", "deliver", "broker.fetch", "consumer", message));
    input.records.push_back(record(at + 300, "broker", "send", "broker.fetch", "consumer", ++message));
    input.records.push_back(record(at + 600, "consumer", "deliver", "broker.fetch", "broker", message));
  }
  return input;
}

TEST(Timeline, FoldsLongRunsOfRoutineExchanges) {
  const std::string page = render_timeline(polling(500));
  EXPECT_EQ(count(page, "<g class=\"fold\""), 1u) << "one band for the whole idle stretch";
  EXPECT_NE(page.find("990 routine messages folded"), std::string::npos) << "the band says how many it hides";
  EXPECT_NE(page.find("broker ⇄ consumer: broker.fetch"), std::string::npos) << "and which calls";
  EXPECT_LE(count(page, "<g class=\"msg"), 12u) << "only the ends of the stretch are drawn";
}

TEST(Timeline, SaysWhenTheMessageCapLeftMessagesOut) {
  TimelineLimits limits;
  limits.messages_max = 10;
  limits.fold_records_min = 1'000'000;  // no folding: the cap alone bounds the page
  const std::string page = render_timeline(polling(20), limits);
  EXPECT_EQ(count(page, "<g class=\"msg"), 10u) << "only the first 10 messages are drawn";
  EXPECT_NE(page.find("Only the first 10 messages are drawn; 30 later messages are not."), std::string::npos);
  EXPECT_NE(page.find("message cap: from here on 30 messages are not drawn"), std::string::npos);
}

TEST(Timeline, RendersAnEmptyRun) {
  const std::string page = render_timeline(TimelineInput{});
  EXPECT_NE(page.find("No invariant violated"), std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace faultline::reports
