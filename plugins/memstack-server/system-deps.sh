#!/usr/bin/env bash
# System packages the memstack-server tests need: Debian's Chromium, which the dashboard tests
# drive headless through Playwright (executable_path=/usr/bin/chromium, no browser download).
# Idempotent: installs only what is missing; `apt-get update` runs only then.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
