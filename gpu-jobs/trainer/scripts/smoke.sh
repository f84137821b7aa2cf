#!/usr/bin/env bash
# CPU smoke run of the trainer: generated reviews -> prepare -> tune (2 trials) -> train, tiny model, embedded mode.
#
#   bash gpu-jobs/trainer/scripts/smoke.sh                 # with the local venv (ensure-venv.sh)
#   bash gpu-jobs/trainer/scripts/smoke.sh --docker IMAGE  # with the built GPU image, on the CPU
# Outputs go under .local/trainer-smoke/ (the bucket folder, the outbox of events). Takes about a minute.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$repo"
work="$repo/.local/trainer-smoke"
rm -rf "$work" && mkdir -p "$work"
export ONNXRUNTIME_NODE_INSTALL=skip

npm run --silent gen-reviews -- --rows 1000 --seed 3 --scenario clean --out "$work/reviews.jsonl" >&2
npm run --silent prepare -- --input "$work/reviews.jsonl" --out "$work/bucket/runs/smoke-1/prepare/a1" >&2

if [ "${1:-}" = "--docker" ]; then
  image="${2:?usage: smoke.sh --docker IMAGE}"
  run() { docker run --rm -e PIPELINE_MODE=embedded -e LOCAL_ROOT=/work -e BUCKET=local-bucket -e SP_OUTBOX=/work/outbox.jsonl -v "$work:/work" "$image" "$@"; }
else
  py="$(bash gpu-jobs/trainer/scripts/ensure-venv.sh)"
  run() { PIPELINE_MODE=embedded LOCAL_ROOT="$work" BUCKET=local-bucket SP_OUTBOX="$work/outbox.jsonl" PYTHONPATH="$repo/gpu-jobs/trainer" "$py" -m sentiment_trainer "$@"; }
fi

run_dir=gs://local-bucket/runs/smoke-1
common=(--run-id smoke-1 --correlation-id smoke-1 --run-dir "$run_dir" --data-dir "$run_dir/prepare/a1"
  --models '{"bert":"tiny","roberta":"tiny"}' --max-length 128 --seed 42 --use-side-features true
  --early-stopping-patience 2 --warmup-ratio 0.1 --max-grad-norm 1)
run tune --attempt 1 --out-dir "$run_dir/tune/a1" "${common[@]}" --search \
  '{"modelFamilies":["bert","roberta"],"learningRate":{"low":3e-4,"high":2e-3,"log":true},"batchSizes":[32],"epochs":{"low":2,"high":3},"weightDecay":{"low":1e-4,"high":0.1,"log":true},"dropout":{"low":0.1,"high":0.3,"log":false},"trials":2}'
best="$(grep '"tuning.completed"' "$work/outbox.jsonl" | tail -1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(JSON.parse(s).data.bestParams)))')"
run train --attempt 1 --out-dir "$run_dir/train/a1" "${common[@]}" --params "$best" --mitigation null
echo "smoke run done: events in $work/outbox.jsonl, model in $work/bucket/runs/smoke-1/train/a1/model" >&2
