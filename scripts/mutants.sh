#!/usr/bin/env bash
# make test-mutants: mutation testing (cargo-mutants, pinned, installed into .cache/cargo-mutants) of the modules
# that carry the project's guarantees, each group with the tests that guard it. Not part of make test: it builds
# the crate once per mutant (TESTING.md has the last result, the reading of every survivor, and the timings).
#   scripts/mutants.sh            both groups
#   scripts/mutants.sh unit       the domain modules, against voice-core's unit tests (~45 min on 2 cores)
#   scripts/mutants.sh dynamodb   the conditional write of the DynamoDB adapter and its error classification,
#                                 against the integration tests that run on DynamoDB Local (~20 min)
# MUTANTS_ITERATE=1 re-tests only what the previous run of a group did not catch (after adding a test).
# Results: target/mutants/<group>/mutants.out/{caught,missed,timeout,unviable}.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=25.3.1
bin=$root/.cache/cargo-mutants/bin/cargo-mutants
if ! [ -x "$bin" ] || [ "$("$bin" mutants --version 2>/dev/null)" != "cargo-mutants $version" ]; then
  echo "scripts/mutants.sh: installing cargo-mutants $version into .cache/cargo-mutants" >&2
  env -u CARGO_TARGET_DIR cargo install --locked --force cargo-mutants --version "$version" \
    --root "$root/.cache/cargo-mutants" >"$root/.cache/cargo-mutants-install.log" 2>&1
fi
# The scratch copies need DynamoDB Local's jar, which lives in this tree's .cache.
jar=$(ls "$root"/.cache/dynamodb-local/package/lib/*/DynamoDBLocal.jar 2>/dev/null | head -1 || true)
[ -n "$jar" ] || { echo "DynamoDB Local is not installed: run make setup" >&2; exit 1; }
export DYNAMODB_LOCAL_DIR=$(dirname "$jar")
iterate=()
[ "${MUTANTS_ITERATE:-0}" = 1 ] && iterate=(--iterate)

run_group() {
  local group=$1; shift
  mkdir -p "target/mutants/$group"
  # Exit 2 ("some mutants survived") and 3 ("some timed out") are results, which the lists detail; anything else
  # non-zero is a failure of the run.
  local status=0
  "$bin" mutants --no-shuffle -j 1 --timeout 300 --build-timeout 900 -p voice-core "${iterate[@]}" \
    -o "target/mutants/$group" "$@" || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || [ "$status" -eq 3 ] || return "$status"
  local out=target/mutants/$group/mutants.out
  printf '%s: caught %s, missed %s, timeout %s, unviable %s\n' "$group" \
    "$(wc -l <"$out/caught.txt")" "$(wc -l <"$out/missed.txt")" "$(wc -l <"$out/timeout.txt")" "$(wc -l <"$out/unviable.txt")"
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(unit dynamodb)
for group in "${groups[@]}"; do
  case $group in
    unit)
      run_group unit --test-package voice-core \
        -f shared/src/storage/retry.rs -f shared/src/storage/mod.rs -f shared/src/callbacks/service.rs \
        -f shared/src/auth.rs -f shared/src/huawei/signature.rs -f shared/src/verification/idempotency.rs \
        -f shared/src/verification/rate_limit.rs -f shared/src/outcome/derive.rs -f shared/src/outcome/codes.rs \
        -- --lib ;;
    dynamodb)
      # --baseline skip: cargo-mutants 25.3.1 runs the baseline with the mutated package's tests, not
      # --test-package's (lab.rs, run_baseline), and voice-core has no `it`; make test is the baseline here.
      run_group dynamodb --test-package integration-tests --baseline skip \
        -f shared/src/adapters/dynamo.rs -f shared/src/adapters/dynamo_trigger.rs \
        -F 'put_new|classify|conditional_failure_item' \
        -- --test it -- guarantees write_cost callbacks_dynamodb trigger_concurrency ;;
    *) echo "unknown group: $group (unit, dynamodb)" >&2; exit 2 ;;
  esac
done
