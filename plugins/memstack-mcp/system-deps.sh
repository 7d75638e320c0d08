#!/usr/bin/env bash
# System packages the memstack-mcp tests need: Node.js and npm, which run the second MCP client
# (the TypeScript SDK) and the protocol's conformance kit, both installed from npm by the tests
# (`npm ci` in tests/node). Node 20 (Debian's) is enough: tests/node/node20-compat.mjs covers
# the one Node 22 API the conformance kit imports.
# Idempotent: installs only what is missing; `apt-get update` runs only then.
set -euo pipefail
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
