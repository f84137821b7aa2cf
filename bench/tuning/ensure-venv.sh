#!/usr/bin/env bash
# Creates the search-quality benchmark's Python environment (OSS Vizier on JAX) once, outside the repo, keyed by its
# lock file's hash, and prints its python. Optional: only `npm run bench -- tuning` needs it; CI and setup do not.
#
# Same approach as gpu-jobs/trainer/scripts/ensure-venv.sh: the venv lives at
# ${SP_VENV_ROOT:-$HOME/.cache/sentiment-pipeline}/bench-tuning-<first 16 hex of sha256(requirements.lock)>, is reused
# when its completion marker exists (written last), and is rebuilt when incomplete. Installing needs only pip.
# The only line on stdout is the python path; logs go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lock="$here/requirements.lock"
[ -f "$lock" ] || { echo "ensure-venv: no lock file at $lock" >&2; exit 1; }
hash="$(sha256sum "$lock" | cut -c1-16)"
root="${SP_VENV_ROOT:-$HOME/.cache/sentiment-pipeline}"
venv="$root/bench-tuning-$hash"
marker="$venv/.sp-venv-complete"
python_bin="$venv/bin/python"

if [ -f "$marker" ] && [ -x "$python_bin" ]; then
  echo "$python_bin"
  exit 0
fi

mkdir -p "$root"
# One creator at a time: two benchmark runs may ask at once.
exec 9>"$root/.bench-tuning-$hash.lock"
flock 9
if [ -f "$marker" ] && [ -x "$python_bin" ]; then
  echo "$python_bin"
  exit 0
fi

# The lock is compiled for CPython 3.11 on x86-64 Linux (manylinux wheels).
base="${SP_PYTHON:-}"
if [ -z "$base" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      base="$candidate"
      break
    fi
  done
fi
[ -n "$base" ] || { echo "ensure-venv: needs CPython 3.11 (set SP_PYTHON to its path)" >&2; exit 1; }

echo "ensure-venv: creating $venv from $lock with $base (once per lock file)" >&2
rm -rf "$venv"
"$base" -m venv "$venv" >&2
"$python_bin" -m pip install --disable-pip-version-check --no-input --require-hashes --no-deps -r "$lock" >&2
JAX_PLATFORMS=cpu "$python_bin" -W ignore -c 'import jax, vizier; from vizier._src.algorithms.designers import gp_ucb_pe' >&2
date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
echo "ensure-venv: ready" >&2
echo "$python_bin"
