// The faultline command as a library entry point, so a user's own executable can
// register its designs and get the same command:
//
//   int main(int argc, char** argv) {
//     auto designs = faultline::models::builtin_designs();
//     designs.add(std::make_shared<MyDesign>());
//     return faultline::app::run_cli(argc, argv, designs);
//   }
//
// Exit codes: 0 every expectation held; 1 an expectation failed (a claimed invariant
// violated, or a positive control not caught); 2 usage or input error, or an output
// (a file, or stdout) that could not be written; 3 nondeterminism or internal error.
#pragma once

#include "faultline/models/design.h"

namespace faultline::app {

int run_cli(int argc, char** argv, const models::DesignRegistry& designs);

}  // namespace faultline::app
