#!/usr/bin/env bash
# Recompiles requirements.lock from requirements.in (maintainers only: needs uv; installing needs only pip).
set -euo pipefail
cd "$(dirname "$0")"
uv="${UV:-uv}"
"$uv" pip compile requirements.in --generate-hashes --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --no-header --annotation-style line -o requirements.lock
