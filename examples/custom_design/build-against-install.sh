#!/usr/bin/env bash
# Builds this example against an installed faultline, the way a user would, and runs it.
#
#   examples/custom_design/build-against-install.sh BUILD_DIR
#
# BUILD_DIR is an already built faultline build tree (e.g. build/release). The script
# installs it into a fresh temporary prefix, configures and builds the example with
# CMAKE_PREFIX_PATH pointing there (nothing is downloaded), then checks that
#   1. `my-faultline list` shows our design next to the built-in ones,
#   2. `my-faultline run --design dual-write-with-retries --seeds 20` meets every
#      expectation (exit code 0) and writes its JSON report,
#   3. the example's property test passes.
# The temporary directory is removed on exit. Environment: CMAKE (default cmake), CXX
# (the compiler; default CMake's choice), JOBS (default 2), KEEP_WORK=1 keeps the
# temporary directory for inspection.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 FAULTLINE_BUILD_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
example_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmake_command=${CMAKE:-cmake}
jobs=${JOBS:-2}
design=dual-write-with-retries

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-example.XXXXXX")
cleanup() {
  if [[ ${KEEP_WORK:-0} == 1 ]]; then
    echo "kept $work_dir"
  else
    rm -rf "$work_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
prefix=$work_dir/prefix
example_build=$work_dir/build

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step "install $build_dir into $prefix"
"$cmake_command" --install "$build_dir" --prefix "$prefix" >"$work_dir/install.log" ||
  { cat "$work_dir/install.log"; fail "cmake --install failed"; }
config=$(find "$prefix" -name faultlineConfig.cmake -print -quit)
[[ -n $config ]] || fail "no faultlineConfig.cmake under $prefix"
echo "installed: $(grep -c '^-- Installing' "$work_dir/install.log") files; package config: ${config#"$prefix"/}"

step "configure the example against the installed package"
# Assertions stay on, as in faultline itself: Release without -DNDEBUG.
configure_args=(-S "$example_dir" -B "$example_build" -DCMAKE_PREFIX_PATH="$prefix"
  -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if [[ -n ${CXX:-} ]]; then configure_args+=(-DCMAKE_CXX_COMPILER="$CXX"); fi
"$cmake_command" "${configure_args[@]}"
found_dir=$(sed -n 's/^faultline_DIR:PATH=//p' "$example_build/CMakeCache.txt")
[[ $found_dir == "$prefix"/* ]] || fail "found faultline in '$found_dir', not in the temporary prefix"

step "build the example (this compiles a small project: it takes a while)"
"$cmake_command" --build "$example_build" -j "$jobs"

command=$example_build/my-faultline
step "my-faultline list"
"$command" list | tee "$work_dir/list.txt"
for name in "$design" dual-write-db-first outbox-polling; do
  grep -Eq "^  $name " "$work_dir/list.txt" || fail "'$name' is not listed"
done

step "my-faultline run --design $design --seeds 20"
"$command" run --design "$design" --seeds 20 --report "$work_dir/r.json" ||
  fail "run exited with $? (an expectation failed)"
[[ -s $work_dir/r.json ]] || fail "no report written"
grep -q "\"$design\"" "$work_dir/r.json" || fail "the report does not mention $design"

step "the example's property test"
"$example_build/my-design-tests" --gtest_color=no

printf '\nPASS: the example builds against the installed faultline, lists and runs %s, and its property test passes\n' \
  "$design"
