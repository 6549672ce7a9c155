#!/usr/bin/env bash
# Installs the Debian 12 packages chatkpi builds and tests with, skipping
# those already present (so it is quick on a prepared machine). Run as root.
set -euo pipefail
packages=(cmake g++ make pkg-config librdkafka-dev librocksdb-dev liblz4-dev libsimdjson-dev
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev libtomlplusplus-dev kcat
  tzdata python3-yaml)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
