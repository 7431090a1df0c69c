# shellcheck shell=bash
# The steps scripts/run and scripts/test share: install missing packages, configure a
# preset once, rebuild it incrementally. Sourced, never run; the caller has already set
# `set -euo pipefail` and defined faultline_root (the repository root).
#
# Everything this file prints goes to stderr, so the stdout of scripts/run is faultline's
# own output and can be piped.

: "${faultline_root:?scripts/build-common.sh is sourced after faultline_root is set}"

faultline_log() {
  echo "faultline: $*" >&2
}

# True when the build directory of the preset has no usable build system: never
# configured, a configure that failed before generating (CMakeCache.txt is written even
# then), or presets edited since the last configure. Otherwise the build step is enough,
# because it re-runs CMake by itself whenever a CMakeLists.txt changes.
faultline_needs_configure() {
  local binary_dir="${faultline_root}/build/$1"
  [[ -f "${binary_dir}/CMakeCache.txt" ]] || return 0
  [[ -f "${binary_dir}/Makefile" || -f "${binary_dir}/build.ninja" ]] || return 0
  [[ "${faultline_root}/CMakePresets.json" -nt "${binary_dir}/CMakeCache.txt" ]] && return 0
  return 1
}

# Installs missing Debian packages (or, when not root, prints the apt-get line and stops
# the calling script with deps.sh's exit code), then configures if needed and builds.
faultline_prepare() {
  local preset=$1
  "${faultline_root}/scripts/deps.sh"
  if faultline_needs_configure "${preset}"; then
    faultline_log "configuring (${preset})..."
    cmake --preset "${preset}" >&2
  fi
  faultline_log "building (${preset})..."
  cmake --build --preset "${preset}" >&2
}
