#!/usr/bin/env bash
# Runs the kernel ping-pong benchmark against its hand-written floor: both
# executables, alternately, 5 times each, with N = 10,000,000 wake-ups and
# P = 1,024 processes. Every run must print the reference checksum (the same work
# was done); then prints each one's median events/s and the ratio kernel / floor.
# Builds nothing: pass the build directory that holds bench/ (a Release build).
#
#   bench/run-kernel-bench.sh build/release
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$1
wakeups=10000000
processes=1024
expected_checksum=68273e7d6f7ac2b5
runs=5

kernel="${build_dir}/bench/kernel-pingpong"
floor="${build_dir}/bench/kernel-pingpong-floor"
for executable in "${kernel}" "${floor}"; do
  if [[ ! -x "${executable}" ]]; then
    echo "error: ${executable} not found; build the kernel-pingpong and kernel-pingpong-floor targets first" >&2
    exit 1
  fi
done

# Runs one executable once; prints its events/s, or fails on a wrong checksum.
run_once() {
  local executable=$1 output checksum rate
  output=$("${executable}" "${wakeups}" "${processes}")
  checksum=$(sed -n 's/^checksum: //p' <<<"${output}")
  rate=$(sed -n 's/^events_per_second: //p' <<<"${output}")
  if [[ "${checksum}" != "${expected_checksum}" ]]; then
    echo "error: $(basename "${executable}") printed checksum '${checksum}', expected ${expected_checksum}" >&2
    return 1
  fi
  if [[ ! "${rate}" =~ ^[0-9]+$ ]]; then
    echo "error: $(basename "${executable}") printed no events_per_second" >&2
    return 1
  fi
  echo "${rate}"
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{ values[NR] = $1 } END {
    if (NR % 2 == 1) print values[(NR + 1) / 2]; else printf "%.0f\n", (values[NR / 2] + values[NR / 2 + 1]) / 2 }'
}

echo "kernel ping-pong: N=${wakeups} P=${processes}, ${runs} alternating runs each, expected checksum ${expected_checksum}"
kernel_rates=()
floor_rates=()
for ((run = 1; run <= runs; ++run)); do
  kernel_rate=$(run_once "${kernel}") || exit 1
  floor_rate=$(run_once "${floor}") || exit 1
  kernel_rates+=("${kernel_rate}")
  floor_rates+=("${floor_rate}")
  echo "run ${run}: kernel-pingpong ${kernel_rate} events/s, kernel-pingpong-floor ${floor_rate} events/s"
done

kernel_median=$(median "${kernel_rates[@]}")
floor_median=$(median "${floor_rates[@]}")
echo "checksums: all ${expected_checksum}"
echo "kernel-pingpong median: ${kernel_median} events/s"
echo "kernel-pingpong-floor median: ${floor_median} events/s"
awk -v kernel="${kernel_median}" -v floor="${floor_median}" 'BEGIN { printf "ratio kernel/floor: %.3f\n", kernel / floor }'
