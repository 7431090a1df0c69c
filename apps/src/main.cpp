// The faultline command with the built-in designs.
#include "faultline/app/cli.h"

int main(int argc, char** argv) {
  return faultline::app::run_cli(argc, argv, faultline::models::builtin_designs());
}
