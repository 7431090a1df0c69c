// How much work one run did, measured from its history: commands issued and how the
// client saw them end, changes committed, events appended and applied. A verdict of
// "holds" means little over runs that did nothing, so every report carries these.
#pragma once

#include "faultline/properties/history.h"
#include "faultline/reports/result.h"

namespace faultline::properties {

results::WorkloadFigures measure_workload(const History& history);

}  // namespace faultline::properties
