#!/usr/bin/env bash
# Installs what the emulator stack runs, outside the repo in ${SP_BIN_DIR:-~/.cache/sentiment-pipeline/bin}:
# fake-gcs-server (pinned, with `go install`) and the pstest fallback for a missing Google Cloud CLI Pub/Sub
# emulator, built from emulator/stack/pstest (SP_SKIP_PSTEST=1 skips it). Quick when already installed. A piece that
# cannot be installed is reported with what to do about it and never fails the setup: the stack says what is missing.
set -uo pipefail
cd "$(dirname "$0")/.."

FAKE_GCS_VERSION=v1.56.1
bin="${SP_BIN_DIR:-$HOME/.cache/sentiment-pipeline/bin}"
mkdir -p "$bin"
say() { echo "emulator/install.sh: $*" >&2; }

have_go() {
  if command -v go >/dev/null 2>&1; then return 0; fi
  say "Go is not installed: $1 (install Go 1.24+ from https://go.dev/dl/ and run bash emulator/install.sh again)"
  return 1
}

# fake-gcs-server: the Cloud Storage emulator, pinned; a stamp file records the installed version.
stamp="$bin/.fake-gcs-server.version"
if [ -x "$bin/fake-gcs-server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$FAKE_GCS_VERSION" ]; then
  say "fake-gcs-server $FAKE_GCS_VERSION present"
elif have_go "cannot install fake-gcs-server"; then
  say "installing fake-gcs-server $FAKE_GCS_VERSION into $bin (a minute or two the first time)"
  if GOBIN="$bin" GOFLAGS=-mod=mod timeout 900 go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION" >&2; then
    echo "$FAKE_GCS_VERSION" >"$stamp"
  else
    say "could not install fake-gcs-server (no network to the Go module proxy?); the emulator stack needs it"
  fi
fi

# Pub/Sub: the official emulator comes with the Google Cloud CLI and needs Java; pstest is the fallback.
official=""
if command -v gcloud >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
  root="$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")"
  [ -x "$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ] && official="$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
fi
if [ -n "$official" ]; then
  say "Pub/Sub emulator present ($official)"
else
  say "no Pub/Sub emulator from the Google Cloud CLI (gcloud components install pubsub-emulator; needs Java): the stack uses pstest"
fi
# The pstest fallback is built either way (seconds once the modules are cached), so its path stays tested.
if [ "${SP_SKIP_PSTEST:-0}" != "1" ]; then
  src=emulator/stack/pstest
  want="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
  pstamp="$bin/.pstest-server.version"
  if [ -x "$bin/pstest-server" ] && [ "$(cat "$pstamp" 2>/dev/null)" = "$want" ]; then
    say "pstest-server present"
  elif have_go "cannot build the pstest fallback"; then
    if (cd "$src" && timeout 900 go build -o "$bin/pstest-server" .) >&2; then
      echo "$want" >"$pstamp"
      say "built pstest-server into $bin"
    else
      say "could not build pstest-server; the stack needs a Pub/Sub emulator"
    fi
  fi
fi
exit 0
