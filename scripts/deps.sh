#!/usr/bin/env bash
# Installs the Debian 12 packages libjobq needs, and only those missing.
#   scripts/deps.sh build   compiler, meson, and the library's dependencies
#   scripts/deps.sh test    the above plus what the tests drive (Prometheus,
#                           Chromium, Python for the test API server...)
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail

build_packages=(build-essential meson ninja-build pkg-config
                libsqlite3-dev libcjson-dev check
                libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev)
test_packages=(python3 python3-yaml openssl sqlite3 prometheus chromium chromium-driver
               valgrind abigail-tools curl python3-cffi python3-pytest golang-go
               python3-setuptools python3-venv python3-pip python3-wheel mypy
               ca-certificates)

packages=("${build_packages[@]}")
if [ "${1:-build}" = test ]; then
    packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
