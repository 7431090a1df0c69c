// Unit tests of the invariant checkers (design.md section 6).
// Goal: each checker reports the violation it exists to catch, with its invariant id,
// an explanation naming the event, command, key or stream involved, and the right
// counters, and stays quiet on a clean history, including the edge cases that tell an
// allowed anomaly (an unknown outcome, an explained duplicate, another key's event
// interleaving) from a real one.
// Method: hand-made properties::History values, built field by field the way
// History::from fills them (no simulation), each with one planted violation or none;
// every checker is called on its own, and check_all once on a clean history.
#include "faultline/properties/checkers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "faultline/models/broker_replication.h"
#include "faultline/models/design.h"
#include "faultline/properties/history.h"
#include "faultline/properties/runner.h"

namespace faultline {
namespace {

using properties::CheckReport;
using properties::History;

const std::string projection = "projection";
const std::string billing = "billing";

models::Event event(std::int64_t command, const std::string& key, std::uint32_t incarnation = 1,
                    std::uint32_t attempt = 1) {
  models::Event result;
  result.message_id = models::event_id_for(command);
  result.key = key;
  result.command = command;
  result.order_id = command * 100;
  result.publisher_incarnation = incarnation;
  result.attempt = attempt;
  return result;
}

// A change durably committed at `lsn`, and the client's record of its command.
void commit(History& history, std::int64_t command, const std::string& key, std::uint64_t lsn,
            models::Outcome outcome = models::Outcome::ok) {
  models::Row row;
  row.id = command * 100;
  row.key = key;
  row.command = command;
  row.message_id = models::event_id_for(command);
  history.committed_changes.emplace(command, row);
  ++history.change_rows[command];
  history.commit_lsn[command] = lsn;
  models::CommandRecord record;
  record.command = command;
  record.key = key;
  record.outcome = outcome;
  record.order_id = row.id;
  history.commands.emplace(command, record);
}

void append(History& history, const models::Event& appended) {
  models::StoredRecord record;
  record.offset = static_cast<std::int64_t>(history.appends.size());
  record.event = appended;
  history.appends.push_back(record);
  ++history.appended[models::announced_event_id(appended)];
  history.command_of_event[models::announced_event_id(appended)] = appended.command;
}

void apply(History& history, const std::string& group, const models::Event& applied, std::int64_t offset = 0) {
  history.effects.push_back(models::AppliedEffect{group, applied, 0, offset});
  ++history.applied[group][models::announced_event_id(applied)];
  history.command_of_event[models::announced_event_id(applied)] = applied.command;
}

// Command `command` committed, appended once and applied once by every group.
void deliver(History& history, std::int64_t command, const std::string& key, std::uint64_t lsn) {
  commit(history, command, key, lsn);
  append(history, event(command, key));
  for (const auto& group : history.groups) apply(history, group, event(command, key));
}

History with_groups(std::vector<std::string> groups = {projection}) {
  History history;
  history.groups = std::move(groups);
  history.drained = true;
  return history;
}

History clean_history() {
  History history = with_groups({projection, billing});
  deliver(history, 1, "k1", 10);
  deliver(history, 2, "k2", 20);
  deliver(history, 3, "k1", 30);
  history.stream_versions["s1"] = {1, 2, 3};
  return history;
}

// --- L ------------------------------------------------------------------------

TEST(NoLostEvent, ReportsACommittedChangeNoGroupApplied) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  commit(history, 2, "k1", 20);  // committed, never published, never applied
  CheckReport report;
  properties::check_no_lost_event(history, report);
  ASSERT_TRUE(report.violated("L"));
  const auto& explanation = report.first("L")->explanation;
  EXPECT_NE(explanation.find("command 2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("event e2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("group projection"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("never reached the broker"), std::string::npos) << explanation;
  EXPECT_EQ(report.lost_events, 1u);
}

TEST(NoLostEvent, ReportsAChangeAppliedByOnlyOneOfTwoGroups) {
  History history = with_groups({projection, billing});
  commit(history, 1, "k1", 10);
  append(history, event(1, "k1"));
  apply(history, projection, event(1, "k1"));  // billing never applied it
  CheckReport report;
  properties::check_no_lost_event(history, report);
  ASSERT_TRUE(report.violated("L"));
  const auto& explanation = report.first("L")->explanation;
  EXPECT_NE(explanation.find("event e1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("group billing"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("it is in the broker"), std::string::npos) << explanation;
  EXPECT_EQ(report.lost_events, 1u);
}

TEST(NoLostEvent, StaysQuietWhenEveryGroupAppliedEveryChange) {
  CheckReport report;
  properties::check_no_lost_event(clean_history(), report);
  EXPECT_FALSE(report.violated("L"));
  EXPECT_EQ(report.lost_events, 0u);
}

// --- P ------------------------------------------------------------------------

TEST(NoPhantomEvent, ReportsAnAppliedEventWhoseChangeNeverCommitted) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  append(history, event(7, "k1"));  // published, but command 7's transaction never committed
  apply(history, projection, event(7, "k1"));
  CheckReport report;
  properties::check_no_phantom_event(history, report);
  ASSERT_TRUE(report.violated("P"));
  const auto& explanation = report.first("P")->explanation;
  EXPECT_NE(explanation.find("event e7"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("command 7"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("group projection"), std::string::npos) << explanation;
  EXPECT_EQ(report.phantom_events, 1u);
}

TEST(NoPhantomEvent, ReportsAnAppliedEventIdNeverSeenInTheBroker) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  ++history.applied[projection]["e9"];  // applied, with no broker record and no known command
  CheckReport report;
  properties::check_no_phantom_event(history, report);
  ASSERT_TRUE(report.violated("P"));
  const auto& explanation = report.first("P")->explanation;
  EXPECT_NE(explanation.find("event e9"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("command ?"), std::string::npos) << explanation;
  EXPECT_EQ(report.phantom_events, 1u);
}

TEST(NoPhantomEvent, StaysQuietWhenEveryAppliedEventWasCommitted) {
  CheckReport report;
  properties::check_no_phantom_event(clean_history(), report);
  EXPECT_FALSE(report.violated("P"));
  EXPECT_EQ(report.phantom_events, 0u);
}

// --- A ------------------------------------------------------------------------

TEST(AckImpliesDurable, ReportsAnAcknowledgedCommandWhoseChangeIsNotDurable) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  commit(history, 3, "k1", 30);
  history.committed_changes.erase(3);  // acknowledged, then lost (e.g. an asynchronous commit)
  history.commit_lsn.erase(3);
  CheckReport report;
  properties::check_ack_implies_durable(history, report);
  ASSERT_TRUE(report.violated("A"));
  const auto& explanation = report.first("A")->explanation;
  EXPECT_NE(explanation.find("command 3"), std::string::npos) << explanation;
  EXPECT_EQ(report.unacknowledged_durable, 1u);
}

TEST(AckImpliesDurable, DoesNotCountAnUnknownOrFailedOutcomeAsAnAcknowledgement) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  history.commands[2] = models::CommandRecord{.command = 2, .key = "k1", .outcome = models::Outcome::unknown};
  history.commands[3] = models::CommandRecord{.command = 3, .key = "k1", .outcome = models::Outcome::failed};
  CheckReport report;
  properties::check_ack_implies_durable(history, report);
  EXPECT_FALSE(report.violated("A"));
  EXPECT_EQ(report.unacknowledged_durable, 0u);
}

TEST(AckImpliesDurable, StaysQuietWhenEveryAcknowledgedCommandIsDurable) {
  CheckReport report;
  properties::check_ack_implies_durable(clean_history(), report);
  EXPECT_FALSE(report.violated("A"));
  EXPECT_EQ(report.unacknowledged_durable, 0u);
}

// --- ALO ----------------------------------------------------------------------

TEST(AtLeastOnce, ReportsACommittedEventNeverAppended) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  commit(history, 2, "k1", 20);
  CheckReport report;
  properties::check_at_least_once(history, report);
  ASSERT_TRUE(report.violated("ALO"));
  const auto& explanation = report.first("ALO")->explanation;
  EXPECT_NE(explanation.find("event e2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("never appended"), std::string::npos) << explanation;
}

TEST(AtLeastOnce, ReportsAnAppendedEventNeverDeliveredToAGroup) {
  History history = with_groups({projection, billing});
  commit(history, 1, "k1", 10);
  append(history, event(1, "k1"));
  apply(history, projection, event(1, "k1"));
  CheckReport report;
  properties::check_at_least_once(history, report);
  ASSERT_TRUE(report.violated("ALO"));
  const auto& explanation = report.first("ALO")->explanation;
  EXPECT_NE(explanation.find("event e1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("never delivered to group billing"), std::string::npos) << explanation;
}

TEST(AtLeastOnce, StaysQuietWhenEveryEventWasAppendedAndDelivered) {
  CheckReport report;
  properties::check_at_least_once(clean_history(), report);
  EXPECT_FALSE(report.violated("ALO"));
}

// --- EO -----------------------------------------------------------------------

TEST(ExactlyOnceEffect, ReportsAnEventAppliedThreeTimesByOneGroup) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  apply(history, projection, event(1, "k1"));
  apply(history, projection, event(1, "k1"));
  CheckReport report;
  properties::check_exactly_once_effect(history, report);
  ASSERT_TRUE(report.violated("EO"));
  const auto& explanation = report.first("EO")->explanation;
  EXPECT_NE(explanation.find("event e1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("3 times"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("group projection"), std::string::npos) << explanation;
  EXPECT_EQ(report.duplicate_deliveries, 2u);
}

TEST(ExactlyOnceEffect, CountsDuplicateDeliveriesOverEveryGroup) {
  History history = with_groups({projection, billing});
  deliver(history, 1, "k1", 10);
  apply(history, projection, event(1, "k1"));
  apply(history, billing, event(1, "k1"));
  CheckReport report;
  properties::check_exactly_once_effect(history, report);
  ASSERT_TRUE(report.violated("EO"));
  EXPECT_EQ(report.duplicate_deliveries, 2u);
  EXPECT_EQ(report.violations.size(), 1u);  // one violation per invariant, however many duplicates
}

TEST(ExactlyOnceEffect, StaysQuietWhenEachGroupAppliedEachEventOnce) {
  CheckReport report;
  properties::check_exactly_once_effect(clean_history(), report);
  EXPECT_FALSE(report.violated("EO"));
  EXPECT_EQ(report.duplicate_deliveries, 0u);
}

// The service's own database is a state that reflects each command once: a second
// durable order row for one command (a redelivered event applied again) is a
// duplicate effect even when every consumer group applied the event once.
TEST(ExactlyOnceEffect, ReportsACommandThatChangedTheDatabaseTwice) {
  History history = clean_history();
  ++history.change_rows[2];
  CheckReport report;
  properties::check_exactly_once_effect(history, report);
  ASSERT_TRUE(report.violated("EO"));
  const auto& explanation = report.first("EO")->explanation;
  EXPECT_NE(explanation.find("command 2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("2 times"), std::string::npos) << explanation;
  EXPECT_EQ(report.duplicate_deliveries, 0u) << "no group applied an event twice";
}

TEST(ExactlyOnceEffect, StaysQuietWhenEachCommandChangedTheDatabaseOnce) {
  const History history = clean_history();
  ASSERT_EQ(history.change_rows.size(), 3u);
  CheckReport report;
  properties::check_exactly_once_effect(history, report);
  EXPECT_FALSE(report.violated("EO"));
}

// History::from keeps one committed change per command, so it must count the rows
// itself, in the orders table and in the event store alike, or a duplicate vanishes.
TEST(ExactlyOnceEffect, HistoryCountsEveryDurableChangeRowOfACommand) {
  models::Observation observation;
  const auto row = [](std::int64_t id, std::int64_t command) {
    models::Row result;
    result.id = id;
    result.key = "k1";
    result.command = command;
    result.message_id = models::event_id_for(command);
    return result;
  };
  observation.tables[models::tables::orders] = {{1, row(1, 7)}, {2, row(2, 7)}, {3, row(3, 8)}};
  observation.tables[models::tables::events] = {{1, row(1, 9)}};
  const History history = History::from(observation);
  EXPECT_EQ(history.committed_changes.size(), 3u);
  EXPECT_EQ(history.change_rows.at(7), 2u);
  EXPECT_EQ(history.change_rows.at(8), 1u);
  EXPECT_EQ(history.change_rows.at(9), 1u);
  const CheckReport report = properties::check_all(history);
  ASSERT_TRUE(report.violated("EO"));
  EXPECT_NE(report.first("EO")->explanation.find("command 7"), std::string::npos) << report.first("EO")->explanation;
}

// --- ND -----------------------------------------------------------------------

// The node ids of a world, by name, as History::from fills node_names.
constexpr sim::NodeId service_node = 1;
constexpr sim::NodeId other_publisher_node = 2;

models::Event published(const models::Event& base, sim::NodeId publisher) {
  models::Event result = base;
  result.publisher = publisher;
  return result;
}

// A fault window as the world derives it from the fault log and the plan.
models::FaultWindow fault(sim::FaultKind kind, const std::string& node, std::int64_t start_us, std::int64_t end_us) {
  return models::FaultWindow{.kind = kind, .start = sim::Instant{start_us}, .end = sim::Instant{end_us}, .node = node};
}

// Command 1 committed at 1 ms and appended twice: first by `first` at 10 ms, then by
// `second` at 60 ms.
History appended_twice(const models::Event& first, const models::Event& second) {
  History history = with_groups();
  history.node_names = {"", "service", "service-2", "db", "broker", "consumer", "consumer-db"};
  commit(history, 1, "k1", 10);
  history.commit_time[1] = sim::Instant{1'000};
  append(history, published(first, service_node));
  append(history, second.publisher == 0 ? published(second, service_node) : second);
  history.appends[0].appended_at = sim::Instant{10'000};
  history.appends[1].appended_at = sim::Instant{60'000};
  apply(history, projection, first, 0);
  apply(history, projection, second, 1);
  return history;
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateAppendWithNoAllowedCause) {
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  ASSERT_TRUE(report.violated("ND"));
  const auto& explanation = report.first("ND")->explanation;
  EXPECT_NE(explanation.find("event e1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("offset 1"), std::string::npos) << explanation;
  EXPECT_EQ(report.duplicate_appends, 1u);
  EXPECT_EQ(report.unexplained_duplicates, 1u);
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateExplainedByARetry) {
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 2));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
  EXPECT_EQ(report.duplicate_appends, 1u);
  EXPECT_EQ(report.unexplained_duplicates, 0u);
}

TEST(NoUnexplainedDuplicate, DoesNotCountARetryByAnotherIncarnationAsARetry) {
  // Attempt 2 of a publish by the next incarnation says nothing about the first
  // incarnation's append: without a crash in the history, it is unexplained.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 2, 2));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateExplainedByAPublisherCrashBetweenTheAppends) {
  // The relay appended e1, crashed before marking it sent, and its next incarnation
  // published it again on a first attempt: an allowed cause (design.md section 6).
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 2, 1));
  history.fault_windows.push_back(fault(sim::FaultKind::crash, "service", 20'000, 30'000));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
  EXPECT_EQ(report.duplicate_appends, 1u);
  EXPECT_EQ(report.unexplained_duplicates, 0u);
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateExplainedByLostBrokerRepliesWhileTheEventWasInFlight) {
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.fault_windows.push_back(fault(sim::FaultKind::lose_responses, "broker", 5'000, 700'000));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateExplainedByAPartitionCuttingThePublisherFromTheDatabase) {
  // The relay published, then could not mark the row sent: the database was on the
  // other side of a partition.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  models::FaultWindow partition = fault(sim::FaultKind::partition, "", 12'000, 40'000);
  partition.group = {"db", "consumer-db"};
  history.fault_windows.push_back(partition);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateWhenTheOnlyFaultIsOutsideTheWindow) {
  // A publisher crash that ended before the change even committed, and one after the
  // second append, cannot explain it.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.fault_windows.push_back(fault(sim::FaultKind::crash, "service", 100, 900));
  history.fault_windows.push_back(fault(sim::FaultKind::pause, "service", 61'000, 80'000));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
  EXPECT_EQ(report.unexplained_duplicates, 1u);
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateExplainedByADatabaseFailoverInTheWindow) {
  // A failover moves a CDC relay back to the standby's slot copy: it publishes again.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.failovers.push_back(sim::Instant{30'000});
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateWhenTheFailoverCameAfterIt) {
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.failovers.push_back(sim::Instant{70'000});
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, IgnoresPartitionsAgainstNodesTheWorldDoesNotHave) {
  // A partition that keeps the publisher with its broker and database separates it only
  // from nodes it does not call; replicas and a standby this world lacks do not count.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  models::FaultWindow partition = fault(sim::FaultKind::partition, "", 20'000, 30'000);
  partition.group = {"service", "db", "broker"};
  history.fault_windows.push_back(partition);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
  history.node_names.push_back("broker-2");  // with a replica outside the group, it does separate them
  CheckReport replicated;
  properties::check_no_unexplained_duplicate(history, replicated);
  EXPECT_FALSE(replicated.violated("ND"));
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateExplainedByACutBetweenBrokerReplicas) {
  // With acks=all the leader acknowledges only once its followers hold the record: a cut
  // from the leader to a follower holds the acknowledgement back, the publisher's call
  // ends unknown, and it publishes again. A single broker has no such link.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  models::FaultWindow cut = fault(sim::FaultKind::one_way, "broker", 5'000, 400'000);
  cut.peers = {"broker-2"};
  history.fault_windows.push_back(cut);
  CheckReport single;
  properties::check_no_unexplained_duplicate(history, single);
  EXPECT_TRUE(single.violated("ND"));
  history.node_names.push_back("broker-2");
  CheckReport replicated;
  properties::check_no_unexplained_duplicate(history, replicated);
  EXPECT_FALSE(replicated.violated("ND")) << replicated.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateAfterACallOfTheFirstPublisherEndedUnknown) {
  // No fault: the relay's claim renewal waited on a row lock longer than its timeout, it
  // gave up its batch unmarked, and another relay published the events again.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.call_timeouts.push_back(sim::CallTimeout{sim::Instant{20'000}, service_node, 1});
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateWhenTheTimeoutWasAnotherIncarnationsOrOutsideTheWindow) {
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.call_timeouts.push_back(sim::CallTimeout{sim::Instant{20'000}, service_node, 2});  // a later incarnation
  history.call_timeouts.push_back(sim::CallTimeout{sim::Instant{500}, service_node, 1});     // before the commit
  history.call_timeouts.push_back(sim::CallTimeout{sim::Instant{70'000}, service_node, 1});  // after the second append
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateWhenTheOnlyCutIsBetweenTheBrokerAndTheDatabase) {
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  models::FaultWindow cut = fault(sim::FaultKind::one_way, "broker", 5'000, 400'000);
  cut.peers = {"db"};
  history.fault_windows.push_back(cut);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateWhenOnlyAnUnrelatedNodeWasFaulted) {
  // The consumer crashing says nothing about why the publisher appended twice.
  History history = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  history.fault_windows.push_back(fault(sim::FaultKind::crash, "consumer", 20'000, 30'000));
  models::FaultWindow partition = fault(sim::FaultKind::partition, "", 20'000, 30'000);
  partition.group = {"service", "db", "broker"};  // the publisher stays with both its peers
  history.fault_windows.push_back(partition);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, ReportsADuplicateByAnotherPublisherWhileTheFirstWasUnfaulted) {
  // Two relays both took the row: the second appended it while the first one, alive
  // and unfaulted, held it (the unlocked-claim bug).
  History history = appended_twice(event(1, "k1", 1, 1), published(event(1, "k1", 1, 1), other_publisher_node));
  history.fault_windows.push_back(fault(sim::FaultKind::crash, "service-2", 20'000, 30'000));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  ASSERT_TRUE(report.violated("ND"));
  EXPECT_NE(report.first("ND")->explanation.find("by service-2"), std::string::npos) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, AcceptsADuplicateByASecondPublisherWhoseClockWasSkewed) {
  // relay service-2's clock ran ahead: the first relay's lease looked expired to it, so
  // it took the row over and published it again while the first still held it.
  History history = appended_twice(event(1, "k1", 1, 1), published(event(1, "k1", 1, 1), other_publisher_node));
  history.fault_windows.push_back(fault(sim::FaultKind::clock_skew, "service-2", 5'000, 70'000));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
  // Its crash would not do: a restarted publisher must not resubmit rows another owns.
  History crashed = appended_twice(event(1, "k1", 1, 1), published(event(1, "k1", 1, 1), other_publisher_node));
  crashed.fault_windows.push_back(fault(sim::FaultKind::crash, "service-2", 5'000, 70'000));
  CheckReport crashed_report;
  properties::check_no_unexplained_duplicate(crashed, crashed_report);
  EXPECT_TRUE(crashed_report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, StaysQuietWithoutDuplicateAppends) {
  CheckReport report;
  properties::check_no_unexplained_duplicate(clean_history(), report);
  EXPECT_FALSE(report.violated("ND"));
  EXPECT_EQ(report.duplicate_appends, 0u);
  EXPECT_EQ(report.unexplained_duplicates, 0u);
}

// Deliveries: the record of command 1 (partition 0, offset `offset`) handed to the
// projection group's consumer at `time_us`.
void delivered(History& history, std::int64_t offset, std::int64_t time_us, const std::string& consumer = "consumer") {
  history.deliveries.push_back(models::Delivery{.group = projection,
                                                .consumer = consumer,
                                                .incarnation = 1,
                                                .partition = 0,
                                                .offset = offset,
                                                .message_id = "e1",
                                                .command = 1,
                                                .delivered_at = sim::Instant{time_us}});
}

History delivered_once() {
  History history = with_groups();
  history.node_names = {"", "service", "db", "broker", "consumer", "consumer-db"};
  commit(history, 1, "k1", 10);
  append(history, published(event(1, "k1"), service_node));
  apply(history, projection, event(1, "k1"), 0);
  delivered(history, 0, 10'000);
  return history;
}

TEST(NoUnexplainedDuplicate, ReportsARedeliveryAnInboxHidWithNoCause) {
  // Applied once (the inbox dropped the second delivery), yet delivered twice with no
  // fault and no unfinished step: a bug even though the effect is right.
  History history = delivered_once();
  delivered(history, 0, 50'000);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  ASSERT_TRUE(report.violated("ND"));
  const auto& explanation = report.first("ND")->explanation;
  EXPECT_NE(explanation.find("event e1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("partition 0 offset 0"), std::string::npos) << explanation;
  EXPECT_EQ(report.redeliveries, 1u);
  EXPECT_EQ(report.unexplained_duplicates, 1u);
}

TEST(NoUnexplainedDuplicate, AcceptsARedeliveryAfterAConsumerCrashBeforeItsOffsetCommit) {
  History history = delivered_once();
  history.fault_windows.push_back(fault(sim::FaultKind::crash, "consumer", 12'000, 20'000));
  delivered(history, 0, 25'000);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
  EXPECT_EQ(report.redeliveries, 1u);
}

TEST(NoUnexplainedDuplicate, AcceptsARedeliveryAfterAConsumerStepThatEndedUnknown) {
  History history = delivered_once();
  history.unfinished_steps.push_back(models::UnfinishedStep{"consumer", 0, sim::Instant{11'000}});
  delivered(history, 0, 25'000);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, ReportsARedeliveryWhenTheCrashCameAfterTheOffsetCommitCoveredIt) {
  // The group's commit past offset 0 was acknowledged at 15 ms: a consumer crash at
  // 20 ms must not make it read offset 0 again.
  History history = delivered_once();
  history.offset_commits.push_back(
      models::AcknowledgedOffsetCommit{projection, "consumer", 0, 1, sim::Instant{15'000}});
  history.fault_windows.push_back(fault(sim::FaultKind::crash, "consumer", 20'000, 22'000));
  delivered(history, 0, 25'000);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_TRUE(report.violated("ND"));
}

TEST(NoUnexplainedDuplicate, AcceptsARedeliveryAfterTheBrokerLostTheDurableOffsetCommit) {
  History history = delivered_once();
  history.offset_commits.push_back(
      models::AcknowledgedOffsetCommit{projection, "consumer", 0, 1, sim::Instant{15'000}});
  history.fault_windows.push_back(fault(sim::FaultKind::crash_with_disk_loss, "broker", 20'000, 22'000));
  delivered(history, 0, 25'000);
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND")) << report.first("ND")->explanation;
}

TEST(NoUnexplainedDuplicate, JudgesADeliveryOfADuplicateRecordByItsAppend) {
  // Offset 1 holds a second append of e1: explained by a retry, its delivery is too;
  // unexplained, its delivery is as well.
  History retried = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 2));
  delivered(retried, 0, 70'000);
  delivered(retried, 1, 71'000);
  CheckReport explained;
  properties::check_no_unexplained_duplicate(retried, explained);
  EXPECT_FALSE(explained.violated("ND")) << explained.first("ND")->explanation;
  EXPECT_EQ(explained.redeliveries, 1u);

  History doubled = appended_twice(event(1, "k1", 1, 1), event(1, "k1", 1, 1));
  delivered(doubled, 0, 70'000);
  delivered(doubled, 1, 71'000);
  CheckReport unexplained;
  properties::check_no_unexplained_duplicate(doubled, unexplained);
  EXPECT_TRUE(unexplained.violated("ND"));
  EXPECT_EQ(unexplained.unexplained_duplicates, 2u);  // the append and its delivery
}

TEST(NoUnexplainedDuplicate, StaysQuietWhenEachRecordWasDeliveredOnce) {
  History history = delivered_once();
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  EXPECT_FALSE(report.violated("ND"));
  EXPECT_EQ(report.redeliveries, 0u);
}

// --- O ------------------------------------------------------------------------

TEST(PerKeyOrder, ReportsASameKeyEventAppliedBeforeAnEarlierCommittedOne) {
  History history = with_groups();
  commit(history, 1, "k1", 10);
  commit(history, 2, "k1", 20);
  append(history, event(2, "k1"));
  append(history, event(1, "k1"));
  apply(history, projection, event(2, "k1"), 0);
  apply(history, projection, event(1, "k1"), 1);
  CheckReport report;
  properties::check_per_key_order(history, report);
  ASSERT_TRUE(report.violated("O"));
  const auto& explanation = report.first("O")->explanation;
  EXPECT_NE(explanation.find("key k1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("event e1 was applied after e2"), std::string::npos) << explanation;
  EXPECT_EQ(report.out_of_order, 1u);
}

TEST(PerKeyOrder, AcceptsALaterCommittedEventOfAnotherKeyInterleaving) {
  History history = with_groups();
  commit(history, 1, "k1", 10);
  commit(history, 2, "k2", 20);
  commit(history, 3, "k1", 30);
  apply(history, projection, event(2, "k2"));  // k2's later commit is applied first: allowed
  apply(history, projection, event(1, "k1"));
  apply(history, projection, event(3, "k1"));
  CheckReport report;
  properties::check_per_key_order(history, report);
  EXPECT_FALSE(report.violated("O")) << report.first("O")->explanation;
  EXPECT_EQ(report.out_of_order, 0u);
}

TEST(PerKeyOrder, IgnoresARedeliveryOfAnEventAlreadyApplied) {
  History history = with_groups();
  commit(history, 1, "k1", 10);
  commit(history, 2, "k1", 20);
  apply(history, projection, event(1, "k1"));
  apply(history, projection, event(2, "k1"));
  apply(history, projection, event(1, "k1"));  // a redelivery: EO's business, not O's
  CheckReport report;
  properties::check_per_key_order(history, report);
  EXPECT_FALSE(report.violated("O")) << report.first("O")->explanation;
  EXPECT_EQ(report.out_of_order, 0u);
}

TEST(PerKeyOrder, JudgesEachGroupSeparately) {
  History history = with_groups({projection, billing});
  commit(history, 1, "k1", 10);
  commit(history, 2, "k1", 20);
  apply(history, projection, event(1, "k1"));
  apply(history, billing, event(2, "k1"));
  apply(history, projection, event(2, "k1"));
  apply(history, billing, event(1, "k1"));  // billing is out of order, projection is not
  CheckReport report;
  properties::check_per_key_order(history, report);
  ASSERT_TRUE(report.violated("O"));
  EXPECT_EQ(report.out_of_order, 1u);
}

TEST(PerKeyOrder, StaysQuietWhenEveryKeyIsAppliedInCommitOrder) {
  CheckReport report;
  properties::check_per_key_order(clean_history(), report);
  EXPECT_FALSE(report.violated("O"));
  EXPECT_EQ(report.out_of_order, 0u);
}

// --- V ------------------------------------------------------------------------

TEST(StreamIntegrity, ReportsAGapInAStreamsVersions) {
  History history = with_groups();
  history.stream_versions["s1"] = {1, 2};
  history.stream_versions["s2"] = {1, 3};
  CheckReport report;
  properties::check_stream_integrity(history, report);
  ASSERT_TRUE(report.violated("V"));
  const auto& explanation = report.first("V")->explanation;
  EXPECT_NE(explanation.find("stream s2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("version 2 expected, found 3"), std::string::npos) << explanation;
  EXPECT_EQ(explanation.find("twice"), std::string::npos) << explanation;
}

TEST(StreamIntegrity, ReportsADuplicateVersionInAStream) {
  History history = with_groups();
  history.stream_versions["s1"] = {1, 1};
  CheckReport report;
  properties::check_stream_integrity(history, report);
  ASSERT_TRUE(report.violated("V"));
  const auto& explanation = report.first("V")->explanation;
  EXPECT_NE(explanation.find("stream s1"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("version 2 expected, found 1 twice"), std::string::npos) << explanation;
}

TEST(StreamIntegrity, ReportsAStreamThatDoesNotStartAtVersionOne) {
  History history = with_groups();
  history.stream_versions["s1"] = {2, 3};
  CheckReport report;
  properties::check_stream_integrity(history, report);
  ASSERT_TRUE(report.violated("V"));
  EXPECT_NE(report.first("V")->explanation.find("version 1 expected, found 2"), std::string::npos)
      << report.first("V")->explanation;
}

TEST(StreamIntegrity, StaysQuietOnContiguousVersionsInAnyIdOrder) {
  History history = with_groups();
  history.stream_versions["s1"] = {1, 2, 3};
  history.stream_versions["s2"] = {2, 1};
  CheckReport report;
  properties::check_stream_integrity(history, report);
  EXPECT_FALSE(report.violated("V")) << report.first("V")->explanation;
}

// --- E ------------------------------------------------------------------------

TEST(EventualDelivery, ReportsEventsStillPendingWhenTheRunDidNotDrain) {
  History history = with_groups();
  history.drained = false;
  deliver(history, 1, "k1", 10);
  commit(history, 2, "k1", 20);
  append(history, event(2, "k1"));  // in the broker, never applied
  commit(history, 3, "k2", 30);     // never published
  history.pending_at_bound = {2, 3};
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  ASSERT_TRUE(report.violated("E"));
  const auto& explanation = report.first("E")->explanation;
  EXPECT_NE(explanation.find("event e2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("in the broker, not applied by group projection"), std::string::npos) << explanation;
  EXPECT_EQ(report.pending_at_bound, 2u);
}

TEST(EventualDelivery, NamesAnEventThatWasNeverPublished) {
  History history = with_groups();
  history.drained = false;
  commit(history, 4, "k1", 40);
  history.pending_at_bound = {4};
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  ASSERT_TRUE(report.violated("E"));
  const auto& explanation = report.first("E")->explanation;
  EXPECT_NE(explanation.find("event e4"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("never published"), std::string::npos) << explanation;
  EXPECT_EQ(report.pending_at_bound, 1u);
}

TEST(EventualDelivery, SaysWhereAnEventInTheBrokerIsStuck) {
  // Appended at partition 2 offset 0 and never fetched: the report names the log, the
  // offset and the group's last acknowledged progress on that partition.
  History history = with_groups();
  history.drained = false;
  commit(history, 2, "k1", 20);
  append(history, event(2, "k1"));
  history.log_of_event["e2"] = "log/orders/2";
  history.offset_commits.push_back(
      models::AcknowledgedOffsetCommit{projection, "consumer", 2, 0, sim::Instant{30'000}});
  history.pending_at_bound = {2};
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  ASSERT_TRUE(report.violated("E"));
  const auto& explanation = report.first("E")->explanation;
  EXPECT_NE(explanation.find("appended to log/orders/2 at offset 0"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("never fetched by the group (last acknowledged offset 0"), std::string::npos)
      << explanation;
}

TEST(EventualDelivery, SaysWhenAnEventWasFetchedButNeverApplied) {
  History history = with_groups();
  history.drained = false;
  commit(history, 2, "k1", 20);
  append(history, event(2, "k1"));
  history.deliveries.push_back(models::Delivery{.group = projection,
                                                .consumer = "consumer-2",
                                                .incarnation = 3,
                                                .message_id = "e2",
                                                .command = 2,
                                                .delivered_at = sim::Instant{40'000}});
  history.pending_at_bound = {2};
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  ASSERT_TRUE(report.violated("E"));
  const auto& explanation = report.first("E")->explanation;
  EXPECT_NE(explanation.find("fetched by consumer-2 (incarnation 3) at 40000 us but never durably applied"),
            std::string::npos)
      << explanation;
}

TEST(EventualDelivery, StaysQuietWhenTheRunDrained) {
  History history = clean_history();
  history.drained = true;
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  EXPECT_FALSE(report.violated("E"));
  EXPECT_EQ(report.pending_at_bound, 0u);
}

TEST(EventualDelivery, StaysQuietWhenNothingIsPendingEvenIfTheFlagSaysNotDrained) {
  History history = clean_history();
  history.drained = false;
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  EXPECT_FALSE(report.violated("E"));
  EXPECT_EQ(report.pending_at_bound, 0u);
}

TEST(EventualDelivery, TellsALateEventFromALostOne) {
  // Both were pending at the bound; the run waited longer, and one of them came.
  History history = with_groups();
  history.drained = false;
  history.bound_end = sim::Instant{5'000'000};
  commit(history, 2, "k1", 20);
  commit(history, 3, "k2", 30);
  append(history, event(2, "k1"));
  history.effects.push_back(models::AppliedEffect{.group = projection,
                                                  .event = event(2, "k1"),
                                                  .partition = 0,
                                                  .offset = 0,
                                                  .applied_at = sim::Instant{7'000'000}});
  history.applied[projection]["e2"] = 1;
  history.pending_at_bound = {2, 3};
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  properties::check_no_lost_event(history, report);
  ASSERT_TRUE(report.violated("E"));
  EXPECT_EQ(report.pending_at_bound, 2u);
  EXPECT_EQ(report.late_events, 1u);
  const auto& late = report.first("E")->explanation;
  EXPECT_NE(late.find("event e2 was late: group projection applied it at 7000000 us"), std::string::npos) << late;
  ASSERT_TRUE(report.violated("L"));
  EXPECT_EQ(report.lost_events, 1u);
  const auto& lost = report.first("L")->explanation;
  EXPECT_NE(lost.find("event e3"), std::string::npos) << lost;
  EXPECT_NE(lost.find("within ten times the liveness bound"), std::string::npos) << lost;
}

TEST(EventualDelivery, DoesNotCallALateEventLost) {
  History history = with_groups();
  history.drained = false;
  commit(history, 2, "k1", 20);
  deliver(history, 2, "k1", 0);
  history.pending_at_bound = {2};
  CheckReport report;
  properties::check_no_lost_event(history, report);
  EXPECT_FALSE(report.violated("L")) << report.first("L")->explanation;
}

// --- W ------------------------------------------------------------------------

// A command the client issued after every fault had healed, and how it ended.
void issue_after_heal(History& history, std::int64_t command, models::Outcome outcome, sim::Instant completed,
                      bool answered = true) {
  models::CommandRecord record;
  record.command = command;
  record.key = "k1";
  record.outcome = outcome;
  record.invoked = sim::Instant{600'000};
  record.completed = completed;
  record.answered = answered;
  record.phase = models::CommandPhase::after_heal;
  history.commands.emplace(command, record);
}

TEST(WritesResume, ReportsACommandAfterTheHealThatFailed) {
  History history = clean_history();
  history.safety_end = sim::Instant{500'000};
  history.bound_end = sim::Instant{5'500'000};
  issue_after_heal(history, 101, models::Outcome::failed, sim::Instant{5'400'000});
  CheckReport report;
  properties::check_writes_resume(history, report);
  ASSERT_TRUE(report.violated("W"));
  EXPECT_EQ(report.unacknowledged_after_heal, 1u);
  const auto& explanation = report.first("W")->explanation;
  EXPECT_NE(explanation.find("command 101, issued at 600000 us after every fault had healed (at 500000 us)"),
            std::string::npos)
      << explanation;
  EXPECT_NE(explanation.find("it failed at 5400000 us"), std::string::npos) << explanation;
}

TEST(WritesResume, ReportsACommandWithNoAnswerOrAnAnswerAfterTheBound) {
  History history = clean_history();
  history.bound_end = sim::Instant{5'500'000};
  issue_after_heal(history, 101, models::Outcome::unknown, sim::Instant{1'100'000}, false);
  issue_after_heal(history, 102, models::Outcome::ok, sim::Instant{5'600'000});
  CheckReport report;
  properties::check_writes_resume(history, report);
  ASSERT_TRUE(report.violated("W"));
  EXPECT_EQ(report.unacknowledged_after_heal, 2u);
  const auto& explanation = report.first("W")->explanation;
  EXPECT_NE(explanation.find("no answer by 1100000 us (the client's timeout)"), std::string::npos) << explanation;
}

TEST(WritesResume, IgnoresFailuresOfTheWorkloadUnderFaults) {
  History history = clean_history();
  history.bound_end = sim::Instant{5'500'000};
  commit(history, 7, "k2", 70, models::Outcome::failed);
  issue_after_heal(history, 101, models::Outcome::ok, sim::Instant{700'000});
  CheckReport report;
  properties::check_writes_resume(history, report);
  EXPECT_FALSE(report.violated("W")) << report.first("W")->explanation;
}

// --- Identity -----------------------------------------------------------------
// An event is known by the change it announces, never by its message id: one change
// published under two message ids (a relay that draws a new id per attempt) is one
// announced event to every checker, and a change may announce several events.

models::Event under_message_id(models::Event base, const std::string& message_id) {
  base.message_id = message_id;
  return base;
}

models::Event event_of_change(std::int64_t command, const std::string& key, std::uint32_t index, std::uint32_t events) {
  models::Event result = event(command, key);
  result.index_in_change = index;
  result.events_in_change = events;
  result.message_id = "m" + std::to_string(command) + "-" + std::to_string(index);
  return result;
}

TEST(Identity, NoLostEventIsSatisfiedByTheEventUnderEitherMessageId) {
  History history = with_groups();
  commit(history, 1, "k1", 10);
  append(history, under_message_id(event(1, "k1"), "m-first"));
  append(history, under_message_id(event(1, "k1"), "m-second"));
  apply(history, projection, under_message_id(event(1, "k1"), "m-second"));
  CheckReport report;
  properties::check_no_lost_event(history, report);
  EXPECT_FALSE(report.violated("L")) << report.first("L")->explanation;
  EXPECT_EQ(report.lost_events, 0u);
}

TEST(Identity, ExactlyOnceCatchesOneChangeAppliedUnderTwoMessageIds) {
  // An inbox deduplicates by message id, so it lets the second one through: the
  // projection then holds the change twice.
  History history = with_groups();
  commit(history, 1, "k1", 10);
  append(history, under_message_id(event(1, "k1"), "m-first"));
  append(history, under_message_id(event(1, "k1"), "m-second"));
  apply(history, projection, under_message_id(event(1, "k1"), "m-first"), 0);
  apply(history, projection, under_message_id(event(1, "k1"), "m-second"), 1);
  CheckReport report;
  properties::check_exactly_once_effect(history, report);
  ASSERT_TRUE(report.violated("EO"));
  const auto& explanation = report.first("EO")->explanation;
  EXPECT_NE(explanation.find("event e1 was applied 2 times by group projection"), std::string::npos) << explanation;
  EXPECT_EQ(report.duplicate_deliveries, 1u);
}

TEST(Identity, NoPhantomJudgesTheAnnouncedChangeNotTheMessageId) {
  // Command 2's event travels under a message id that reads like command 1's announced
  // id; command 2 never committed.
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  append(history, under_message_id(event(2, "k1"), "e1"));
  apply(history, projection, under_message_id(event(2, "k1"), "e1"));
  CheckReport report;
  properties::check_no_phantom_event(history, report);
  ASSERT_TRUE(report.violated("P"));
  const auto& explanation = report.first("P")->explanation;
  EXPECT_NE(explanation.find("event e2"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("command 2"), std::string::npos) << explanation;
  EXPECT_EQ(report.phantom_events, 1u);
}

TEST(Identity, NoPhantomJudgesTheBrokerLogAsWellAsApplications) {
  History history = with_groups();
  deliver(history, 1, "k1", 10);
  append(history, under_message_id(event(2, "k1"), "m-orphan"));  // durable, never applied, never committed
  CheckReport report;
  properties::check_no_phantom_event(history, report);
  ASSERT_TRUE(report.violated("P"));
  const auto& explanation = report.first("P")->explanation;
  EXPECT_NE(explanation.find("event e2 is durably in the broker"), std::string::npos) << explanation;
  EXPECT_NE(explanation.find("command 2"), std::string::npos) << explanation;
  EXPECT_EQ(report.phantom_events, 1u);
}

TEST(Identity, NoUnexplainedDuplicateSeesTheSameChangeUnderANewMessageIdAsASecondAppend) {
  History history =
      appended_twice(under_message_id(event(1, "k1"), "m-first"), under_message_id(event(1, "k1"), "m-second"));
  CheckReport report;
  properties::check_no_unexplained_duplicate(history, report);
  ASSERT_TRUE(report.violated("ND"));
  const auto& explanation = report.first("ND")->explanation;
  EXPECT_NE(explanation.find("event e1 was appended again"), std::string::npos) << explanation;
  EXPECT_EQ(report.duplicate_appends, 1u);
}

TEST(Identity, PerKeyOrderJudgesTheEventsOfOneChangeByTheirIndex) {
  History history = with_groups();
  commit(history, 1, "k1", 10);
  history.events_of_change[1] = 2;
  apply(history, projection, event_of_change(1, "k1", 2, 2));
  apply(history, projection, event_of_change(1, "k1", 1, 2));
  CheckReport report;
  properties::check_per_key_order(history, report);
  ASSERT_TRUE(report.violated("O"));
  const auto& explanation = report.first("O")->explanation;
  EXPECT_NE(explanation.find("event e1.1 was applied after e1.2"), std::string::npos) << explanation;
}

TEST(Identity, EventualDeliveryFindsTheLateEventUnderAnotherMessageId) {
  History history = with_groups();
  history.drained = false;
  history.bound_end = sim::Instant{5'000'000};
  commit(history, 1, "k1", 10);
  append(history, under_message_id(event(1, "k1"), "m-first"));
  apply(history, projection, under_message_id(event(1, "k1"), "m-second"));
  history.effects.back().applied_at = sim::Instant{6'000'000};
  history.pending_at_bound = {1};
  CheckReport report;
  properties::check_eventual_delivery(history, report);
  ASSERT_TRUE(report.violated("E"));
  EXPECT_NE(report.first("E")->explanation.find("event e1 was late"), std::string::npos)
      << report.first("E")->explanation;
  EXPECT_EQ(report.late_events, 1u);
}

// Command 1's change announces three events; the second never reached the broker.
History second_of_three_never_applied() {
  History history = with_groups();
  commit(history, 1, "k1", 10);
  history.events_of_change[1] = 3;
  for (const std::uint32_t index : {1u, 3u}) {
    append(history, event_of_change(1, "k1", index, 3));
    apply(history, projection, event_of_change(1, "k1", index, 3));
  }
  return history;
}

TEST(Identity, NoLostEventNamesEachMissingEventOfAChangeThatAnnouncesSeveral) {
  const History history = second_of_three_never_applied();
  CheckReport report;
  properties::check_no_lost_event(history, report);
  ASSERT_TRUE(report.violated("L"));
  const auto& explanation = report.first("L")->explanation;
  EXPECT_NE(explanation.find("event e1.2 was never applied"), std::string::npos) << explanation;
  EXPECT_EQ(report.lost_events, 1u);
}

TEST(Identity, AViolationCarriesWhatItIsAboutInTypedFields) {
  const History history = second_of_three_never_applied();
  CheckReport lost;
  properties::check_no_lost_event(history, lost);
  ASSERT_TRUE(lost.violated("L"));
  const properties::Violation& violation = *lost.first("L");
  EXPECT_EQ(violation.command, 1);
  EXPECT_EQ(violation.event, "e1.2");
  EXPECT_EQ(violation.index_in_change, 2u);
  EXPECT_EQ(violation.events_in_change, 3u);
  const std::string story = properties::story_from_trace({}, lost);
  EXPECT_NE(story.find("command 1's change, event 2 of 3"), std::string::npos) << story;

  CheckReport duplicates;
  properties::check_no_unexplained_duplicate(
      appended_twice(under_message_id(event(1, "k1"), "m-first"), under_message_id(event(1, "k1"), "m-second")),
      duplicates);
  ASSERT_TRUE(duplicates.violated("ND"));
  const properties::Violation& duplicate = *duplicates.first("ND");
  EXPECT_EQ(duplicate.event, "e1");
  EXPECT_EQ(duplicate.message_id, "m-second");
  EXPECT_EQ(duplicate.node, "service");
  ASSERT_TRUE(duplicate.time.has_value());
  EXPECT_EQ(duplicate.time->ticks, 60'000);
}

TEST(Identity, ALostEventSaysItsOutboxRowWasMarkedSentButNeverAppended) {
  History history = with_groups();
  history.drained = false;
  commit(history, 1, "k1", 10);
  history.outbox_marks.push_back(
      models::OutboxMark{.row = 7, .command = 1, .message_id = "m-seven", .marked_at = sim::Instant{30'000}});
  history.pending_at_bound = {1};
  CheckReport lost;
  properties::check_no_lost_event(history, lost);
  ASSERT_TRUE(lost.violated("L"));
  EXPECT_NE(lost.first("L")->explanation.find("outbox row 7 (message m-seven) was marked sent at 30000 us"),
            std::string::npos)
      << lost.first("L")->explanation;
  CheckReport pending;
  properties::check_eventual_delivery(history, pending);
  ASSERT_TRUE(pending.violated("E"));
  EXPECT_NE(pending.first("E")->explanation.find("was marked sent at 30000 us, never appended to the broker"),
            std::string::npos)
      << pending.first("E")->explanation;
}

TEST(Identity, ALostEventSaysTheCdcSlotWasConfirmedPastItsCommit) {
  History history = with_groups();
  history.drained = false;
  commit(history, 1, "k1", 10);
  history.slot_confirmations.push_back(models::SlotConfirmation{.slot = "outbox", .confirmed_lsn = 4});
  history.slot_confirmations.push_back(
      models::SlotConfirmation{.slot = "outbox", .confirmed_lsn = 12, .at = sim::Instant{40'000}});
  history.pending_at_bound = {1};
  CheckReport lost;
  properties::check_no_lost_event(history, lost);
  ASSERT_TRUE(lost.violated("L"));
  EXPECT_NE(lost.first("L")->explanation.find(
                "never reached the broker: slot outbox confirmed lsn 12 at 40000 us, which covers its commit (lsn 10)"),
            std::string::npos)
      << lost.first("L")->explanation;
  CheckReport pending;
  properties::check_eventual_delivery(history, pending);
  ASSERT_TRUE(pending.violated("E"));
  EXPECT_NE(pending.first("E")->explanation.find("which covers its commit (lsn 10), never appended to the broker"),
            std::string::npos)
      << pending.first("E")->explanation;

  // A confirmation below the commit says nothing about the change.
  history.slot_confirmations.pop_back();
  CheckReport below;
  properties::check_no_lost_event(history, below);
  ASSERT_TRUE(below.violated("L"));
  EXPECT_EQ(below.first("L")->explanation.find("slot"), std::string::npos) << below.first("L")->explanation;
}

TEST(Identity, ALostEventSaysItsAcknowledgedAppendWasTruncatedByANewLeader) {
  History history = with_groups();
  history.drained = false;
  commit(history, 1, "k1", 10);
  history.acknowledged_appends.push_back(models::AcknowledgedAppend{.replica = "broker-2",
                                                                    .partition = 1,
                                                                    .offset = 4,
                                                                    .event = event(1, "k1"),
                                                                    .acknowledged_at = sim::Instant{31'000}});
  history.truncations.push_back(models::Truncation{.replica = "broker-2",
                                                   .partition = 1,
                                                   .from_offset = 3,
                                                   .dropped = 2,
                                                   .leader = "broker-3",
                                                   .at = sim::Instant{238'000}});
  history.pending_at_bound = {1};
  CheckReport lost;
  properties::check_no_lost_event(history, lost);
  ASSERT_TRUE(lost.violated("L"));
  EXPECT_NE(lost.first("L")->explanation.find("acknowledged by broker-2 at 31000 us, truncated at 238000 us when "
                                              "broker-3 became leader"),
            std::string::npos)
      << lost.first("L")->explanation;
  CheckReport pending;
  properties::check_eventual_delivery(history, pending);
  ASSERT_TRUE(pending.violated("E"));
  EXPECT_NE(pending.first("E")->explanation.find("truncated at 238000 us when broker-3 became leader"),
            std::string::npos)
      << pending.first("E")->explanation;
}

// --- all ----------------------------------------------------------------------

TEST(CheckAll, ReportsNothingOnACleanHistory) {
  const CheckReport report = properties::check_all(clean_history());
  for (const auto& violation : report.violations) ADD_FAILURE() << violation.invariant << ": " << violation.explanation;
  EXPECT_TRUE(report.violations.empty());
  EXPECT_EQ(report.lost_events, 0u);
  EXPECT_EQ(report.phantom_events, 0u);
  EXPECT_EQ(report.unacknowledged_durable, 0u);
  EXPECT_EQ(report.duplicate_deliveries, 0u);
  EXPECT_EQ(report.duplicate_appends, 0u);
  EXPECT_EQ(report.unexplained_duplicates, 0u);
  EXPECT_EQ(report.out_of_order, 0u);
  EXPECT_EQ(report.pending_at_bound, 0u);
}

}  // namespace
}  // namespace faultline
