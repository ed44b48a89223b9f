#!/usr/bin/env bash
# Installs the C libraries fieldlog links (Debian packages), only when they are missing.
set -euo pipefail
missing=()
for pkg in libsqlite3-dev libsodium-dev zlib1g-dev pkg-config; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
