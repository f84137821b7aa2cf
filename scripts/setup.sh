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
