#!/usr/bin/env bash
# Creates the search-quality benchmark's Python environment (OSS Vizier on JAX) once, outside the repo, keyed by its
# lock file's hash, and prints its python. Optional: only `npm run bench -- tuning` needs it; CI and setup do not.
#
# The trainer's ensure-venv.sh does the work: the venv lives at
# ${SP_VENV_ROOT:-$HOME/.cache/sentiment-pipeline}/bench-tuning-<first 16 hex of sha256(requirements.lock)>, is reused
# when its completion marker exists (written last), and is rebuilt when incomplete. The only line on stdout is the
# python path; logs go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export JAX_PLATFORMS=cpu
exec bash "$here/../../gpu-jobs/trainer/scripts/ensure-venv.sh" "$here/requirements.lock" bench-tuning \
  'import jax, vizier; from vizier._src.algorithms.designers import gp_ucb_pe'
