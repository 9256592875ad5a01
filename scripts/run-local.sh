#!/usr/bin/env bash
# `make run`: the whole local stack in one terminal, stopped together with Ctrl-C.
#   DynamoDB Local (in memory) on 127.0.0.1:8000 and the table, the Huawei platform simulator on 127.0.0.1:9100
#   (VOICE_API_BASE_URL), moto server on 127.0.0.1:9200 (the outcome bus, the app's SQS queue, the close-out
#   schedules), the seven functions under `cargo lambda watch` on 127.0.0.1:9000 (reloaded when the code changes)
#   and the events pump (the table's stream → outcome-publisher; due close-out checks); then one demo
#   verification end to end: started without a code (the trigger makes one and the call speaks it), its outcome
#   events as they arrive, how the call ended (get-call-outcome), and the check of a wrong code and of the code
#   the phone heard (check-verification; the simulator's GET /sim/heard stands in for the user's ear); last, the
#   fraud guard: a number outside the allowed countries refused, and a pumped number range cut off at its budget
#   (PREFIX_LIMIT, 3 calls an hour here: docs/operations.md, "Fraud guard").
# Beside the watch, the invoke front on 127.0.0.1:9300: the Lambda Invoke API as AWS answers it (a function error is
# 200 + X-Amz-Function-Error, where the watch answers 500 and SDKs retry), the endpoint for AWS SDKs and the examples.
# LOCAL_DYNAMODB_PORT, LOCAL_FUNCTIONS_PORT, LOCAL_SIMULATOR_PORT, LOCAL_MOTO_PORT and LOCAL_INVOKE_PORT move the
# five servers (a second stack beside a running one; the make run test uses free ports).
set -euo pipefail
cd "$(dirname "$0")/.."

DDB_PORT=${LOCAL_DYNAMODB_PORT:-8000}
set -a
. scripts/local.env
set +a
export TABLE_NAME="${TABLE_NAME:-huawei-voice-local}" AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
WATCH_PORT=${LOCAL_FUNCTIONS_PORT:-9000}
SIM_PORT=${LOCAL_SIMULATOR_PORT:-9100}
MOTO_PORT=${LOCAL_MOTO_PORT:-9200}
INVOKE_PORT=${LOCAL_INVOKE_PORT:-9300}
LOGS=target/local-stack  # under target/: not watched for reloads
mkdir -p "$LOGS"

for port in $DDB_PORT $WATCH_PORT $SIM_PORT $MOTO_PORT $INVOKE_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: stop whatever listens there (an earlier make run?)" >&2
    exit 1
  fi
done

children=()
fail() {
  echo "make run: $*; logs in $LOGS/" >&2
  exit 1
}
# Waits until 127.0.0.1:$1 accepts connections while process $2 lives; fails the run otherwise.
wait_for_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || fail "$3 exited at start"
    sleep 0.2
  done
  fail "$3 is not listening on port $1 after 60 s"
}
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

scripts/dynamodb-local.sh "$DDB_PORT" >"$LOGS/dynamodb.log" 2>&1 &
children+=($!)
wait_for_port "$DDB_PORT" "$!" "DynamoDB Local"
target/debug/local-stack create-table


# The outcome events' AWS side: EventBridge, SQS and Scheduler (moto stores schedules; the events pump fires them).
.venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
children+=($!)
wait_for_port "$MOTO_PORT" "$!" "moto server"
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$MOTO_PORT" AWS_ENDPOINT_URL_SCHEDULER="http://127.0.0.1:$MOTO_PORT"
export CLOSE_OUT_SCHEDULE_GROUP="${CLOSE_OUT_SCHEDULE_GROUP:-huawei-voice-closeouts}"
export LOCAL_INVOKE_URL="http://127.0.0.1:$WATCH_PORT"
target/debug/local-stack outcome-bus

# Status events 1 s apart, CDR re-pushes every 30 s (Huawei: hourly) so a failed push is seen again soon.
target/debug/voice-platform-sim --listen "127.0.0.1:$SIM_PORT" --event-delay 1s --cdr-delay 1s --repush-interval 30s \
  >"$LOGS/simulator.log" 2>&1 &
children+=($!)

# The functions' environment: scripts/local.env, this stack's endpoints, then make run's settings, each of which
# the caller's environment overrides (SIGNATURE_MODE=enforce make run). An env file, not --env-var: cargo-lambda
# splits --env-var values on commas (CALLBACK_TOKENS=a,b).
functions_env="$LOGS/functions.env"
{
  grep -v '^#' scripts/local.env
  echo "TABLE_NAME=$TABLE_NAME"
  echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
  echo "SIGNATURE_MODE=${SIGNATURE_MODE:-log}"
  echo "VOICE_APP_KEY=${VOICE_APP_KEY:-local-app-key}"
  echo "VOICE_APP_SECRET=${VOICE_APP_SECRET:-local-app-secret}"
  echo "VOICE_API_BASE_URL=${VOICE_API_BASE_URL:-http://127.0.0.1:$SIM_PORT}"
  echo "CALLBACK_BASE_URL=${CALLBACK_BASE_URL:-http://127.0.0.1:$WATCH_PORT}"
  echo "DISPLAY_NBR=${DISPLAY_NBR:-+8675528000088}"
  echo "PRE_TONE=${PRE_TONE:-welcome.wav}"
  [ -z "${CALLBACK_TOKENS:-}" ] || echo "CALLBACK_TOKENS=$CALLBACK_TOKENS"
  echo "AWS_ENDPOINT_URL_EVENTBRIDGE=$AWS_ENDPOINT_URL_EVENTBRIDGE"
  echo "AWS_ENDPOINT_URL_SCHEDULER=$AWS_ENDPOINT_URL_SCHEDULER"
  echo "CLOSE_OUT_SCHEDULE_GROUP=$CLOSE_OUT_SCHEDULE_GROUP"
  echo "CLOSE_OUT_TARGET_ARN=arn:aws:lambda:$AWS_REGION:000000000000:function:outcome-publisher"
  echo "CLOSE_OUT_ROLE_ARN=arn:aws:iam::000000000000:role/close-out-scheduler"
  echo "CLOSE_OUT_PROVISIONAL_MINUTES=${CLOSE_OUT_PROVISIONAL_MINUTES:-10}"
  echo "CLOSE_OUT_FINAL_MINUTES=${CLOSE_OUT_FINAL_MINUTES:-420}"
  # The fraud guard: a small range budget, so that the demo below reaches it in a few calls (deployed default 20).
  echo "PREFIX_LIMIT=${PREFIX_LIMIT:-3}"
  # The guard's other settings and the verifications' reach the functions when the caller sets them.
  for setting in ALLOWED_COUNTRY_CODES GEO_MODE CALLEE_LIMITS PREFIX_DIGITS COUNTRY_LIMITS DAILY_CALL_CAP SAFE_NUMBERS \
    AUTO_BLOCK_MIN_STARTS AUTO_BLOCK_MAX_CONVERSION AUTO_BLOCK_HOURS CODE_LENGTH CODE_TTL_SECONDS MAX_SENDS \
    MAX_CHECK_ATTEMPTS; do
    [ -z "${!setting:-}" ] || echo "$setting=${!setting}"
  done
} >"$functions_env"
# Two instances of a function at once, as Lambda runs concurrent invokes side by side (the watch's default is one,
# which queues them: a duplicate invoke could then never meet the first in progress, IdempotencyConflict).
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --env-file "$functions_env" \
  --concurrency 2 >"$LOGS/watch.log" 2>&1 &
watch_pid=$!
children+=($watch_pid)
wait_for_port "$WATCH_PORT" "$watch_pid" "cargo lambda watch (see $LOGS/watch.log)"
target/debug/local-stack invoke-front "127.0.0.1:$INVOKE_PORT" "http://127.0.0.1:$WATCH_PORT" \
  >"$LOGS/invoke-front.log" 2>&1 &
children+=($!)
wait_for_port "$INVOKE_PORT" "$!" "the invoke front (local-stack invoke-front)"

base="http://127.0.0.1:$WATCH_PORT"

# cargo lambda watch builds a function at its first invocation: do that now, not while the demo call's pushes
# wait for their answers. A GET is refused (405) before anything is stored; `{}` is an invalid read.
echo "== Starting the functions under cargo lambda watch (the first time, each is built: a minute or two)…"
for function in status-callback fee-callback sms-callback; do
  curl -s -o /dev/null --max-time 600 "$base/lambda-url/$function/" || true
done
cargo lambda invoke get-call-outcome --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-ascii '{}' \
  >/dev/null 2>&1 || true
cargo lambda invoke check-verification --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-ascii '{}' \
  >/dev/null 2>&1 || true
cargo lambda invoke outcome-publisher --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --data-ascii '{"Records": []}' \
  >/dev/null 2>&1 || true
kill -0 "$watch_pid" 2>/dev/null || fail "cargo lambda watch exited (see $LOGS/watch.log)"
target/debug/local-stack events-pump >"$LOGS/events-pump.log" 2>&1 &
children+=($!)

echo
echo "== Demo: a verification started without a code (the trigger makes one; the call speaks it)"
echo "   cargo lambda invoke trigger-verification-call --data-file scripts/demo-call.json   ($(cat scripts/demo-call.json))"
answer=$(cargo lambda invoke trigger-verification-call --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --data-file scripts/demo-call.json --output-format json 2>&1) || true
echo "$answer"
session_id=$(sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p' <<<"$answer")
verification_id=$(sed -n 's/.*"verificationId": *"\([^"]*\)".*/\1/p' <<<"$answer")
if [ -n "$session_id" ]; then
  echo "== Its outcome events, read from the app's SQS queue (the bus's rule target) as they arrive:"
  target/debug/local-stack events "$session_id" 60 || echo "   (no final event yet: see $LOGS/events-pump.log)"
  echo "== How did it end? get-call-outcome, waiting up to 20 s for the final outcome:"
  outcome_event="{\"sessionId\": \"$session_id\", \"waitForFinalMs\": 20000}"
  echo "   cargo lambda invoke get-call-outcome --invoke-address 127.0.0.1 --data-ascii '$outcome_event'"
  cargo lambda invoke get-call-outcome --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
    --data-ascii "$outcome_event" --output-format json 2>&1 || true
  echo "== Records stored under $session_id (make records PK=$session_id):"
  target/debug/local-stack records "$session_id"
fi
# check-verification with a wrong code, then with the code the phone heard: the simulator keeps the verifyCode
# of each answered call (GET /sim/heard/<sessionId>), as the user's ear would. The wrong code is made from the
# heard one (every digit moved by one), so it can never be right by chance.
check() {
  local event="{\"verificationId\": \"$verification_id\", \"code\": \"$1\"}"
  echo "   cargo lambda invoke check-verification --invoke-address 127.0.0.1 --data-ascii '$event'"
  cargo lambda invoke check-verification --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
    --data-ascii "$event" --output-format json 2>&1 || true
}
if [ -n "$session_id" ] && [ -n "$verification_id" ]; then
  echo "== Checking the verification (check-verification)"
  heard_url="http://127.0.0.1:$SIM_PORT/sim/heard/${session_id//@/%40}"
  heard_code=""
  for _ in $(seq 1 100); do
    heard=$(curl -s --max-time 5 "$heard_url" || true)
    heard_code=$(sed -n 's/.*"verifyCode": *"\([0-9]*\)".*/\1/p' <<<"$heard")
    [ -n "$heard_code" ] && break
    sleep 0.2
  done
  if [ -n "$heard_code" ]; then
    echo "   The phone heard the code $heard_code (the simulator: curl -s '$heard_url'):"
    echo "   $heard"
    echo "-- A wrong code: pending, one attempt fewer"
    check "$(tr '0-9' '1-90' <<<"$heard_code")"
    echo "-- The code the phone heard: approved"
    check "$heard_code"
  else
    echo "   The phone heard no code (the call was not answered: $heard); the verification stays pending."
  fi
fi
# The fraud guard, one line per trigger: the Lambda Invoke API of cargo lambda watch (what `cargo lambda invoke`
# calls), answered `placed` with the sessionId, or with the errorType and errorMessage.
trigger_line() {
  local answer error_type
  answer=$(curl -s --max-time 60 -X POST "$base/2015-03-31/functions/trigger-verification-call/invocations" \
    -H 'content-type: application/json' --data-binary "{\"calleeNbr\": \"$1\"}" || true)
  error_type=$(sed -n 's/.*"errorType": *"\([^"]*\)".*/\1/p' <<<"$answer")
  if [ -n "$error_type" ]; then
    printf '   %-15s %s: %s\n' "$1" "$error_type" "$(sed -n 's/.*"errorMessage": *"\([^"]*\)".*/\1/p' <<<"$answer")"
  elif grep -q '"sessionId"' <<<"$answer"; then
    printf '   %-15s placed, sessionId %s\n' "$1" "$(sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p' <<<"$answer")"
  else
    printf '   %-15s %s\n' "$1" "$answer"
  fi
}
prefix_limit=${PREFIX_LIMIT:-3}
echo
echo "== Fraud guard (docs/operations.md, \"Fraud guard\"; make run sets PREFIX_LIMIT=$prefix_limit calls an hour per number range)"
if [ "${GEO_MODE:-enforce}" = monitor ]; then geo="GEO_MODE=monitor: placed and counted"; else geo="refused, nothing placed or stored"; fi
echo "-- A number outside ALLOWED_COUNTRY_CODES (${ALLOWED_COUNTRY_CODES:-86}): $geo"
echo "   cargo lambda invoke trigger-verification-call --invoke-address 127.0.0.1 --data-ascii '{\"calleeNbr\": \"+447700900123\"}'"
trigger_line +447700900123
if [[ $prefix_limit =~ ^[0-9]+$ ]] && [ "$prefix_limit" -ge 1 ] && [ "$prefix_limit" -le 10 ]; then
  echo "-- A pumped range: $((prefix_limit + 1)) calls to different numbers of one range (+86139000000xx, answered by the simulator)"
  for n in $(seq 11 $((prefix_limit + 11))); do trigger_line "+86139000000$n"; done
else
  echo "-- (the pumped-range demo needs PREFIX_LIMIT between 1 and 10; it is $prefix_limit)"
fi
token_hint=""
[ -n "${CALLBACK_TOKENS:-}" ] && token_hint="/${CALLBACK_TOKENS%%,*}"
fixtures=tests/integration/fixtures/huawei
cat <<BANNER

  Local stack is up (Ctrl-C stops everything)
  DynamoDB Local   http://127.0.0.1:$DDB_PORT   table $TABLE_NAME
  status-callback  POST $base/voice/status$token_hint        (also $base/lambda-url/status-callback/)
  fee-callback     POST $base/voice/fee$token_hint           (also $base/lambda-url/fee-callback/)
  sms-callback     POST $base/privacy-number/sms$token_hint  (also $base/lambda-url/sms-callback/)
  trigger          cargo lambda invoke trigger-verification-call --invoke-address 127.0.0.1 --data-file scripts/demo-call.json
  outcome          cargo lambda invoke get-call-outcome --invoke-address 127.0.0.1 --data-ascii '{"sessionId": "<id>", "waitForFinalMs": 15000}'
                   (or '{"idempotencyKey": "<key>"}'; the callee's last four digits pick the simulator's scenario)
  check            cargo lambda invoke check-verification --invoke-address 127.0.0.1 --data-ascii '{"verificationId": "<id>", "code": "<code>"}'
                   (the code the phone heard: curl -s http://127.0.0.1:$SIM_PORT/sim/heard/<sessionId>)
  fraud guard      PREFIX_LIMIT=$prefix_limit calls an hour per number range here (the deployed default: PREFIX_LIMIT=20 make run); a spent budget
                   refills at the next UTC hour; a range blocked for its low conversion is lifted by the operator's command:
                   cargo lambda invoke trigger-verification-call --invoke-address 127.0.0.1 --data-ascii '{"liftBlock": "8613900"}'
  Lambda API       http://127.0.0.1:$INVOKE_PORT   for AWS SDKs: AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$INVOKE_PORT (a function error
                   is 200 + X-Amz-Function-Error, as in AWS); the example clients: docs/app-backend.md, "Example clients"
  outcome events   bus $EVENT_BUS_NAME on moto http://127.0.0.1:$MOTO_PORT → SQS queue $EVENT_BUS_NAME (AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$MOTO_PORT); follow them: target/debug/local-stack events <sessionId>
  simulator        http://127.0.0.1:$SIM_PORT   (GET /sim/stats, GET /sim/calls, GET /sim/heard/<sessionId>; scenario by callee suffix, see tools/voice-platform-sim/README.md)
  logs             $LOGS/watch.log (function JSON logs), $LOGS/events-pump.log, $LOGS/invoke-front.log, $LOGS/simulator.log, $LOGS/dynamodb.log, $LOGS/moto.log

  Try it (from another terminal):
    curl -i -X POST $base/voice/status$token_hint -H 'content-type: application/json;charset=UTF-8' --data-binary @$fixtures/status-callout.json
    curl -i -X POST $base/voice/fee$token_hint -H 'content-type: application/json;charset=UTF-8' --data-binary @$fixtures/fee-verification.json
    curl -i -X POST $base/privacy-number/sms$token_hint -H 'content-type: application/json;charset=UTF-8' --data-binary @$fixtures/sms-notify.json
    make records

BANNER
wait "$watch_pid"
