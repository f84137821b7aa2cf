#!/usr/bin/env bash
# Installs everything from the lock files: npm packages, the Python trainer's environment (created once,
# outside the repo, keyed by the lock file's hash) and the emulator binaries when their installers exist.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
if [ -f gpu-jobs/trainer/scripts/ensure-venv.sh ]; then
  bash gpu-jobs/trainer/scripts/ensure-venv.sh >/dev/null
fi
if [ -f emulator/install.sh ]; then
  bash emulator/install.sh
fi
# Headless Chromium for the report's browser test (Debian's package; playwright-core drives it).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }
  else
    echo "setup: /usr/bin/chromium is missing; install Debian's chromium (sudo apt-get install -y chromium) for the report's browser test" >&2
  fi
fi
