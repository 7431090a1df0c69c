// Delivery figures of one run, measured from its history for the report's
// distributions: how long each event took to reach each consumer group (commit of the
// change to first durable application) and how many times each was delivered and
// applied. They are measurements, not verdicts: the checkers judge, these count.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "faultline/properties/history.h"

namespace faultline::properties {

struct DeliveryFigures {
  // One lag per (event, group) whose change committed durably and whose event the group
  // applied, in microseconds of simulated time, in (group, event id) order.
  std::vector<std::int64_t> lags_us;
  std::map<std::uint64_t, std::uint64_t> deliveries;  // deliveries of one event to one group -> pairs
  std::uint64_t applied_more_than_once = 0;           // (event, group) pairs applied twice or more
};

DeliveryFigures measure_deliveries(const History& history);

}  // namespace faultline::properties
