#!/usr/bin/env bash
# `make test-api`: schemathesis (PyPI, pinned in tests/api/requirements.txt, own venv .venv-api) against the three
# callback functions described by docs/openapi.yaml, served the way the integration tests serve them:
# DynamoDB Local (in memory) and `cargo lambda watch --only-lambda-apis` running the binaries that
# `cargo build --workspace --all-targets` put in target/debug. Everything listens on free 127.0.0.1 ports and
# is stopped on exit.
#
# Needs `make setup` (.venv with cargo-lambda, DynamoDB Local in .cache) and `cargo build --workspace
# --all-targets`. Tunables: API_MAX_EXAMPLES (per operation and phase, default 75), API_SEED, API_CHECKS
# (default all), API_MAX_TIME (seconds, default 600). Logs and reports in target/api-test/.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv-api
OUT=target/api-test
TOKEN=api-test-token
mkdir -p "$OUT"
rm -f "$OUT"/*.log

if [ ! -f "$VENV/.installed" ] || [ tests/api/requirements.txt -nt "$VENV/.installed" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/api/requirements.txt
  touch "$VENV/.installed"
fi

for bin in status-callback fee-callback sms-callback local-stack; do
  [ -x "target/debug/$bin" ] || { echo "target/debug/$bin is missing: run cargo build --workspace --all-targets" >&2; exit 2; }
done
cargo_lambda=.venv/bin/cargo-lambda
[ -x "$cargo_lambda" ] || cargo_lambda=$(command -v cargo-lambda) || { echo "cargo-lambda missing: run make setup" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
DDB_PORT=$(free_port)
WATCH_PORT=$(free_port)

children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for_port() { # port, what, seconds
  for _ in $(seq 1 $(($3 * 5))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$2 did not listen on 127.0.0.1:$1 within $3 s; see $OUT" >&2
  exit 1
}

scripts/dynamodb-local.sh "$DDB_PORT" >"$OUT/dynamodb.log" 2>&1 &
children+=($!)
wait_for_port "$DDB_PORT" "DynamoDB Local" 60

set -a
. scripts/local.env
set +a
export TABLE_NAME=huawei-voice-api-test AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
for attempt in 1 2 3 4 5; do
  target/debug/local-stack create-table && break
  [ "$attempt" = 5 ] && exit 1
  sleep 1
done

"$cargo_lambda" lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  >/dev/null 2>"$OUT/watch.log" &
children+=($!)
wait_for_port "$WATCH_PORT" "cargo lambda watch" 60

for bin in status-callback fee-callback sms-callback; do
  env CALLBACK_TOKENS="$TOKEN" SIGNATURE_MODE=log VOICE_APP_KEY=local-app-key VOICE_APP_SECRET=local-app-secret \
    CALLBACK_BASE_URL="http://127.0.0.1:$WATCH_PORT" RUST_LOG=warn \
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$WATCH_PORT/.rt/$bin" AWS_LAMBDA_FUNCTION_NAME="$bin" \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
    "target/debug/$bin" >"$OUT/$bin.log" 2>&1 &
  children+=($!)
done

# Checks: all but negative_data_rejection. The spec states what Huawei sends (ASCII sessionIds without `#`,
# known event types, text extParas), while the functions are lenient by design and store anything that
# identifies a record (unknown event types and fields, any non-control sessionId up to 256 bytes): a request
# outside the spec's schemas being accepted is intended, not a failure.
#
# Content-Type: the functions parse the body bytes whatever the header says. It is sent as
# application/octet-stream because the local emulator (cargo lambda watch) answers an application/json body
# that is not UTF-8 with its own 500 before the function runs; as a binary type it passes every body through,
# base64-encoded, as API Gateway does for binary bodies, so invalid UTF-8 reaches the function (answer: 400).
#
# The path parameter `token` is the configured token, so generated bodies get past the token check; the wrong
# token case (401) is covered by the integration tests and by tests/integration/tests/openapi.rs.
cat >"$OUT/schemathesis.toml" <<TOML
[parameters]
"path.token" = "$TOKEN"

[cache]
directory = "$PWD/$OUT/cache"
TOML

if [ -n "${API_HOLD:-}" ]; then
  # For `st replay` / curl reproductions: keep the stack up until interrupted.
  echo "stack up: http://127.0.0.1:$WATCH_PORT/voice/status/$TOKEN (…/voice/fee/…, …/privacy-number/sms/…); Ctrl-C stops"
  wait
fi

echo "schemathesis against http://127.0.0.1:$WATCH_PORT (DynamoDB Local :$DDB_PORT); logs in $OUT"
status=0
"$VENV/bin/schemathesis" --config-file "$OUT/schemathesis.toml" run docs/openapi.yaml \
  --url "http://127.0.0.1:$WATCH_PORT" \
  --checks "${API_CHECKS:-all}" \
  --exclude-checks "${API_EXCLUDE_CHECKS:-negative_data_rejection}" \
  -H "Content-Type: application/octet-stream" \
  --max-examples "${API_MAX_EXAMPLES:-75}" \
  ${API_SEED:+--seed "$API_SEED"} \
  --max-time "${API_MAX_TIME:-600}" \
  --workers 1 \
  --request-timeout 30 \
  --generation-database none \
  --suppress-health-check too_slow \
  --report junit,ndjson --report-dir "$OUT/report" \
  || status=$?

# A 5xx shows in the functions' logs as an error line even if schemathesis missed its cause.
if grep -h '"level":"ERROR"' "$OUT"/*-callback.log >/dev/null 2>&1; then
  echo "error-level log lines in $OUT/*-callback.log:" >&2
  grep -h '"level":"ERROR"' "$OUT"/*-callback.log | head -5 >&2
  status=1
fi
exit "$status"
