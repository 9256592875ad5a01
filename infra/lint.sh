#!/usr/bin/env bash
# Offline checks of the infrastructure (make lint, make test, CI). Nothing here calls AWS. In sequence:
#   sam validate --lint   SAM transform + cfn-lint as SAM runs it
#   cfn-lint              twice (default parameters; a secondary region behind a custom domain); warnings fail too
#   checkov               security scan; every skip is justified in the template's Metadata
#   policy                the project's rules, AWS CloudFormation Guard (infra/policy/*.guard):
#                           cfn-guard validate   the template must pass every rule
#                           cfn-guard test       the rules' unit tests (infra/policy/tests/*_tests.yaml)
#                           seeded violations    copies of the template with one violation each must fail
#                                                (exit 19) on the rule that covers it
#                           check_config.py      what Guard cannot express (arithmetic, files, samconfig.toml)
#   cargo deny            supply chain of the Rust workspace (deny.toml): bans, licenses, sources. Not advisories:
#                         it fetches the RustSec database over git, which this offline check cannot reach
# Usage: infra/lint.sh [TEMPLATE]                  default: infra/template.yaml
#        LINT_STEPS="policy" infra/lint.sh ...     a subset of "sam cfn-lint checkov policy deny" (default: all)
# The output ends with `policy: N passed, M failed` (Guard unit-test expectations, Guard rules on the template,
# seeded violations, check_config.py checks). Exit status: non-zero if any step failed; a missing tool is
# installed, never skipped: .venv-infra and .venv-checkov by infra/venv.sh, cfn-guard (pinned) by
# `cargo install` into .cache/cfn-guard, cargo-deny (pinned) into .cache/cargo-tools (a few minutes each, once).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
template=${1:-$root/infra/template.yaml}
if [ ! -f "$template" ]; then
  echo "infra/lint.sh: no such template: $template" >&2
  exit 2
fi
template=$(realpath "$template")
steps=" ${LINT_STEPS:-sam cfn-lint checkov policy deny} "
for step in $steps; do
  case $step in sam | cfn-lint | checkov | policy | deny) ;; *)
    echo "infra/lint.sh: LINT_STEPS: unknown step '$step' (sam cfn-lint checkov policy deny)" >&2
    exit 2
    ;;
  esac
done
has() { [[ $steps == *" $1 "* ]]; }
cd "$root"
export SAM_CLI_TELEMETRY=0 PYTHONDONTWRITEBYTECODE=1

# ------------------------------------------------------------------------------------------------- tools
GUARD_VERSION=3.2.1
guard_root=$root/.cache/cfn-guard
guard=$guard_root/bin/cfn-guard
DENY_VERSION=0.20.2
deny_root=$root/.cache/cargo-tools
deny=$deny_root/bin/cargo-deny

# install_cargo_tool <crate> <version> <root below .cache> <binary>: `cargo install` of a pinned version into the
# project's .cache, unless that version is there already.
install_cargo_tool() {
  local crate=$1 version=$2 dir=$3 binary=$4
  if [ -x "$binary" ] && [ "$("$binary" --version 2>/dev/null)" = "$crate $version" ]; then
    return 0
  fi
  if ! command -v cargo >/dev/null; then
    echo "infra/lint.sh: cargo not found: it is needed to install $crate $version (rustup.rs)" >&2
    return 1
  fi
  local log=$root/.cache/$crate-install.log
  echo "infra/lint.sh: installing $crate $version into .cache/$dir (log: .cache/$crate-install.log)" >&2
  mkdir -p "$root/.cache"
  # Its own temporary target dir (not the workspace's target/, not a CARGO_TARGET_DIR shared with other builds).
  if ! (cd "$root/.cache" && env -u CARGO_TARGET_DIR cargo install --locked --force "$crate" \
    --version "$version" --root "$root/.cache/$dir") >"$log" 2>&1; then
    echo "infra/lint.sh: installing $crate failed; end of its log:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}
install_guard() { install_cargo_tool cfn-guard "$GUARD_VERSION" cfn-guard "$guard"; }
install_deny() { install_cargo_tool cargo-deny "$DENY_VERSION" cargo-tools "$deny"; }

venvs=(infra)
if has checkov; then venvs+=(checkov); fi
# On a fresh machine the cargo builds of cfn-guard and cargo-deny and the pip installs run side by side.
guard_pid=
if has policy; then
  install_guard &
  guard_pid=$!
fi
deny_pid=
if has deny; then
  install_deny &
  deny_pid=$!
fi
venv_status=0
"$root/infra/venv.sh" "${venvs[@]}" || venv_status=$?
guard_status=0
if [ -n "$guard_pid" ]; then wait "$guard_pid" || guard_status=$?; fi
deny_status=0
if [ -n "$deny_pid" ]; then wait "$deny_pid" || deny_status=$?; fi
if [ "$venv_status" -ne 0 ] || [ "$guard_status" -ne 0 ] || [ "$deny_status" -ne 0 ]; then exit 1; fi

# ------------------------------------------------------------------------------------------------- linters
failures=0
run() { # run <label> <command...>: the command's output only when it fails
  local label=$1 started output status
  shift
  started=$SECONDS
  if output=$("$@" 2>&1); then
    printf '%-28s ok (%ds)\n' "$label" $((SECONDS - started))
  else
    status=$?
    printf '%-28s FAILED, exit %d (%ds): %s\n%s\n' "$label" "$status" $((SECONDS - started)) "$*" "$output"
    failures=$((failures + 1))
  fi
}

# cfn-lint's exit code is a bitmask: 2 = errors, 4 = warnings, 8 = informational (1 = it could not run). Warnings
# fail too: the template is ours, a warning is a real smell, and a justified exception is written next to the
# resource (Metadata: cfn-lint: config: ignore_checks, with a comment saying why).
cfn_lint() {
  local status=0
  .venv-infra/bin/cfn-lint "$@" || status=$?
  return $((status & ~8))
}
# The second pass: a secondary region behind a custom domain, so that the conditional resources and the If
# branches of that configuration are linted with real values too.
secondary_with_domain=(
  RegionRole=secondary
  PeerRegion=eu-central-1
  PrimarySecretArn=arn:aws:secretsmanager:eu-central-1:123456789012:secret:huawei-voice/voice-credentials-AbCdEf
  TableStreamArn=arn:aws:dynamodb:eu-west-1:123456789012:table/huawei-voice/stream/2026-01-01T00:00:00.000
  AlarmTopicArn=arn:aws:sns:eu-west-1:123456789012:huawei-voice-alarms
  DomainName=cb.example.com
  CertificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000
  HostedZoneId=Z0123456789ABCDEFGHIJ
  AppBackendRoleArn=arn:aws:iam::123456789012:role/app-backend
)

if has sam; then run "sam validate --lint" .venv-infra/bin/sam validate --lint --template-file "$template"; fi
if has cfn-lint; then
  run "cfn-lint" cfn_lint "$template"
  run "cfn-lint (secondary+domain)" cfn_lint "$template" --parameters "${secondary_with_domain[@]}"
fi
if has checkov; then
  run "checkov" .venv-checkov/bin/checkov -f "$template" --framework cloudformation --skip-download --compact --quiet
fi
# The workspace's dependency graph against deny.toml. `advisories` is left out on purpose: it clones the RustSec
# advisory database over git, and this check runs offline (docs/operations.md, "Offline checks").
if has deny; then
  run "cargo deny" "$deny" deny --log-level error --manifest-path "$root/Cargo.toml" --workspace \
    check bans licenses sources
fi
if ! has policy; then
  [ "$failures" -eq 0 ] || echo "infra/lint.sh: $failures step(s) failed" >&2
  [ "$failures" -eq 0 ]
  exit
fi

# ------------------------------------------------------------------------------------------------- policy
policy_passed=0
policy_failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# 1. The template against every rule (a failure prints Guard's report of the failing rules).
validate_output=$("$guard" validate --data "$template" --rules infra/policy --show-summary all 2>&1) && guard_rc=0 || guard_rc=$?
rule_lines=$(grep -E '^[a-z_]+\.guard/[A-Za-z0-9_]+ +(PASS|FAIL|SKIP)$' <<<"$validate_output" || true)
rules_ok=$(grep -c -E ' (PASS|SKIP)$' <<<"$rule_lines" || true)
rules_bad=$(grep -c -E ' FAIL$' <<<"$rule_lines" || true)
if [ "$guard_rc" -ne 0 ] && [ "$rules_bad" -eq 0 ]; then rules_bad=1; fi # a parse error fails without a rule line
policy_passed=$((policy_passed + rules_ok))
policy_failed=$((policy_failed + rules_bad))
if [ "$guard_rc" -eq 0 ]; then
  printf '%-28s ok, %d rules\n' "cfn-guard validate" "$rules_ok"
else
  printf '%-28s FAILED, exit %d\n%s\n' "cfn-guard validate" "$guard_rc" \
    "$("$guard" validate --data "$template" --rules infra/policy --show-summary fail 2>&1 || true)"
fi

# 2. The rules' unit tests: every expectation (rule x test case) counts.
test_json=$("$guard" test --dir infra/policy --output-format json 2>&1) && test_rc=0 || test_rc=$?
counts=$(.venv-infra/bin/python -c '
import json, sys
try:
    files = json.loads(sys.stdin.read())
except ValueError:
    print(0, 1); sys.exit()
cases = [case for f in files for case in f["test_cases"]]
print(sum(len(c["passed_rules"]) for c in cases), sum(len(c["failed_rules"]) for c in cases))
' <<<"$test_json")
read -r tests_ok tests_bad <<<"$counts"
if [ "$test_rc" -ne 0 ] && [ "$tests_bad" -eq 0 ]; then tests_bad=1; fi
policy_passed=$((policy_passed + tests_ok))
policy_failed=$((policy_failed + tests_bad))
if [ "$test_rc" -eq 0 ]; then
  printf '%-28s ok, %d expectations in %d files\n' "cfn-guard test" "$tests_ok" "$(ls infra/policy/tests/*_tests.yaml | wc -l)"
else
  printf '%-28s FAILED, exit %d\n%s\n' "cfn-guard test" "$test_rc" \
    "$("$guard" test --dir infra/policy 2>&1 | grep -v -E '^ +(No Test expectation|[A-Za-z0-9_]+: Expected = [A-Z]+$)' || true)"
fi

# 3. Seeded violations: a copy of infra/template.yaml with one violation must fail, with Guard's exit code 19
# (non-compliant) and the rule that covers it among the failed rules. The seed text must exist, so that a seed
# cannot silently stop seeding anything. Only for the checkout's own template.
canonical=$(<"$root/infra/template.yaml")$'\n'
# The copies are checked in parallel, one Guard process per core (each is ~0.6 s of one core's work, and there
# are a hundred): each writes its verdict into $scratch/<id>.seed ("ok", or why it failed), counted at the end.
seed_jobs=$(nproc 2>/dev/null || echo 2)
seed() { # seed <id> <guard-file/rule | check_config> <text to find> <replacement>: first occurrence replaced
  local id=$1 expect=$2 old=$3 new=$4 copy=$scratch/$1.yaml verdict=$scratch/$1.seed
  if [[ $canonical != *"$old"* ]]; then
    printf '  seed %-26s FAILED: seed text not found in infra/template.yaml: %q\n' "$id" "$old" >"$verdict"
    return
  fi
  printf '%s' "${canonical/"$old"/"$new"}" >"$copy"
  while [ "$(jobs -rp | wc -l)" -ge "$seed_jobs" ]; do wait -n || true; done
  (
    output='' rc=0 ok=1
    if [ "$expect" = check_config ]; then
      output=$(.venv-infra/bin/python infra/policy/check_config.py "$copy" 2>&1) || rc=$?
      [ "$rc" -eq 1 ] || ok=0
    else
      output=$("$guard" validate --data "$copy" --rules infra/policy --show-summary fail 2>&1) || rc=$?
      [ "$rc" -eq 19 ] && grep -q -E "^$expect +FAIL$" <<<"$output" || ok=0
    fi
    if [ "$ok" -eq 1 ]; then
      echo ok >"$verdict"
    else
      printf '  seed %-26s FAILED: expected %s to fail it (exit %s)\n%s\n' "$id" "$expect" "$rc" "$output" >"$verdict"
    fi
  ) &
}
if [ "$template" = "$root/infra/template.yaml" ]; then
  seeds_before=$((policy_passed + policy_failed))
  seed wildcard-resource iam.guard/iam_no_wildcard_resources \
    'Resource: !GetAtt StatusCallbackLogGroup.Arn' 'Resource: "*"'
  seed wildcard-action iam.guard/iam_no_wildcard_actions $'Action: dynamodb:PutItem\n' $'Action: "dynamodb:*"\n'
  seed callback-reads iam.guard/iam_function_permissions \
    $'Action: dynamodb:PutItem\n' $'Action: [dynamodb:PutItem, dynamodb:GetItem]\n'
  seed callback-deletes-records iam.guard/iam_function_permissions \
    'dynamodb:LeadingKeys: ["nonce#*"]' 'dynamodb:LeadingKeys: ["*"]'
  seed public-invoke iam.guard/lambda_invoke_permissions 'Principal: !Ref AppBackendRoleArn' 'Principal: "*"'
  # get-call-outcome, the read-only function (no VOICE_CREDENTIALS_SECRET_ID): no writes, no secret, its own permission.
  seed outcome-writes iam.guard/iam_function_permissions \
    'Action: [dynamodb:Query, dynamodb:GetItem]' 'Action: [dynamodb:Query, dynamodb:GetItem, dynamodb:PutItem]'
  seed outcome-reads-secret iam.guard/iam_function_permissions $'              - Sid: ReadOutcomes\n' \
    $'              - Sid: ReadVoiceCredentials\n                Effect: Allow\n                Action: secretsmanager:GetSecretValue\n                Resource: !Ref VoiceCredentialsSecret\n              - Sid: ReadOutcomes\n'
  seed outcome-not-invocable iam.guard/lambda_invoke_permissions \
    'FunctionName: !GetAtt GetCallOutcomeFunction.Arn' 'FunctionName: !GetAtt TriggerVerificationCallFunction.Arn'
  seed shared-bus-put-events iam.guard/event_bus_sharing $'          - events:PutRule\n' $'          - events:PutEvents\n'
  seed shared-bus-any-rule iam.guard/event_bus_sharing $'            events:creatorAccount: !Ref EventConsumerAccountId\n' \
    $'            aws:PrincipalAccount: !Ref EventConsumerAccountId\n'
  seed x86 functions.guard/functions_runtime_and_build 'Architectures: [arm64]' 'Architectures: [x86_64]'
  seed old-runtime functions.guard/functions_runtime_and_build 'Runtime: provided.al2023' 'Runtime: provided.al2'
  seed member-codeuri functions.guard/functions_runtime_and_build \
    $'CodeUri: ../\n' $'CodeUri: ../functions/status-callback/\n'
  seed callback-timeout functions.guard/functions_timeouts_and_memory $'      Timeout: 8\n' $'      Timeout: 30\n'
  seed text-logs functions.guard/functions_logging 'LogFormat: JSON' 'LogFormat: Text'
  seed token-in-env functions.guard/functions_environment \
    $'        RUST_LOG: info\n' $'        RUST_LOG: info\n        CALLBACK_TOKENS: tokenA\n'
  seed no-pitr storage.guard/table_guarantees 'PointInTimeRecoveryEnabled: true' 'PointInTimeRecoveryEnabled: false'
  seed ttl-attribute storage.guard/table_guarantees 'AttributeName: expiresAt' 'AttributeName: ttl'
  seed no-deletion-protection storage.guard/table_guarantees \
    'DeletionProtectionEnabled: true' 'DeletionProtectionEnabled: false'
  seed table-deletable storage.guard/table_guarantees $'    DeletionPolicy: Retain\n' $'    DeletionPolicy: Delete\n'
  seed no-retention api.guard/log_groups_retention $'      RetentionInDays: !Ref LogRetentionDays\n' ''
  seed path-in-access-log api.guard/api_throttling_and_access_logs \
    '"routeKey":"$context.httpMethod $context.resourcePath",' \
    '"routeKey":"$context.httpMethod $context.resourcePath","path":"$context.path",'
  seed no-throttling api.guard/api_throttling_and_access_logs \
    $'          ThrottlingRateLimit: !Ref ApiThrottlingRateLimit\n' ''
  seed http-api-back api.guard/api_throttling_and_access_logs 'Type: AWS::Serverless::Api' 'Type: AWS::Serverless::HttpApi'
  # The web ACL (docs/operations.md, "Web ACL"): associated with the API's stage, a rate rule per IP, Huawei first, logs
  # without the path, never the Common rule set's body-size rule.
  seed waf-unassociated api.guard/web_acl 'WebACLArn: !GetAtt CallbackWebAcl.Arn' \
    'WebACLArn: !Sub "arn:${AWS::Partition}:wafv2:${AWS::Region}:${AWS::AccountId}:regional/webacl/other/id"'
  seed waf-on-other-resource api.guard/web_acl '::/restapis/${CallbackApi}/stages/${CallbackApi.Stage}' \
    '::/restapis/${CallbackApi}/other/${CallbackApi.Stage}'
  seed waf-no-rate-rule api.guard/web_acl $'            RateBasedStatement:\n' $'            RateStatement:\n'
  seed waf-rate-counts api.guard/web_acl \
    $'          Priority: 3\n          Action:\n            Block: {}\n' $'          Priority: 3\n          Action:\n            Count: {}\n'
  seed waf-huawei-not-first api.guard/web_acl \
    $'          - Name: HuaweiPushSources\n            Priority: 0\n' $'          - Name: HuaweiPushSources\n            Priority: 9\n'
  seed waf-logs-path api.guard/web_acl $'        - UriPath: {}\n' ''
  seed waf-common-rule-set api.guard/web_acl 'Name: AWSManagedRulesKnownBadInputsRuleSet' 'Name: AWSManagedRulesCommonRuleSet'
  seed no-429-filter alarms.guard/api_429_alarm $'FilterPattern: \'{ $.status = "429" }\'' $'FilterPattern: \'{ $.status = "428" }\''
  seed no-429-alarm alarms.guard/api_429_alarm \
    $'      MetricName: CallbackThrottled\n      Statistic: Sum\n' $'      MetricName: CallbackThrottledX\n      Statistic: Sum\n'
  seed quarantine-alarm-misses-status alarms.guard/data_kept_aside_alarms \
    $'MetricName: Quarantined\n              Dimensions:\n                - Name: function\n                  Value: !Ref StatusCallbackFunction\n' \
    $'MetricName: Quarantined\n              Dimensions:\n                - Name: function\n                  Value: !Ref FeeCallbackFunction\n'
  seed conflict-alarm-missing alarms.guard/data_kept_aside_alarms 'MetricName: ConflictingDuplicates' 'MetricName: Pushes'
  # Reserved concurrency: the callbacks' floor, the trigger's and get-call-outcome's cap.
  seed sms-callback-unreserved functions.guard/reserved_concurrency \
    $'      ReservedConcurrentExecutions: !Ref SmsCallbackReservedConcurrency\n' ''
  seed outcome-reads-uncapped functions.guard/reserved_concurrency \
    $'      ReservedConcurrentExecutions: !Ref GetCallOutcomeReservedConcurrency\n' ''
  seed reservations-over-quota check_config $'    Default: 150\n' $'    Default: 950\n'
  seed tls-1-0 api.guard/custom_domain 'SecurityPolicy: TLS_1_2' 'SecurityPolicy: TLS_1_0'
  seed alarm-without-topic alarms.guard/alarms_notify_the_topic $'      AlarmActions: [!Ref AlarmTopicArn]\n' ''
  seed skip-without-reason meta.guard/scanner_skips_justified \
    'comment: The environment holds no secrets, the credentials are read from Secrets Manager' "comment: ''"
  # Outcome events: the publisher (EVENT_BUS_NAME), its stream mapping, the buses, forwarding, the close-out schedules.
  seed esm-no-bisect outcomes.guard/stream_event_source_mappings \
    'BisectBatchOnFunctionError: true' 'BisectBatchOnFunctionError: false'
  seed esm-unbounded-retries outcomes.guard/stream_event_source_mappings \
    $'      MaximumRetryAttempts: 10\n' $'      MaximumRetryAttempts: -1\n'
  seed esm-no-partial-batch outcomes.guard/stream_event_source_mappings \
    'FunctionResponseTypes: [ReportBatchItemFailures]' 'FunctionResponseTypes: []'
  seed esm-no-failure-destination outcomes.guard/stream_event_source_mappings \
    $'      DestinationConfig:\n        OnFailure:\n          Destination: !GetAtt OutcomeFailureQueue.Arn\n' ''
  seed esm-publishes-modify outcomes.guard/stream_event_source_mappings \
    '{"eventName":["INSERT"],' '{"eventName":["INSERT","MODIFY"],'
  seed esm-modify-of-any-record outcomes.guard/stream_event_source_mappings \
    '{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"kind":{"S":["verification","block"]},' '{"eventName":["MODIFY"],"dynamodb":{"NewImage":{'
  seed publisher-unmapped outcomes.guard/publishers_have_stream_mappings \
    'FunctionName: !Ref OutcomePublisherFunction' 'FunctionName: !Ref GetCallOutcomeFunction'
  seed bus-without-archive outcomes.guard/event_buses_archived 'SourceArn: !GetAtt OutcomeBus.Arn' \
    'SourceArn: !Sub "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"'
  seed primary-forwards outcomes.guard/outcome_forwarding \
    $'    Condition: IsSecondary\n    Properties:\n      Name: !Sub "${AWS::StackName}-forward-outcomes"\n' \
    $'    Properties:\n      Name: !Sub "${AWS::StackName}-forward-outcomes"\n'
  seed queue-unencrypted outcomes.guard/failure_queues 'SqsManagedSseEnabled: true' 'SqsManagedSseEnabled: false'
  seed no-iterator-age-alarm alarms.guard/stream_iterator_age_alarms 'MetricName: IteratorAge' 'MetricName: Duration'
  seed queue-without-alarm alarms.guard/queue_depth_alarms \
    'MetricName: ApproximateNumberOfMessagesVisible' 'MetricName: NumberOfMessagesSent'
  seed publisher-updates iam.guard/iam_function_permissions \
    'Action: [dynamodb:Query, dynamodb:PutItem]' 'Action: [dynamodb:Query, dynamodb:PutItem, dynamodb:UpdateItem]'
  seed publisher-invocable iam.guard/lambda_invoke_permissions \
    'FunctionName: !GetAtt GetCallOutcomeFunction.Arn' 'FunctionName: !GetAtt OutcomePublisherFunction.Arn'
  # Verifications: check-verification's UpdateItem of verification#* keys only, the trigger told from it by
  # VOICE_API_BASE_URL, the publisher's keyed update, the conversion alarm's series, the forwarding of their events.
  seed checker-any-key iam.guard/iam_function_permissions \
    'dynamodb:LeadingKeys: ["verification#*"]' 'dynamodb:LeadingKeys: ["*"]'
  seed checker-reads iam.guard/iam_function_permissions \
    $'              - Sid: CheckVerifications\n                Effect: Allow\n                Action: dynamodb:UpdateItem\n' \
    $'              - Sid: CheckVerifications\n                Effect: Allow\n                Action: [dynamodb:UpdateItem, dynamodb:GetItem]\n'
  seed trigger-without-api-url iam.guard/iam_function_permissions $'          VOICE_API_BASE_URL: !Ref VoiceApiBaseUrl\n' ''
  seed publisher-no-verification-updates iam.guard/iam_function_permissions \
    $'              - Sid: MirrorCallsOnVerifications\n                Effect: Allow\n                Action: dynamodb:UpdateItem\n' \
    $'              - Sid: MirrorCallsOnVerifications\n                Effect: Allow\n                Action: dynamodb:Query\n'
  seed checker-uncapped functions.guard/reserved_concurrency \
    $'      ReservedConcurrentExecutions: !Ref CheckVerificationReservedConcurrency\n' ''
  seed conversion-alarm-wrong-series alarms.guard/verification_conversion_alarms \
    $'                  Value: !Ref TriggerVerificationCallFunction\n                - Name: country\n' \
    $'                  Value: !Ref CheckVerificationFunction\n                - Name: country\n'
  seed forward-outcomes-only outcomes.guard/outcome_forwarding \
    'detail-type: [Call Outcome Changed, Verification Status Changed, Prefix Blocked]' 'detail-type: [Call Outcome Changed]'
  # The fraud guard: the trigger's block check (ConditionCheckItem of guard#block#* only), the publisher's tally
  # (UpdateItem of guard#tally#* only), the settings as parameters (the publisher's auto-block the trigger's), the
  # deprecated per-callee variables gone, the forwarding of Prefix Blocked, the two alarms.
  seed block-check-any-key iam.guard/iam_function_permissions \
    'dynamodb:LeadingKeys: ["guard#block#*"]' 'dynamodb:LeadingKeys: ["guard#*"]'
  seed block-check-missing iam.guard/iam_function_permissions \
    $'              - Sid: CheckRangeBlocks\n                Effect: Allow\n                Action: dynamodb:ConditionCheckItem\n' \
    $'              - Sid: CheckRangeBlocks\n                Effect: Allow\n                Action: dynamodb:GetItem\n'
  seed block-check-on-checker iam.guard/iam_function_permissions \
    $'              - Sid: CheckVerifications\n                Effect: Allow\n                Action: dynamodb:UpdateItem\n' \
    $'              - Sid: CheckVerifications\n                Effect: Allow\n                Action: [dynamodb:UpdateItem, dynamodb:ConditionCheckItem]\n'
  seed tally-any-key iam.guard/iam_function_permissions \
    'dynamodb:LeadingKeys: ["guard#tally#*"]' 'dynamodb:LeadingKeys: ["guard#*"]'
  seed tally-missing iam.guard/iam_function_permissions \
    $'              - Sid: TallyRangeConversion\n                Effect: Allow\n                Action: dynamodb:UpdateItem\n                Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"\n                Condition:\n                  ForAllValues:StringLike:\n                    dynamodb:LeadingKeys: ["guard#tally#*"]\n' ''
  seed guard-setting-literal functions.guard/fraud_guard_settings 'PREFIX_LIMIT: !Ref PrefixLimit' 'PREFIX_LIMIT: 20'
  seed deprecated-rate-limit functions.guard/fraud_guard_settings \
    $'          CALLEE_LIMITS: !Ref CalleeLimits\n' $'          CALLEE_LIMITS: !Ref CalleeLimits\n          RATE_LIMIT_PER_HOUR: "5"\n'
  seed publisher-own-auto-block functions.guard/fraud_guard_settings \
    $'          AUTO_BLOCK_HOURS: !Ref AutoBlockHours\n      # Scheduler invokes' $'          AUTO_BLOCK_HOURS: !Ref CodeLength\n      # Scheduler invokes'
  seed forward-no-blocks outcomes.guard/outcome_forwarding \
    'detail-type: [Call Outcome Changed, Verification Status Changed, Prefix Blocked]' \
    'detail-type: [Call Outcome Changed, Verification Status Changed]'
  seed block-alarm-missing alarms.guard/fraud_guard_block_alarm 'MetricName: PrefixesBlocked' 'MetricName: PrefixesBlockedX'
  seed refusal-alarm-misses-reason alarms.guard/fraud_guard_refusal_alarm \
    $'                - Name: result\n                  Value: daily_cap\n' $'                - Name: result\n                  Value: daily_caps\n'
  seed pass-role-any-service iam.guard/iam_pass_role_conditions \
    $'                Condition:\n                  StringEquals:\n                    iam:PassedToService: scheduler.amazonaws.com\n' ''
  seed scheduler-role-broad iam.guard/iam_scheduler_roles \
    $'Action: lambda:InvokeFunction\n                Resource: !GetAtt OutcomePublisherFunction.Arn' \
    $'Action: [lambda:InvokeFunction, lambda:UpdateFunctionCode]\n                Resource: !GetAtt OutcomePublisherFunction.Arn'
  seed schedules-outside-group iam.guard/iam_schedule_permissions \
    'schedule/${CloseOutScheduleGroup}/*' 'schedule/${TableName}/*'
  # Operations: tracing, the health route (the status callback function, its token, its one-key read, its throttle), the
  # dashboard, the storage-failure alarm.
  seed no-tracing operations.guard/functions_traced $'    Tracing: Active\n' $'    Tracing: PassThrough\n'
  seed no-trace-writes iam.guard/iam_function_permissions \
    $'              - Sid: WriteTraces\n                Effect: Allow\n                Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]\n                Resource: "*"\n' ''
  seed star-beyond-traces iam.guard/iam_no_wildcard_resources 'Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]' \
    'Action: [xray:PutTraceSegments, xray:PutTelemetryRecords, dynamodb:GetItem]'
  seed health-proxy api.guard/health_check_path $'      StageName: live\n' \
    $'      StageName: live\n      DefinitionBody:\n        openapi: "3.0.1"\n        paths:\n          /health/{token}:\n            get:\n              x-amazon-apigateway-integration:\n                type: http_proxy\n                httpMethod: GET\n                uri: !Sub "https://dynamodb.${AWS::Region}.${AWS::URLSuffix}/"\n              responses: {}\n'
  seed health-route-moved api.guard/health_check_path $'            Path: /health/{token}\n' $'            Path: /healthz/{token}\n'
  seed health-route-bare functions.guard/routes $'            Path: /health/{token}\n' $'            Path: /health\n'
  seed health-check-tokenless api.guard/health_check_path $'ResourcePath: !Sub\n          - "/live/health/${HealthToken}"' \
    $'ResourcePath: !Sub\n          - "/live/health"'
  seed health-token-echoed api.guard/health_check_path $'    Type: String\n    NoEcho: true\n' $'    Type: String\n'
  seed health-token-literal functions.guard/functions_environment \
    $'          HEALTH_CHECK_TOKEN: !If\n            - HasHealthCheckPathToken\n            - !Ref HealthCheckPathToken\n' \
    $'          HEALTH_CHECK_TOKEN: r53-0123456789abcdef\n          X_UNUSED: !If\n            - HasHealthCheckPathToken\n            - !Ref HealthCheckPathToken\n'
  seed health-unthrottled api.guard/health_route_throttled \
    $'        - ResourcePath: "/~1health~1{token}"\n          HttpMethod: GET\n          ThrottlingBurstLimit: 10\n          ThrottlingRateLimit: 5\n' ''
  seed health-read-any-key iam.guard/iam_function_permissions \
    $'                Condition:\n                  ForAllValues:StringEquals:\n                    dynamodb:LeadingKeys: ["health#probe"]\n' ''
  seed health-read-call-keys iam.guard/iam_function_permissions \
    'dynamodb:LeadingKeys: ["health#probe"]' 'dynamodb:LeadingKeys: ["health#probe", "*"]'
  seed dashboard-global-name operations.guard/dashboard \
    'DashboardName: !Sub "${AWS::StackName}-${AWS::Region}"' 'DashboardName: !Sub "${AWS::StackName}"'
  seed storage-alarm-misses-sms operations.guard/storage_failure_alarm \
    $'Value: !Ref SmsCallbackFunction\n                - Name: kind\n                  Value: sms\n                - Name: result\n                  Value: storage_failed\n' \
    $'Value: !Ref StatusCallbackFunction\n                - Name: kind\n                  Value: sms\n                - Name: result\n                  Value: storage_failed\n'
  # Peer-replica writes (two regions, peer.guard): PEER_REGION on the callbacks only, under HasPeer only; their
  # conditional PutItem on the peer's table of the same name and nothing more; no peer access for any other role; the
  # PeerWrites alarm of every callback and its graph.
  peer_grant=$'              - !If\n                - HasPeer\n                - Sid: StoreInPeerReplica\n                  Effect: Allow\n                  Action: dynamodb:PutItem\n                  Resource: !Sub "arn:${AWS::Partition}:dynamodb:${PeerRegion}:${AWS::AccountId}:table/${TableName}"\n                - !Ref AWS::NoValue\n'
  seed peer-env-on-trigger peer.guard/peer_region_environment $'          VOICE_API_BASE_URL: !Ref VoiceApiBaseUrl\n' \
    $'          VOICE_API_BASE_URL: !Ref VoiceApiBaseUrl\n          PEER_REGION: !If [HasPeer, !Ref PeerRegion, !Ref AWS::NoValue]\n'
  seed peer-env-plain peer.guard/peer_region_environment \
    'PEER_REGION: !If [HasPeer, !Ref PeerRegion, !Ref AWS::NoValue]' 'PEER_REGION: !Ref PeerRegion'
  seed peer-endpoint-in-template peer.guard/peer_region_environment \
    $'          PEER_REGION: !If [HasPeer, !Ref PeerRegion, !Ref AWS::NoValue]\n' \
    $'          PEER_REGION: !If [HasPeer, !Ref PeerRegion, !Ref AWS::NoValue]\n          PEER_DYNAMODB_ENDPOINT: http://127.0.0.1:8001\n'
  seed peer-grant-updates peer.guard/peer_replica_grants \
    $'                  Action: dynamodb:PutItem\n                  Resource: !Sub "arn:${AWS::Partition}:dynamodb:${PeerRegion}' \
    $'                  Action: [dynamodb:PutItem, dynamodb:UpdateItem]\n                  Resource: !Sub "arn:${AWS::Partition}:dynamodb:${PeerRegion}'
  seed peer-grant-other-table peer.guard/peer_replica_grants \
    'dynamodb:${PeerRegion}:${AWS::AccountId}:table/${TableName}' 'dynamodb:${PeerRegion}:${AWS::AccountId}:table/${OutcomeBus}'
  seed peer-grant-unconditional peer.guard/peer_replica_grants "$peer_grant" \
    $'              - Sid: StoreInPeerReplica\n                Effect: Allow\n                Action: dynamodb:PutItem\n                Resource: !Sub "arn:${AWS::Partition}:dynamodb:${PeerRegion}:${AWS::AccountId}:table/${TableName}"\n'
  seed peer-grant-missing peer.guard/peer_replica_grants "$peer_grant" ''
  seed peer-grant-trigger peer.guard/peer_replica_grants $'              - Sid: Bookkeeping\n' \
    "$peer_grant"$'              - Sid: Bookkeeping\n'
  seed peer-grant-publisher peer.guard/peer_replica_grants $'              - Sid: ReadCallsWriteCloseOuts\n' \
    "$peer_grant"$'              - Sid: ReadCallsWriteCloseOuts\n'
  seed peer-read-outcomes peer.guard/peer_replica_grants \
    $'Action: [dynamodb:Query, dynamodb:GetItem]\n                Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}' \
    $'Action: [dynamodb:Query, dynamodb:GetItem]\n                Resource: !Sub "arn:${AWS::Partition}:dynamodb:${PeerRegion}'
  seed peer-alarm-misses-sms peer.guard/peer_writes_alarm \
    $'                  Value: !Ref SmsCallbackFunction\n                - Name: result\n                  Value: failed\n' \
    $'                  Value: !Ref StatusCallbackFunction\n                - Name: result\n                  Value: failed\n'
  seed peer-dashboard-no-graph peer.guard/peer_writes_alarm 'MetricName=\"PeerWrites\"' 'MetricName=\"StorageRetries\"'
  # The event schema registry (schemas.guard): the registry, and a Draft 4 schema of each detail type the publisher emits.
  seed registry-missing schemas.guard/event_schema_registry 'Type: AWS::EventSchemas::Registry' 'Type: AWS::EventSchemas::Discoverer'
  seed schema-missing schemas.guard/event_schema_registry '"detail-type":{"enum":["Prefix Blocked"]}' \
    '"detail-type":{"enum":["Prefix Blocked!"]}'
  seed schema-openapi schemas.guard/event_schema_registry \
    $'      Type: JSONSchemaDraft4\n      # Generated by `make schemas` from docs/schemas/registry/prefix-blocked.json' \
    $'      Type: OpenApi3\n      # Generated by `make schemas` from docs/schemas/registry/prefix-blocked.json'
  seed budget-over-timeout check_config $'    MaxValue: 4000\n' $'    MaxValue: 6000\n'
  seed close-out-order check_config $'    MaxValue: 59\n' $'    MaxValue: 600\n'
  wait
  seeds_missed=0
  for verdict in "$scratch"/*.seed; do
    if [ "$(cat "$verdict")" = ok ]; then
      policy_passed=$((policy_passed + 1))
    else
      cat "$verdict"
      seeds_missed=$((seeds_missed + 1))
    fi
  done
  policy_failed=$((policy_failed + seeds_missed))
  seeds_total=$((policy_passed + policy_failed - seeds_before))
  if [ "$seeds_missed" -eq 0 ]; then
    printf '%-28s %d copies, each failed by its rule\n' "seeded violations" "$seeds_total"
  else
    printf '%-28s %d copies, %d not failed by their rule (above)\n' "seeded violations" "$seeds_total" "$seeds_missed"
  fi
fi

# 4. What Guard cannot express.
check_output=$(.venv-infra/bin/python infra/policy/check_config.py "$template" 2>&1) && check_rc=0 || check_rc=$?
if summary=$(grep -E '^checks: [0-9]+ passed, [0-9]+ failed$' <<<"$check_output"); then
  read -r _ checks_ok _ checks_bad _ <<<"$summary"
else
  checks_ok=0 checks_bad=1
fi
if [ "$check_rc" -ne 0 ] && [ "$checks_bad" -eq 0 ]; then checks_bad=1; fi
policy_passed=$((policy_passed + checks_ok))
policy_failed=$((policy_failed + checks_bad))
if [ "$check_rc" -eq 0 ]; then
  printf '%-28s ok, %d checks\n' "check_config.py" "$checks_ok"
else
  printf '%-28s FAILED, exit %d\n%s\n' "check_config.py" "$check_rc" "$check_output"
fi

if [ "$policy_failed" -ne 0 ]; then failures=$((failures + 1)); fi
[ "$failures" -eq 0 ] || echo "infra/lint.sh: $failures step(s) failed" >&2
echo "policy: $policy_passed passed, $policy_failed failed"
[ "$failures" -eq 0 ]
