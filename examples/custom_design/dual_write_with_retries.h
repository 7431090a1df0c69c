// A design of our own, outside the faultline source tree: dual write with the
// database first and a retry loop around the publish. See the .cpp for why it still
// loses events.
#pragma once

#include <memory>

#include "faultline/models/design.h"

namespace my_designs {

std::shared_ptr<const faultline::models::Design> make_dual_write_with_retries();

}  // namespace my_designs
