#!/usr/bin/env bash
# Creates the trainer's Python environment once, outside the repo, keyed by the lock file's hash, and prints its python.
#
# The venv lives at ${SP_VENV_ROOT:-$HOME/.cache/sentiment-pipeline}/venv-<first 16 hex of sha256(requirements.lock)>.
# It is reused when its completion marker exists (written last); an incomplete one is rebuilt. Installing needs only
# pip: `pip install --require-hashes -r requirements.lock`. The only line on stdout is the python path; logs go to stderr.
#
# Other pinned environments (the search-quality bench's) use the same script: `ensure-venv.sh LOCK NAME CHECK` makes
# $root/NAME-<hash of LOCK> from LOCK and runs the Python CHECK (its imports) before marking it complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="${1:-$here/requirements.lock}"
name="${2:-venv}"
check="${3:-import torch, transformers, tokenizers, optuna, onnxruntime, onnx, jsonschema, sklearn, mlflow}"
[ -f "$lock" ] || { echo "ensure-venv: no lock file at $lock" >&2; exit 1; }
hash="$(sha256sum "$lock" | cut -c1-16)"
root="${SP_VENV_ROOT:-$HOME/.cache/sentiment-pipeline}"
venv="$root/$name-$hash"
marker="$venv/.sp-venv-complete"
python_bin="$venv/bin/python"

if [ -f "$marker" ] && [ -x "$python_bin" ]; then
  echo "$python_bin"
  exit 0
fi

mkdir -p "$root"
# One creator at a time: CI, the demo and other engineers may ask at once.
exec 9>"$root/.$name-$hash.lock"
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
"$python_bin" -c "$check" >&2
date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
echo "ensure-venv: ready" >&2
echo "$python_bin"
