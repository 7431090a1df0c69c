#!/usr/bin/env bash
# Installs the Debian packages faultline builds with, when they are missing.
# As root it runs apt-get itself; otherwise it prints the exact command and stops,
# so nothing is installed behind the user's back.
set -euo pipefail

packages=(
  build-essential cmake g++ pkg-config
  libboost1.81-dev librapidcheck-dev libgtest-dev libgmock-dev nlohmann-json3-dev
  libcli11-dev libfmt-dev libbenchmark-dev
  libjemalloc-dev  # the faultline command's allocator (a run allocates many small objects)
  python3-jsonschema
  util-linux  # setpriv: as root, the command tests run the permission cases as an ordinary user
  chromium  # the timeline page's browser test (tests/reports/timeline_browser_test.py)
)
if [[ "${FAULTLINE_EXTRA_PACKAGES:-}" != "" ]]; then
  read -r -a extra <<<"${FAULTLINE_EXTRA_PACKAGES}"
  packages+=("${extra[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null || true)
  [[ "${status}" == "install ok installed" ]] || missing+=("${package}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

command_line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "faultline needs these Debian packages: ${missing[*]}" >&2
  echo "run as root: apt-get update && ${command_line}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
