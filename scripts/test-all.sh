#!/usr/bin/env bash
# Runs every suite (typecheck, lint, TypeScript unit and end-to-end tests, Python tests) even when one fails,
# then prints one line `N passed, N failed[, N skipped]` over all of them. Exit status 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
results=.local/test-results
rm -rf "$results" && mkdir -p "$results"

status() { echo "$1 $2" >> "$results/checks.txt"; }

echo "== typecheck"
if npx tsc -p tsconfig.json --noEmit; then status typecheck pass; else status typecheck fail; fi

echo "== lint"
if npx eslint . ; then status lint pass; else status lint fail; fi

echo "== format"
if npx prettier --check . >/dev/null; then status format pass; else npx prettier --list-different . | head -20; status format fail; fi

echo "== unit and function tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest-unit.json" || true

if [ -f vitest.e2e.config.ts ] && [ "${SKIP_E2E:-0}" != "1" ]; then
  echo "== end-to-end tests (vitest, emulators)"
  npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json="$results/vitest-e2e.json" || true
fi

if [ -f gpu-jobs/trainer/pyproject.toml ]; then
  echo "== Python tests (pytest)"
  if py=$(bash gpu-jobs/trainer/scripts/ensure-venv.sh); then
    (cd gpu-jobs/trainer && "$py" -m pytest -q --junitxml="../../$results/pytest.xml") || true
  else
    status python-env fail
  fi
fi

npx tsx scripts/summarize-tests.ts "$results"
