// The faultline command with the built-in designs and ours: `list`, `run` and
// `replay` work on dual-write-with-retries exactly as on the built-in designs.
#include "dual_write_with_retries.h"
#include "faultline/app/cli.h"

int main(int argc, char** argv) {
  faultline::models::DesignRegistry designs = faultline::models::builtin_designs();
  designs.add(my_designs::make_dual_write_with_retries());
  return faultline::app::run_cli(argc, argv, designs);
}
